"""The few small files `init` reads from a folder, read strictly and never fatally.

Only config.json, adapter_config.json, modules.json, the README front matter and the headers of
top-level GGUF files (bounded: the lineage llama.cpp's converter writes) are read (no tensor
data, no shard index): a malformed or missing file becomes a note for that folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelcards.inspect import is_model_weight
from modelcards.inspect.card import split_front_matter
from modelcards.inspect.gguf_facts import GgufFacts, gguf_facts
from modelcards.resolve.snapshot import parse_lfs_pointer
from modelcards.safeio.errors import ModelcardsError
from modelcards.safeio.jsonfile import loads_strict
from modelcards.safeio.yamlsafe import load_yaml

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_README_BYTES = 1024 * 1024  # the front matter and first heading are near the top
HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
TRAINING_RECORDS = ("trainer_state.json", "train_results.json", "all_results.json")


@dataclass
class FolderFiles:
    """What one folder's small files say; `problems` lists the files that could not be read."""

    path: str  # relative to the project root, posix; "." for the root itself
    files: frozenset[str]  # regular files directly in the folder
    subdirs: tuple[str, ...]
    config: dict[str, Any] | None = None
    adapter: dict[str, Any] | None = None
    modules: list[Any] | None = None
    front_matter: dict[str, Any] = field(default_factory=dict)
    heading: str | None = None  # the README's first "# " heading
    problems: list[str] = field(default_factory=list)  # "config.json: <reason>"
    weights: tuple[str, ...] = ()  # top-level files that make a folder a model by themselves
    gguf: list[GgufFacts] = field(default_factory=list)  # the GGUF headers read

    @property
    def has_training_records(self) -> bool:
        return any(name in self.files for name in TRAINING_RECORDS)


def _read_bytes(folder: Path, name: str, limit: int, root: Path) -> bytes:
    path = folder / name
    if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
        raise ModelcardsError("a symlink to outside the project; not read", file=name)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    return data


def _read_json(folder: Path, name: str, root: Path, problems: list[str]) -> Any:
    try:
        data = _read_bytes(folder, name, MAX_JSON_BYTES, root)
        if parse_lfs_pointer(data) is not None:
            problems.append(f"{name}: only a Git-LFS pointer is present (run `git lfs pull`)")
            return None
        if len(data) > MAX_JSON_BYTES:
            problems.append(f"{name}: larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB")
            return None
        return loads_strict(data, file=name)
    except ModelcardsError as exc:
        problems.append(f"{name}: {exc.reason}")
    except (OSError, ValueError, RecursionError, MemoryError) as exc:
        problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return None


def _read_object(folder: Path, name: str, root: Path, problems: list[str]) -> dict[str, Any] | None:
    value = _read_json(folder, name, root, problems)
    if value is not None and not isinstance(value, dict):
        problems.append(f"{name}: expected a JSON object, found {type(value).__name__}")
        return None
    return value


def _decode_prefix(data: bytes, *, truncated: bool) -> str | None:
    """UTF-8 text; a file cut at the size limit may end inside a character."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8-sig")
        return None


def _read_readme(folder: Path, root: Path, info: FolderFiles) -> None:
    try:
        data = _read_bytes(folder, "README.md", MAX_README_BYTES, root)
        if parse_lfs_pointer(data) is not None:
            info.problems.append(
                "README.md: only a Git-LFS pointer is present (run `git lfs pull`)"
            )
            return
        text = _decode_prefix(data[:MAX_README_BYTES], truncated=len(data) > MAX_README_BYTES)
        if text is None:
            info.problems.append("README.md: not UTF-8 text")
            return
    except ModelcardsError as exc:
        info.problems.append(f"README.md: {exc.reason}")
        return
    except OSError as exc:
        info.problems.append(f"README.md: {type(exc).__name__}: {exc}")
        return
    front, body = split_front_matter(text)
    heading = HEADING.search(body)
    if heading:
        info.heading = heading.group(1).strip().strip("*`_ ").strip() or None
    if front is None or not front.strip():
        return
    try:
        metadata = load_yaml(front, file="README.md", error=ModelcardsError)
    except ModelcardsError as exc:
        info.problems.append(f"README.md front matter: {exc.reason}")
        return
    except (RecursionError, MemoryError, ValueError) as exc:
        info.problems.append(f"README.md front matter: {type(exc).__name__}: {exc}")
        return
    if isinstance(metadata, dict):
        info.front_matter = metadata
    elif metadata is not None:
        info.problems.append("README.md front matter: not a YAML mapping")


def read_folder(root: Path, relative: str, files: list[str], subdirs: list[str]) -> FolderFiles:
    """Read the small files of one folder (`relative` to `root`); never raises for file content."""
    folder = root if relative == "." else root / relative
    regular = frozenset(f for f in files if os.path.isfile(folder / f))
    info = FolderFiles(path=relative, files=regular, subdirs=tuple(subdirs))
    if "config.json" in regular:
        info.config = _read_object(folder, "config.json", root, info.problems)
    if "adapter_config.json" in regular:
        info.adapter = _read_object(folder, "adapter_config.json", root, info.problems)
    if "modules.json" in regular:
        modules = _read_json(folder, "modules.json", root, info.problems)
        if modules is not None and not isinstance(modules, list):
            info.problems.append("modules.json: expected a JSON list")
        elif modules is not None:
            info.modules = modules
    if "README.md" in regular:
        _read_readme(folder, root, info)
    info.weights = tuple(sorted(f for f in regular if is_model_weight(f)))
    for name in info.weights:  # one header: the files of a repository share their lineage
        if name.endswith(".gguf") and not info.gguf:
            _read_gguf(folder, name, root, info)
    return info


def _read_gguf(folder: Path, name: str, root: Path, info: FolderFiles) -> None:
    path = folder / name
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
            info.problems.append(f"{name}: a symlink to outside the project; not read")
            return
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if parse_lfs_pointer(handle.read(200)) is not None:
                return  # a pointer: its header is not here (the folder is a model all the same)
            notes: list[str] = []
            facts = gguf_facts(
                lambda offset, n: os.pread(handle.fileno(), n, offset), size, name, notes
            )
    except OSError as exc:
        info.problems.append(f"{name}: {type(exc).__name__}: {exc}")
        return
    info.problems.extend(notes)
    if facts is not None:
        info.gguf.append(facts)
