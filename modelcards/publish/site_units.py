"""The site as units that build apart: one per model folder, one for everything else.

A model's HTML pages depend on its own source pages, on the shared mkdocs configuration and on
the versions of the tools that render them, and on nothing another model's pages say (the
navigation lists the three site-wide pages only; model pages are not in it). So each unit gets a
fingerprint of exactly that, and a unit whose fingerprint a previous output (or a shard's output)
recorded can be taken from there instead of being built again. Whether a linked page exists
decides whether `mkdocs build --strict` passes, so the existence of every page a unit links to is
part of its fingerprint too.

The search index is the units' entries one after the other: the site-wide pages first, then the
model folders in sorted order, which is the order one `mkdocs build` visits them in.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcards.safeio.errors import PublishError
from modelcards.safeio.yamlsafe import load_yaml

__all__ = [
    "MODELS",
    "SITE_WIDE",
    "STAMP",
    "SearchIndex",
    "SiteStamp",
    "read_stamp",
    "shell_digest",
    "source_units",
    "split_search_index",
    "unit_of",
]

MODELS = "models"  # the docs folder holding one folder per model (see site/pages.py)
SITE_WIDE = "."  # the unit of every page outside the models folder
# in the output: what each unit was built from (a dotfile, which mkdocs' own cleaning keeps too)
STAMP = ".modelcards-built"
STAMP_FORMAT = "modelcards site units 1"
# the packages whose versions change the HTML mkdocs writes from the same sources
RENDERERS = ("mkdocs", "mkdocs-material", "markdown", "pymdown-extensions", "pygments")
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")


def unit_of(location: str) -> str:
    """The unit a path of the docs or output folder (or a search entry's location) is in."""
    parts = location.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == MODELS and parts[1] else SITE_WIDE


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # 0.05 s: builds only

    found = {}
    for name in RENDERERS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


@dataclass(frozen=True)
class SiteStamp:
    """What a built site folder holds: the fingerprint of every unit in it."""

    shell: str  # the digest of the configuration and tools every page was rendered with
    units: dict[str, str]

    def text(self) -> str:
        return (
            json.dumps(
                {
                    "format": STAMP_FORMAT,
                    "shell": self.shell,
                    "tools": tool_versions(),
                    "units": self.units,
                },
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )


def read_stamp(output: Path) -> SiteStamp | None:
    """The units a previous output recorded; None for an output of another format or none."""
    try:
        data = json.loads((output / STAMP).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != STAMP_FORMAT:
        return None
    units = data.get("units")
    if not isinstance(units, dict) or not isinstance(data.get("shell"), str):
        return None
    return SiteStamp(data["shell"], {str(k): str(v) for k, v in units.items()})


def shell_digest(mkdocs_yml: Path) -> str:
    """The configuration every page is rendered with, without where the output goes."""
    try:
        config = load_yaml(
            mkdocs_yml.read_text(encoding="utf-8"), file=str(mkdocs_yml), error=PublishError
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishError(
            f"cannot read the site configuration: {exc}", file=str(mkdocs_yml)
        ) from None
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k != "site_dir"}
    shell = {"config": config, "tools": tool_versions(), "format": STAMP_FORMAT}
    return hashlib.sha256(json.dumps(shell, sort_keys=True, default=str).encode()).hexdigest()


def source_files(docs: Path) -> dict[str, Path]:
    """Every file of the docs folder by its docs-relative path (mkdocs skips dotfiles too)."""
    found: dict[str, Path] = {}
    for folder, dirs, files in os.walk(docs):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = Path(folder).relative_to(docs).as_posix()
        for name in sorted(files):
            if not name.startswith("."):
                found[name if relative == "." else f"{relative}/{name}"] = Path(folder) / name
    return found


def linked_pages(path: str, text: str) -> set[str]:
    """The docs-relative targets of the Markdown links in a page (no URLs, no anchors)."""
    targets = set()
    for target in MARKDOWN_LINK.findall(text):
        target = target.split("#", 1)[0].split("?", 1)[0]
        if not target or ":" in target or target.startswith("/"):
            continue
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if not resolved.startswith(".."):
            targets.add(resolved)
    return targets


def walk_order(relative: str) -> tuple[tuple[int, str], ...]:
    """Where `os.walk` with sorted names (`source_files`) meets a docs-relative path: a
    folder's files before its subfolders."""
    *folders, name = relative.split("/")
    return (*((1, folder) for folder in folders), (0, name))


def written_sources(texts: Mapping[str, str]) -> dict[str, bytes]:
    """`source_files` of a docs folder that holds exactly `texts` (docs-relative path → text,
    as `write_site` has just written them), without reading it back."""
    kept = (r for r in texts if not any(part.startswith(".") for part in r.split("/")))
    return {r: texts[r].encode("utf-8") for r in sorted(kept, key=walk_order)}


def source_units(site_dir: Path, texts: Mapping[str, str] | None = None) -> SiteStamp:
    """The shared configuration's digest, and unit → fingerprint of its source files, of that
    configuration and of the pages it links to that exist (a linked page that appears or goes
    away changes the build). `texts`: the docs folder's files as just written (docs-relative
    path → text); by default they are read from it."""
    shell = shell_digest(site_dir / "mkdocs.yml")
    files: Mapping[str, bytes | Path] = (
        source_files(site_dir / "docs") if texts is None else written_sources(texts)
    )
    digests: dict[str, Any] = {}
    for relative, source in files.items():
        data = source if isinstance(source, bytes) else source.read_bytes()
        unit = digests.setdefault(unit_of(relative), hashlib.sha256(shell.encode()))
        unit.update(f"\0{relative}\0{len(data)}\0".encode())
        unit.update(data)
        if relative.endswith(".md"):
            text = data.decode("utf-8", "replace")
            for target in sorted(linked_pages(relative, text)):
                unit.update(f"\0link {target} {target in files}".encode())
    return SiteStamp(shell, {unit: digest.hexdigest() for unit, digest in sorted(digests.items())})


SearchIndex = tuple[Any, dict[str, list[Any]]] | None  # its config, its entries by unit


def split_search_index(index_file: Path) -> SearchIndex:
    """A built search index's config and its entries by unit, in their order; None when the
    folder has no search index (search switched off)."""
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PublishError(
            f"cannot read a built search index: {exc}", file=str(index_file)
        ) from None
    entries: dict[str, list[Any]] = {}
    for doc in index.get("docs", []):
        entries.setdefault(unit_of(str(doc.get("location", ""))), []).append(doc)
    return index.get("config"), entries
