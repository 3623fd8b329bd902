"""The snapshot: a read-only view of one model's files at one revision.

Every source (a folder, a git tree, the Hugging Face cache, the Hub) implements `Snapshot`, so the
later stages never know where bytes came from. Reads are bounded: callers say how much they are
prepared to take, and a larger file is an error rather than a memory blow-up.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from modelcards.safeio.errors import ResolveError

SourceKind = Literal["path", "git", "hf-cache", "hub", "lock"]

LFS_SPEC_LINE = b"version https://git-lfs.github.com/spec/v1"
# the shortest file `parse_lfs_pointer` accepts: the spec line, a 64-digit oid, a size
MIN_LFS_POINTER_BYTES = len(LFS_SPEC_LINE) + len(b"\noid sha256:") + 64 + len(b"\nsize 0")
MAX_LFS_POINTER_BYTES = 1024
MAX_PATH_LENGTH = 1024
_DRIVE = re.compile(r"[A-Za-z]:")


NOT_UTF8_NAME = "file name is not valid UTF-8: not read"


def undecodable_name(rel: str) -> str | None:
    """`rel` with its undecodable bytes shown as `\\xNN`, when the name is not UTF-8 (Python
    carries such bytes as surrogates, which no UTF-8 output can hold); else None."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(rel).decode("utf-8", "backslashreplace")
    return None


def relative_path_problem(path: object) -> str | None:
    """Why `path` (from a Hub listing or a lock: hostile) is not a plain relative POSIX path
    inside the repository, or None when it is one."""
    if not isinstance(path, str) or not path:
        return "is not a non-empty string"
    if len(path) > MAX_PATH_LENGTH:
        return f"is longer than {MAX_PATH_LENGTH} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "contains a control character"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/") or _DRIVE.match(path):
        return "is an absolute path"
    parts = path.split("/")
    if ".." in parts:
        return "escapes the repository (..)"
    if "" in parts or "." in parts:
        return "is not a plain relative path"
    return None


@dataclass(frozen=True)
class SourceRef:
    """Where a snapshot came from, as the card states it."""

    kind: SourceKind
    location: str  # folder path (relative to the project root when inside it), or repo id
    revision: str | None = None  # git commit / Hub commit sha, when known
    hub_id: str | None = None  # the Hub id a card may name as `base_model`; never a local path

    def describe(self) -> str:
        text = self.location
        if self.kind == "git":
            text = f"git:{self.revision}:{self.location}"
        elif self.revision:
            text = f"{self.location}@{self.revision}"
        return text


@dataclass(frozen=True)
class FileEntry:
    """One file of a snapshot. For a Git-LFS pointer, size and sha256 are those of the real content."""

    path: str  # POSIX path relative to the snapshot root
    size: int
    sha256: str | None = None  # known without hashing (LFS oid, Hub metadata) or filled by hashing
    lfs_pointer: bool = False  # only a pointer is present: the content itself is not readable
    blob_id: str | None = None  # git blob id, when the snapshot is a git tree


@dataclass(frozen=True)
class LfsPointer:
    oid: str
    size: int


def parse_lfs_pointer(data: bytes) -> LfsPointer | None:
    """Return the pointer when `data` is a Git-LFS pointer file, else None."""
    if len(data) > MAX_LFS_POINTER_BYTES or not data.startswith(LFS_SPEC_LINE):
        return None
    oid = size = None
    for line in data.decode("utf-8", "replace").splitlines()[1:]:
        key, _, value = line.partition(" ")
        if key == "oid" and value.startswith("sha256:"):
            oid = value[len("sha256:") :].strip()
        elif key == "size" and value.strip().isdigit():
            size = int(value.strip())
    if oid is None or size is None or len(oid) != 64:
        return None
    return LfsPointer(oid=oid, size=size)


class Snapshot(ABC):
    """Read-only, bounded access to the files of one model at one revision."""

    ref: SourceRef

    @abstractmethod
    def files(self) -> tuple[FileEntry, ...]:
        """Every readable regular file, sorted by path (LFS pointers included, flagged)."""

    @abstractmethod
    def _read(self, path: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes of `path` from `offset`; `path` is known to be listed."""

    def local_file(self, path: str) -> Path | None:
        """A real file on disk with the content (for memory-mapping), if there is one."""
        return None

    def entry(self, path: str) -> FileEntry | None:
        return self._index().get(path)

    def has(self, path: str) -> bool:
        entry = self.entry(path)
        return entry is not None and not entry.lfs_pointer

    def read_bytes(self, path: str, *, max_bytes: int) -> bytes:
        """The whole file, refusing one larger than `max_bytes` before reading it."""
        entry = self._require(path)
        if entry.size > max_bytes:
            raise ResolveError(
                f"file is {entry.size:,} bytes, more than the {max_bytes:,} this tool reads",
                file=path,
            )
        data = self._read(path, 0, max_bytes + 1)
        if len(data) > max_bytes:
            raise ResolveError(f"file is larger than the {max_bytes:,} bytes allowed", file=path)
        return data

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        self._require(path)
        return self._read(path, offset, length)

    def _require(self, path: str) -> FileEntry:
        entry = self.entry(path)
        if entry is None:
            raise ResolveError("no such file in the model", file=path)
        if entry.lfs_pointer:
            raise ResolveError("only a Git-LFS pointer is present, not the content", file=path)
        return entry

    def _index(self) -> dict[str, FileEntry]:
        cached: dict[str, FileEntry] | None = getattr(self, "_index_cache", None)
        if cached is None:
            cached = {entry.path: entry for entry in self.files()}
            self._index_cache = cached
        return cached
