"""`mkdocs build --strict` of the generated site, split across CPU cores for large fleets.

mkdocs renders one page at a time, and a fleet of 1,000 models is thousands of pages. The site is
cut into shards that plain mkdocs builds side by side: each shard is the same `mkdocs.yml`
(inherited) with the other shards' model folders in `exclude_docs`. mkdocs still knows every
excluded page, so links into other shards resolve exactly as in one build (it logs them at INFO,
which `--strict` allows), and every page comes out byte for byte as a single `mkdocs build` of the
same folder would write it. The first shard also builds the site-wide pages and assets; the others
contribute their model folders, and the search index is the shards' entries in page order.

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
from dataclasses import dataclass
from pathlib import Path

from modelcards.publish.settings import SiteProject
from modelcards.publish.site import MARKER
from modelcards.safeio.errors import PublishError
from modelcards.safeio.parallel import default_jobs

MODELS = "models"  # the docs folder holding one folder per model (see site/pages.py)
SEARCH_INDEX = Path("search") / "search_index.json"
# in the output: what it was built from (a dotfile, which mkdocs' own cleaning keeps too)
STAMP = ".modelcards-built"
MODELS_PER_SHARD = 50  # below this a shard's own start-up (about 1 s) outweighs what it saves


@dataclass(frozen=True)
class Shard:
    """One mkdocs run: its model folders, and whether it builds the site-wide pages."""

    models: tuple[str, ...]
    site_wide: bool


def plan_shards(models: list[str], jobs: int, per_shard: int = MODELS_PER_SHARD) -> list[Shard]:
    """Contiguous runs of the sorted model folders, so the shards' pages, put one after the
    other, are in the order a single build visits them."""
    count = max(1, min(jobs, len(models) // max(1, per_shard)))
    ordered = sorted(models)
    size, extra = divmod(len(ordered), count)
    shards, start = [], 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        shards.append(Shard(tuple(ordered[start:end]), site_wide=number == 0))
        start = end
    return shards


def shard_config(mkdocs_yml: Path, shard: Shard, others: list[str], site_dir: Path) -> str:
    """A config that inherits the generated one and leaves out the other shards' pages.

    Paths are absolute: mkdocs reads them relative to this file, which lives in a work folder.
    """
    mkdocs_yml = mkdocs_yml.resolve()
    excluded = [f"/{MODELS}/{name}/" for name in others]
    if not shard.site_wide:  # everything at the top except the models folder
        excluded = ["/*", f"!/{MODELS}/", *excluded]
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
    return PublishError(
        f"mkdocs build failed: {detail}", file=str(config_file.relative_to(config.root))
    )


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


def merge_search_indexes(parts: list[Path], into: Path) -> None:
    """One search index holding every shard's entries, written as material writes it."""
    indexes = [json.loads(part.read_text(encoding="utf-8")) for part in parts if part.is_file()]
    if not indexes:
        return  # search switched off
    merged = {"config": indexes[0]["config"], "docs": [d for i in indexes for d in i["docs"]]}
    into.parent.mkdir(parents=True, exist_ok=True)
    into.write_text(json.dumps(merged, separators=(",", ":"), default=str), encoding="utf-8")


def build_stamp(config: SiteProject) -> str | None:
    """The fingerprints of the site's sources and the versions of the tools that build them."""
    from importlib.metadata import version

    try:
        marker = (config.root / config.site.dir / MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return f"{marker.strip()}\nmkdocs {version('mkdocs')}, material {version('mkdocs-material')}\n"


def site_is_current(config: SiteProject) -> bool:
    """Whether the output was built from exactly the sources there now, by these tool versions:
    then building again would write the same bytes, and a large site is spared a rebuild."""
    output = config.root / config.site.output
    stamp = build_stamp(config)
    try:
        built = (output / STAMP).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return stamp is not None and built == stamp and (output / "index.html").is_file()


def build_site(
    config: SiteProject, *, jobs: int | None = None, per_shard: int = MODELS_PER_SHARD
) -> Path:
    """Build the generated site into `site.output`; return that folder.

    Nothing is replaced until every shard has built: a failing build leaves the previous site.
    """
    site_dir = config.root / config.site.dir
    mkdocs_yml = site_dir / "mkdocs.yml"
    output = config.root / config.site.output
    models_dir = site_dir / "docs" / MODELS
    models = [p.name for p in models_dir.iterdir() if p.is_dir()] if models_dir.is_dir() else []
    shards = plan_shards(models, jobs or default_jobs(), per_shard)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _build_site(config, mkdocs_yml, output, shards)
    except OSError as exc:  # disk full, a read-only or busy folder: one line, the old site kept
        raise PublishError(
            f"cannot build the site: {exc.strerror or exc}",
            file=str(output.relative_to(config.root))
            if output.is_relative_to(config.root)
            else str(output),
        ) from None


def _build_site(config: SiteProject, mkdocs_yml: Path, output: Path, shards: list[Shard]) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}-build-", dir=output.parent)).resolve()
    try:
        commands, outputs, logs = [], [], []
        for number, shard in enumerate(shards):
            shard_output = work / f"shard-{number}"
            if len(shards) == 1:
                commands.append(mkdocs_command(mkdocs_yml) + ["--site-dir", str(shard_output)])
            else:
                others = [m for s in shards if s is not shard for m in s.models]
                config_file = work / f"shard-{number}.yml"
                config_file.write_text(
                    shard_config(mkdocs_yml, shard, others, shard_output), encoding="utf-8"
                )
                commands.append(mkdocs_command(config_file))
            outputs.append(shard_output)
            logs.append(work / f"shard-{number}.log")
        for returncode, log in zip(run_mkdocs(commands, logs), logs, strict=True):
            if returncode != 0:
                raise failure(config, mkdocs_yml, log.read_text(encoding="utf-8"), returncode)
        built = outputs[0]
        if len(shards) > 1:
            for shard, shard_output in zip(shards[1:], outputs[1:], strict=True):
                for name in shard.models:
                    os.replace(shard_output / MODELS / name, built / MODELS / name)
            merge_search_indexes([o / SEARCH_INDEX for o in outputs], built / SEARCH_INDEX)
        stamp = build_stamp(config)
        if stamp is not None:
            (built / STAMP).write_text(stamp, encoding="utf-8")
        replace_folder(built, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return output


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
