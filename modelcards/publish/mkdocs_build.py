"""`mkdocs build --strict` of the generated site: only what changed, split across CPU cores.

The site is units (`site_units.py`): one per model folder and one for the site-wide pages. A
unit whose sources are those the previous output was built from is taken from that output; the
others are built by plain mkdocs runs side by side, each the same `mkdocs.yml` (inherited) with
the pages of every unit it does not build in `exclude_docs`. mkdocs still knows every excluded
page, so links into them resolve exactly as in one build (it logs them at INFO, which `--strict`
allows), and every page comes out byte for byte as a single `mkdocs build` of the same folder
would write it. The search index is the units' entries in page order.

The generated folder stays a plain mkdocs project: `mkdocs build` there gives the same site.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from modelcards.publish.settings import SiteProject
from modelcards.publish.site_units import (
    MODELS,
    SITE_WIDE,
    STAMP,
    SearchIndex,
    SiteStamp,
    read_stamp,
    source_units,
    split_search_index,
)
from modelcards.safeio.errors import PublishError
from modelcards.safeio.parallel import default_jobs

__all__ = ["STAMP", "Shard", "SiteBuild", "assemble", "build_site", "plan_shards"]

SEARCH_INDEX = Path("search") / "search_index.json"
MODELS_PER_SHARD = 50  # below this a shard's own start-up (about 1 s) outweighs what it saves


@dataclass(frozen=True)
class Shard:
    """One mkdocs run: its model folders, and whether it builds the site-wide pages."""

    models: tuple[str, ...]
    site_wide: bool


def plan_shards(
    models: list[str], jobs: int, per_shard: int = MODELS_PER_SHARD, *, site_wide: bool = True
) -> list[Shard]:
    """Contiguous runs of the sorted model folders, so the shards' pages, put one after the
    other, are in the order a single build visits them; none when there is nothing to build."""
    if not models and not site_wide:
        return []
    count = max(1, min(jobs, len(models) // max(1, per_shard)))
    ordered = sorted(models)
    size, extra = divmod(len(ordered), count)
    shards, start = [], 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        shards.append(Shard(tuple(ordered[start:end]), site_wide=site_wide and number == 0))
        start = end
    return shards


def shard_config(mkdocs_yml: Path, shard: Shard, site_dir: Path) -> str:
    """A config that inherits the generated one and leaves out the pages of the other units.

    Paths are absolute: mkdocs reads them relative to this file, which lives in a work folder.
    """
    mkdocs_yml = mkdocs_yml.resolve()
    excluded = [] if shard.site_wide else ["/*", f"!/{MODELS}/"]  # all at the top but models/
    excluded += [f"/{MODELS}/*/", *(f"!/{MODELS}/{name}/" for name in shard.models)]
    return (
        f"INHERIT: {json.dumps(str(mkdocs_yml))}\n"
        f"docs_dir: {json.dumps(str(mkdocs_yml.parent / 'docs'))}\n"
        f"site_dir: {json.dumps(str(site_dir))}\n"
        f"exclude_docs: {json.dumps(chr(10).join(excluded) + chr(10))}\n"
    )


def mkdocs_command(config_file: Path) -> list[str]:
    # not --quiet: mkdocs 1.6 then drops the warnings before --strict counts them
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config_file)]


def failure(config: SiteProject, config_file: Path, log: str, returncode: int) -> PublishError:
    """The warnings and errors that stopped mkdocs, on one line."""
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in log.splitlines() if ln.strip()]
    problems = [ln for ln in lines if ln.startswith(("WARNING", "ERROR", "Error"))]
    detail = "; ".join(list(dict.fromkeys(problems or lines[-3:]))[:3]) or f"exit code {returncode}"
    name = (
        config_file.relative_to(config.root)
        if config_file.is_relative_to(config.root)
        else config_file
    )
    return PublishError(f"mkdocs build failed: {detail}", file=str(name))


def run_mkdocs(commands: list[list[str]], logs: list[Path]) -> list[int]:
    """Run the builds side by side, each one's log to a file; their exit codes."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    running: list[subprocess.Popen[bytes]] = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("w", encoding="utf-8") as handle:
                running.append(
                    subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
                )
        return [process.wait() for process in running]
    except BaseException:  # Ctrl-C: stop them before their folder is removed under them
        for process in running:
            process.kill()
        for process in running:
            process.wait()
        raise


@dataclass(frozen=True)
class SiteBuild:
    """What one build did: where the site is, and which of its units mkdocs built now."""

    output: Path
    built: tuple[str, ...]  # units built by this run (SITE_WIDE for the site-wide pages)
    reused: int  # units taken from the previous output, already built from the same sources
    sources: SiteStamp | None = None  # the fingerprints of the sources it was built from

    @property
    def current(self) -> bool:
        """Nothing was built: the output already held every unit as these sources make it."""
        return not self.built


def build_site(
    config: SiteProject,
    *,
    jobs: int | None = None,
    per_shard: int = MODELS_PER_SHARD,
    only: frozenset[str] | None = None,
    progress: Callable[[str], None] | None = None,
    sources: SiteStamp | None = None,
    written: Mapping[str, str] | None = None,
) -> SiteBuild:
    """Build the generated site into `site.output`, only the units whose sources changed.

    `only` names the model folders of one shard of a fleet: then just their pages are built, and
    the site-wide pages are left to `modelcards site merge`. Nothing is replaced until every
    mkdocs run has succeeded: a failing build leaves the previous site. `sources`: the
    fingerprints of the site folder's sources, when the caller knows them already; `written`:
    every file of the site source as `write_site` has just written it (project-relative path →
    text), so that they are fingerprinted without being read back.
    """
    site_dir = config.root / config.site.dir
    output = config.root / config.site.output
    docs = f"{config.site.dir}/docs/"
    texts = None if written is None else {
        path[len(docs):]: text for path, text in written.items() if path.startswith(docs)
    }  # fmt: skip
    sources = sources or source_units(site_dir, texts)
    units = sources.units
    if only is not None:
        units = {u: fp for u, fp in units.items() if u != SITE_WIDE and u in only}
    wanted = SiteStamp(sources.shell, units)
    previous = read_stamp(output)
    reusable = {
        unit
        for unit, fingerprint in units.items()
        if previous is not None
        and previous.shell == wanted.shell
        and previous.units.get(unit) == fingerprint
        and unit_present(output, unit)
    }
    if previous == wanted and reusable == set(units):
        if progress:
            progress(f"{config.site.output}/ was built from these pages already: not rebuilt")
        return SiteBuild(output, (), len(units), sources)
    indexes: dict[Path, SearchIndex] = {}
    if reusable:
        try:
            indexes[output] = split_search_index(output / SEARCH_INDEX)
        except PublishError:  # an output damaged since: nothing in it is taken
            reusable = set()
    build = sorted(set(units) - reusable, key=unit_order)
    models = [unit for unit in build if unit != SITE_WIDE]
    shards = plan_shards(models, jobs or default_jobs(), per_shard, site_wide=SITE_WIDE in build)
    if progress:
        progress(
            f"building the site with mkdocs into {config.site.output}/: {len(build):,} of "
            f"{len(units):,} page groups changed"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        _build_site(config, site_dir, output, shards, wanted, indexes, whole=not reusable)
    except OSError as exc:  # disk full, a read-only or busy folder: one line, the old site kept
        raise PublishError(
            f"cannot build the site: {exc.strerror or exc}",
            file=str(output.relative_to(config.root))
            if output.is_relative_to(config.root)
            else str(output),
        ) from None
    return SiteBuild(output, tuple(build), len(reusable), sources)


def unit_order(unit: str) -> tuple[bool, str]:
    """The site-wide pages first, then the model folders sorted: one mkdocs build's order."""
    return (unit != SITE_WIDE, unit)


def unit_present(output: Path, unit: str) -> bool:
    if unit == SITE_WIDE:
        return (output / "index.html").is_file()
    return (output / MODELS / unit).is_dir()


def _build_site(
    config: SiteProject,
    site_dir: Path,
    output: Path,
    shards: list[Shard],
    stamp: SiteStamp,
    indexes: dict[Path, SearchIndex],
    *,
    whole: bool,
) -> None:
    mkdocs_yml = site_dir / "mkdocs.yml"
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}-build-", dir=output.parent)).resolve()
    try:
        commands, outputs, logs = [], [], []
        for number, shard in enumerate(shards):
            shard_output = work / f"shard-{number}"
            if whole and len(shards) == 1 and shard.site_wide:  # the whole site: plain mkdocs
                commands.append(mkdocs_command(mkdocs_yml) + ["--site-dir", str(shard_output)])
            else:
                config_file = work / f"shard-{number}.yml"
                config_file.write_text(
                    shard_config(mkdocs_yml, shard, shard_output), encoding="utf-8"
                )
                commands.append(mkdocs_command(config_file))
            outputs.append(shard_output)
            logs.append(work / f"shard-{number}.log")
        for returncode, log in zip(run_mkdocs(commands, logs), logs, strict=True):
            if returncode != 0:
                raise failure(config, mkdocs_yml, log.read_text(encoding="utf-8"), returncode)
        built = {
            unit: out
            for shard, out in zip(shards, outputs, strict=True)
            for unit in units_of(shard)
        }
        sources = {unit: built.get(unit, output) for unit in stamp.units}
        assembled = work / "site"
        # the previous output's model folders are moved into the new site, not linked file by
        # file (which, with the old folder's deletion after, costs a fleet seconds); they go
        # back if the new site cannot be put in its place
        taken: list[tuple[Path, Path]] = []
        try:
            assemble(assembled, sources, moved=frozenset(outputs), indexes=indexes,
                     taken=None if os.path.ismount(output) else (output, taken))  # fmt: skip
            (assembled / STAMP).write_text(stamp.text(), encoding="utf-8")
            replace_folder(assembled, output)
        except BaseException:
            for source, target in reversed(taken):
                try:
                    os.replace(target, source)
                except OSError:  # the output itself was moved aside already
                    break
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def units_of(shard: Shard) -> list[str]:
    return ([SITE_WIDE] if shard.site_wide else []) + list(shard.models)


def assemble(
    into: Path,
    sources: dict[str, Path],
    *,
    moved: frozenset[Path] = frozenset(),
    indexes: dict[Path, SearchIndex] | None = None,
    taken: tuple[Path, list[tuple[Path, Path]]] | None = None,
) -> None:
    """Put every unit into one site folder, each from the built folder `sources` names, and
    write the search index of them all.

    Units from a folder in `moved` (this run's own mkdocs outputs) are moved; the others (a
    previous output, a shard's artifact) are hard-linked, or copied where links cannot be made,
    so that those folders stay as they are until the new site is complete. `taken`: a folder
    (the output this site replaces) whose model folders are moved whole, and the list that
    gets each (from, to) so that the caller can put them back.
    """
    into.mkdir(parents=True)
    order = sorted(sources, key=unit_order)
    indexes = dict(indexes or {})  # the search indexes already read, by folder
    for root in set(sources.values()) - set(indexes):
        indexes[root] = split_search_index(root / SEARCH_INDEX)
    if SITE_WIDE in sources:
        root = sources[SITE_WIDE]
        for entry in sorted(root.iterdir()):
            if entry.name not in (MODELS, STAMP):
                place(entry, into / entry.name, move=root in moved, skip=root / SEARCH_INDEX)
    if any(unit != SITE_WIDE for unit in order):
        (into / MODELS).mkdir(exist_ok=True)
    for unit in order:
        if unit == SITE_WIDE:
            continue
        root, target = sources[unit], into / MODELS / unit
        if taken is not None and root == taken[0]:
            os.replace(root / MODELS / unit, target)
            taken[1].append((root / MODELS / unit, target))
        else:
            place(root / MODELS / unit, target, move=root in moved)
    search_config, docs, found = None, [], False
    for unit in order:
        index = indexes[sources[unit]]
        if index is None:
            continue
        found = True
        if search_config is None or unit == SITE_WIDE:
            search_config = index[0]
        docs.extend(index[1].get(unit, []))
    if found:
        (into / SEARCH_INDEX).unlink(missing_ok=True)  # a link into the old site: never written
        (into / SEARCH_INDEX).parent.mkdir(parents=True, exist_ok=True)
        (into / SEARCH_INDEX).write_text(
            json.dumps({"config": search_config, "docs": docs}, separators=(",", ":"), default=str),
            encoding="utf-8",
        )


def place(source: Path, target: Path, *, move: bool, skip: Path | None = None) -> None:
    """Move `source` to `target`, or hard-link (else copy) it, leaving out `skip`."""
    if move and skip is None:
        os.replace(source, target)
        return
    if source.is_dir() and not source.is_symlink():
        target.mkdir()
        for entry in sorted(source.iterdir()):
            if entry != skip:
                place(entry, target / entry.name, move=move, skip=skip)
    elif move:
        os.replace(source, target)
    else:
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, target, follow_symlinks=False)


def replace_folder(new: Path, target: Path) -> None:
    """Put `new` where `target` is, the old one moved aside first and then deleted.

    Like mkdocs' own cleaning, entries whose names start with a dot (`.git` of a gh-pages
    checkout, `.nojekyll`) are kept.
    """
    if os.path.ismount(target):  # a mounted volume cannot be renamed: replace what it holds
        for entry in target.iterdir():
            if not entry.name.startswith(".") or entry.name == STAMP:
                shutil.rmtree(
                    entry
                ) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        for entry in new.iterdir():
            shutil.move(entry, target / entry.name)  # across devices: copied, then removed
        return
    old = None
    if target.exists():
        for entry in target.iterdir():
            if (
                entry.name.startswith(".")
                and entry.name != STAMP
                and not (new / entry.name).exists()
            ):
                os.replace(entry, new / entry.name)
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
