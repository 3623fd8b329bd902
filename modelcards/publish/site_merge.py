"""`modelcards site merge`: the sites of `build --shard K/N` runs joined into one site.

Each shard's output holds the built pages of its models, their search entries and the
fingerprint of each model's sources (`site_units.py`). The merge renders the site-wide pages
(home, lineage, compliance) from the models' `card.json`, which every shard copies into its
output, builds them with mkdocs in a work folder where each model page is a placeholder that
only lets links resolve, and assembles the whole: the same bytes as one machine's build.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from modelcards.publish.mkdocs_build import (
    Shard,
    SiteBuild,
    assemble,
    failure,
    mkdocs_command,
    replace_folder,
    run_mkdocs,
    shard_config,
)
from modelcards.publish.settings import SiteProject
from modelcards.publish.site.facts import site_facts
from modelcards.publish.site.mkdocs_yml import mkdocs_yaml
from modelcards.publish.site.pages import site_wide_pages
from modelcards.publish.site_units import (
    MODELS,
    SITE_WIDE,
    STAMP,
    SiteStamp,
    read_stamp,
    shell_digest,
    source_units,
)
from modelcards.safeio.errors import PublishError
from modelcards.safeio.jsonfile import loads_strict

__all__ = ["merge_sites"]

MAX_CARD_JSON = 64 * 1024 * 1024


def shard_units(
    parts: list[Path], slugs: list[str], shell: str
) -> tuple[dict[str, Path], dict[str, str]]:
    """Which part holds each model's pages, and the fingerprint it recorded for them; every
    model exactly once, built as this project builds it, or one line saying which part is wrong."""
    sources: dict[str, Path] = {}
    fingerprints: dict[str, str] = {}
    for part in parts:
        stamp = read_stamp(part)
        if stamp is None or not part.is_dir():
            raise PublishError("not a site folder written by `modelcards build`", file=str(part))
        if stamp.shell != shell:
            raise PublishError(
                "built with other site settings or tool versions (mkdocs, material, markdown, "
                "pymdown-extensions, pygments) than this merge: build every shard and the "
                "merge from one checkout and one environment",
                file=str(part),
            )
        for unit in stamp.units:
            if unit == SITE_WIDE:
                continue
            if unit in sources:
                raise PublishError(
                    f"model folder {unit} is in two shards (also {sources[unit]})", file=str(part)
                )
            if not (part / MODELS / unit).is_dir():
                raise PublishError(
                    f"its record names {MODELS}/{unit}/, which is absent", file=str(part)
                )
            sources[unit] = part
            fingerprints[unit] = stamp.units[unit]
    missing = [slug for slug in slugs if slug not in sources]
    extra = sorted(set(sources) - set(slugs))
    if missing or extra:
        problem = (
            f"no shard holds {len(missing)} model(s) of the config: {', '.join(missing[:5])}"
            if missing
            else f"the shards hold model folder(s) the config does not name: {', '.join(extra[:5])}"
        )
        raise PublishError(
            problem + " (run `modelcards build --shard K/N` for every K of the same N)",
            file=str(parts[0]) if parts else None,
        )
    return sources, fingerprints


def read_context(part: Path, unit: str) -> dict[str, Any]:
    path = part / MODELS / unit / "card.json"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CARD_JSON + 1)
        if len(data) > MAX_CARD_JSON:
            raise PublishError("card.json is larger than 64 MiB", file=str(path))
        context = loads_strict(data, file=str(path))
    except OSError as exc:
        raise PublishError(f"cannot read the model's card.json: {exc}", file=str(path)) from None
    if not isinstance(context, dict) or not isinstance(context.get("model"), dict):
        raise PublishError("not a card.json written by modelcards build", file=str(path))
    return context


def merge_sites(
    config: SiteProject,
    parts: list[Path],
    slugs: list[str],
    env: SandboxedEnvironment,
    *,
    output: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SiteBuild:
    """Join the shard outputs `parts` into one site at `output` (default `site.output`).

    `slugs` are the config's model folders in its order. Nothing is replaced until the merged
    site is complete.
    """
    output = output or config.root / config.site.output
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}-merge-", dir=output.parent)).resolve()
    try:
        source = work / "source"
        write_tree(source, {"mkdocs.yml": mkdocs_yaml(config)})
        sources, fingerprints = shard_units(parts, slugs, shell_digest(source / "mkdocs.yml"))
        entries = []
        for slug in slugs:
            context = read_context(sources[slug], slug)
            entries.append({"slug": slug, "context": context, "site": site_facts(context, slug)})
        prefix = f"{config.site.dir}/"
        write_tree(
            source,
            {p.removeprefix(prefix): t for p, t in site_wide_pages(config, entries, env).items()},
        )
        write_tree(source / "docs", placeholders(sources))  # links to model pages resolve
        if progress:
            progress(f"merging {len(parts)} shard(s): building the site-wide pages with mkdocs")
        built = work / "site-wide"
        config_file = work / "site-wide.yml"
        config_file.write_text(
            shard_config(source / "mkdocs.yml", Shard((), site_wide=True), built), encoding="utf-8"
        )
        log = work / "site-wide.log"
        (returncode,) = run_mkdocs([mkdocs_command(config_file)], [log])
        if returncode != 0:
            raise failure(config, config_file, log.read_text(encoding="utf-8"), returncode)
        stamp = source_units(source)
        units = {SITE_WIDE: stamp.units[SITE_WIDE], **dict(sorted(fingerprints.items()))}
        assembled = work / "site"
        assemble(assembled, {SITE_WIDE: built, **sources}, moved=frozenset({built}))
        (assembled / STAMP).write_text(SiteStamp(stamp.shell, units).text(), encoding="utf-8")
        replace_folder(assembled, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SiteBuild(output, (SITE_WIDE,), len(sources))


def placeholders(sources: dict[str, Path]) -> dict[str, str]:
    """An empty source for every file each shard built (a page for a page), so that the
    site-wide pages' links to them resolve; they are excluded from the build."""
    pages = {}
    for slug, part in sources.items():
        folder = part / MODELS / slug
        for file in folder.rglob("*"):
            if file.is_file():
                name = file.relative_to(folder)
                name = name.with_suffix(".md") if name.suffix == ".html" else name
                pages[f"{MODELS}/{slug}/{name.as_posix()}"] = ""
    return pages


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
