"""The command line: thin commands over the pipeline. Errors become one line and exit code 2."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from modelcards import __version__
from modelcards.errors import ModelcardsError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2


def fail_cleanly(func: F) -> F:
    """Turn a `ModelcardsError` into `modelcards: error: …` and exit 2; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ModelcardsError as exc:
            click.echo(f"modelcards: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except (RecursionError, MemoryError, UnicodeError, ValueError, OSError) as exc:
            if os.environ.get("MODELCARDS_DEBUG"):
                raise
            click.echo(f"modelcards: error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


def _progress(quiet: bool) -> Callable[[str], None] | None:
    if quiet:
        return None
    return lambda message: click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="modelcards")
def cli() -> None:
    """Document what a fine-tune changed against its base model, what that risks, and where it
    came from: Hugging Face model cards, change logs and an audit site, read from the files.

    \b
    Typical use, in a repository holding fine-tuned models:
      modelcards init                          find models, guess their bases, write modelcards.yml
      modelcards build                         write README.md, CHANGES.md, card.json + the site
      modelcards diff base-model/ my-model/    compare two model folders right now
    """


@cli.command()
@click.argument("base")
@click.argument("tuned", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts, markdown for PR comments.",
)
@click.option("--all", "show_all", is_flag=True, help="Also list insignificant differences (text).")
@fail_cleanly
def diff(base: str, tuned: Path, fmt: str, show_all: bool) -> None:
    """Compare a fine-tuned model folder TUNED with its BASE model folder.

    Reads configs, tokenizer files, chat templates, adapter config, safetensors headers and
    training records; never loads weights or runs model code. Significant changes come first,
    grouped by area; serializer noise (library versions, default values) is set apart.

    \b
    Examples:
      modelcards diff base-model models/chat-tuned
      modelcards diff base-model models/chat-tuned --format json | jq '.changes[] | select(.significant)'

    Exit status: 0 on success (whether or not anything changed), 2 on bad input.
    """
    from modelcards.compare import compare
    from modelcards.format import diff_json, diff_markdown, diff_text
    from modelcards.inspect import inspect_snapshot
    from modelcards.resolve import resolve_reference

    cwd = Path.cwd()
    base_facts = inspect_snapshot(resolve_reference(base, project_root=cwd))
    tuned_facts = inspect_snapshot(resolve_reference(str(tuned), project_root=cwd))
    result = compare(base_facts, tuned_facts)
    if fmt == "json":
        click.echo(diff_json(result), nl=False)
    elif fmt == "markdown":
        click.echo(diff_markdown(result), nl=False)
    else:
        click.echo(diff_text(result, show_all=show_all, color=sys.stdout.isatty()), nl=False)


@cli.command()
@click.option(
    "-C",
    "--repo",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The project root (default: the current folder).",
)
@click.option("--force", is_flag=True, help="Replace an existing modelcards.yml.")
@fail_cleanly
def init(root: Path, force: bool) -> None:
    """Find model folders under the project root and write a commented modelcards.yml.

    A model folder holds config.json or adapter_config.json. Each model's base is guessed from
    adapter_config.json (base_model_name_or_path), the README front matter (base_model) or
    config.json (_name_or_path); folders that are another model's base are listed as bases,
    not as models. Review the file: every guess says where it came from.
    """
    from modelcards.discover import init_project, render_config
    from modelcards.publish.write import write_atomic

    target, guesses = init_project(root, force=force)
    write_atomic(target, render_config(guesses))
    click.echo(f"wrote {target} with {len(guesses)} model{'s' if len(guesses) != 1 else ''}:")
    for guess in guesses:
        click.echo(f"  {guess.path}  base: {guess.base or '(none found)'}  ({guess.evidence})")


@cli.command()
@click.option(
    "-C",
    "--repo",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The project root holding modelcards.yml (default: the current folder).",
)
@click.option("--no-site", is_flag=True, help="Write cards and change logs, but not the site.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints a summary object for scripts.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on stderr.")
@fail_cleanly
def build(root: Path, no_site: bool, fmt: str, quiet: bool) -> None:
    """Write every model's card (README.md), CHANGES.md and card.json, then build the site.

    For each model in modelcards.yml: diff it against its base, render the card from the
    templates (a project can override any of them), keep what people wrote in the card's human
    sections and front matter, and write only files whose bytes changed. Then write the site's
    Markdown pages and mkdocs.yml into `site.dir` and run `mkdocs build --strict`.
    Nothing is written unless every model renders.
    """
    from modelcards.build import render_project, write_outputs
    from modelcards.config import load_config
    from modelcards.publish.site import build_site, check_site_folder, site_pages, write_site
    from modelcards.render import make_environment

    config = load_config(root)
    progress = _progress(quiet or fmt == "json")
    models = render_project(config, progress=progress)
    files: dict[str, str] = {}
    for model in models:
        files.update(model.files())
    site_files: dict[str, str] = {}
    if config.site.enabled and not no_site:
        check_site_folder(config)
        site_files = site_pages(config, models, make_environment(config.templates))
    written, unchanged = write_outputs(config, files)
    site_written = write_site(config, site_files) if site_files else []
    output = None
    if site_files:
        if progress:
            progress(f"building the site with mkdocs into {config.site.output}/")
        output = build_site(config)
    if fmt == "json":
        summary = {
            "models": [
                {
                    "name": m.name,
                    "path": m.path,
                    "card": f"{m.path}/README.md",
                    "changes": f"{m.path}/CHANGES.md",
                    "relation": m.context["model"]["relation"],
                    "significant_changes": (m.context["diff"] or {})
                    .get("summary", {})
                    .get("significant"),
                }
                for m in models
            ],
            "written": written + site_written,
            "unchanged": unchanged,
            "site": str(output.relative_to(config.root)) if output else None,
        }
        click.echo(json.dumps(summary, indent=2))
        return
    for model in models:
        significant = (model.context["diff"] or {}).get("summary", {}).get("significant")
        detail = (
            f"{significant} significant changes vs base" if significant is not None else "no base"
        )
        click.echo(f"{model.name}: {root / model.path / 'README.md'} ({detail})")
    click.echo(
        f"{len(written)} file{'s' if len(written) != 1 else ''} written, {len(unchanged)} unchanged"
    )
    if output:
        click.echo(f"site: {output / 'index.html'}")


@cli.command()
@click.argument("model")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cyclonedx"]),
    default="cyclonedx",
    show_default=True,
    help="cyclonedx: a CycloneDX 1.6 ML-BOM (JSON).",
)
@click.option(
    "-C",
    "--repo",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The project root holding modelcards.yml (default: the current folder).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option("--site-url", help="Where the audit site is published, to link the model's page.")
@fail_cleanly
def export(model: str, fmt: str, root: Path, output: Path | None, site_url: str | None) -> None:
    """Export MODEL (its name or folder in modelcards.yml) as a machine-readable BOM.

    The CycloneDX 1.6 BOM holds the model as a machine-learning-model component: its model card
    (task, architecture, datasets, evaluation metrics, known risks as considerations), the
    SHA-256 of every file, the base model as its pedigree (revision and hashes), and links to
    the card and change log. It is read fresh from the files, like `build`, and is the same
    bytes for the same inputs (no timestamp; the serial number derives from the content).

    \b
    Examples:
      modelcards export chat-tuned > chat-tuned.cdx.json
      modelcards export models/chat-tuned -o bom.json --site-url https://models.example.org

    Exit status: 0 on success, 2 on bad input or an unknown model.
    """
    from modelcards.build import analyse, model_inputs
    from modelcards.config import load_config
    from modelcards.errors import ConfigError
    from modelcards.export.cyclonedx import build_bom, to_json
    from modelcards.inspect.card import split_front_matter
    from modelcards.publish.compliance import use_cases
    from modelcards.publish.write import write_atomic
    from modelcards.render import build_context

    config = load_config(root)
    wanted = model.rstrip("/")
    entry = next((e for e in config.models if wanted in (e.name, e.path)), None)
    if entry is None:
        names = ", ".join(e.name for e in config.models)
        raise ConfigError(f"no model {model!r} in the config (models: {names})", file=config.file)
    context = build_context(model_inputs(config, analyse(config, entry)))
    readme = config.root / entry.path / "README.md"
    body = split_front_matter(readme.read_text(encoding="utf-8"))[1] if readme.is_file() else ""
    text = to_json(build_bom(context, use_cases=use_cases(body), site_url=site_url))
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output if output.is_absolute() else Path.cwd() / output, text)
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.option(
    "-C",
    "--repo",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The project root holding modelcards.yml (default: the current folder).",
)
@click.option(
    "-a",
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="IP:PORT",
    help="Address to serve on; use 0.0.0.0:PORT to reach it from other machines.",
)
@click.option("--no-livereload", is_flag=True, help="Do not reload pages when files change.")
@fail_cleanly
def serve(root: Path, dev_addr: str, no_livereload: bool) -> None:
    """Preview the audit site: run the mkdocs dev server on the pages `build` generated.

    Serves `site.dir` (default modelcards-site/) with `mkdocs serve`; pages reload when a
    rebuild rewrites them, so run `modelcards build --no-site` in another terminal after
    changing a model. Stop it with Ctrl-C. For publishing, use the static `site/` folder
    that `modelcards build` writes instead.

    \b
    Examples:
      modelcards build && modelcards serve        then open http://127.0.0.1:8000/
      modelcards serve -a 0.0.0.0:8080            reachable from other machines
    """
    import subprocess

    from modelcards.config import load_config
    from modelcards.errors import PublishError

    config = load_config(root)
    config_file = config.root / config.site.dir / "mkdocs.yml"
    if not config_file.is_file():
        raise PublishError(
            "no generated site yet: run `modelcards build` first",
            file=f"{config.site.dir}/mkdocs.yml",
        )
    command = [sys.executable, "-m", "mkdocs", "serve", "-f", str(config_file), "-a", dev_addr]
    if no_livereload:
        command.append("--no-livereload")
    click.echo(f"serving {config.site.dir}/ at http://{dev_addr}/ (Ctrl-C stops)", err=True)
    try:
        result = subprocess.run(
            command, check=False, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}
        )
    except KeyboardInterrupt:
        return
    if result.returncode not in (0, -2, 130):
        sys.exit(result.returncode)


def main() -> None:
    cli(prog_name="modelcards")


if __name__ == "__main__":
    main()
