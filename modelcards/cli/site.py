"""`modelcards site merge`: the sites of a CI matrix's `build --shard K/N` jobs, joined."""

from __future__ import annotations

import json
from pathlib import Path

import click

from modelcards.cli.app import cli, fail_cleanly, repo_option, stderr_progress, text_or_json


@cli.group()
def site() -> None:
    """The audit site beyond `build`: join the parts that a CI matrix built."""


@site.command()
@repo_option
@click.argument("parts", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the merged site [default: the config's site.output].",
)
@text_or_json("json prints the merged site's folder and model count for scripts.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on stderr.")
@fail_cleanly
def merge(root: Path, parts: tuple[Path, ...], out: Path | None, fmt: str, quiet: bool) -> None:
    """Join the sites that `modelcards build --shard K/N` wrote (one folder per K) into one.

    Every model of modelcards.yml must be in exactly one part, and every part must have been
    built from the same site settings with the same mkdocs, material, markdown,
    pymdown-extensions and pygments versions as this merge (they shape every page). The
    home, lineage and compliance pages are rendered from the models' card.json in the parts
    and built here; the result is the same bytes as one machine's `modelcards build`.

    Exit status: 0 merged; 2 a part missing, doubled, of other versions, or not a site.

    \b
    Examples:
      modelcards site merge shards/site-1 shards/site-2 shards/site-3
      modelcards site merge shards/* --out public
    """
    from modelcards.project.build import model_slugs
    from modelcards.project.config import load_config
    from modelcards.publish.site_merge import merge_sites
    from modelcards.render import make_environment

    config = load_config(root)
    output = None if out is None else (out if out.is_absolute() else Path.cwd() / out)
    built = merge_sites(
        config,
        [part if part.is_absolute() else Path.cwd() / part for part in parts],
        list(model_slugs(config).values()),
        make_environment(config.templates),
        output=output,
        progress=stderr_progress(quiet or fmt == "json"),
    )
    if fmt == "json":
        click.echo(json.dumps({"site": str(built.output), "models": built.reused}, indent=2))
    else:
        click.echo(f"site: {built.output / 'index.html'} ({built.reused:,} models)")
