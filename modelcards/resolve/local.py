"""A model folder on local disk.

Symlinks are followed only when they land inside `allowed_root` (the folder itself, or for the
Hugging Face cache the repo's cache folder where `snapshots/` link into `blobs/`). FIFOs, devices
and sockets are skipped, never opened. Paths are only ever those found by the walk, so nothing
named inside a model file can make us read outside the folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modelcards.resolve.snapshot import (
    MAX_LFS_POINTER_BYTES,
    MIN_LFS_POINTER_BYTES,
    NOT_UTF8_NAME,
    FileEntry,
    Snapshot,
    SourceRef,
    parse_lfs_pointer,
    undecodable_name,
)
from modelcards.safeio.errors import ResolveError
from modelcards.safeio.textfile import real_path

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints"})


class LocalSnapshot(Snapshot):
    def __init__(self, root: Path, ref: SourceRef, *, allowed_root: Path | None = None) -> None:
        if not root.exists():
            raise ResolveError("no such folder", file=str(root))
        if not root.is_dir():
            raise ResolveError("not a folder", file=str(root))
        self.root = real_path(root)
        self.allowed_root = self.root if allowed_root is None else real_path(allowed_root)
        self.ref = ref
        self.skipped: list[tuple[str, str]] = []  # (path, why) for files passed over
        self._entries: tuple[FileEntry, ...] | None = None
        self._real: dict[str, Path] = {}

    def files(self) -> tuple[FileEntry, ...]:
        if self._entries is None:
            self._entries = tuple(sorted(self._walk(), key=lambda e: e.path))
        return self._entries

    def local_file(self, path: str) -> Path | None:
        self.files()
        entry = self.entry(path)
        if entry is None or entry.lfs_pointer:
            return None
        return self._real[path]

    def _read(self, path: str, offset: int, length: int) -> bytes:
        real = self._real[path]
        try:
            with open(real, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise ResolveError("not a regular file", file=path)
                handle.seek(offset)
                return handle.read(length)
        except OSError as exc:
            raise ResolveError(f"cannot read: {exc.strerror or exc}", file=path) from None

    def _walk(self) -> list[FileEntry]:
        entries: list[FileEntry] = []
        top = str(self.root)
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            # strings, not a Path per file: a project's thousands of files are walked per build
            inside = os.path.relpath(dirpath, top)
            prefix = "" if inside == "." else Path(inside).as_posix() + "/"
            for name in filenames:
                full = Path(dirpath, name)
                rel = prefix + name
                shown = undecodable_name(rel)
                if shown is not None:
                    self.skipped.append((shown, NOT_UTF8_NAME))
                    continue
                entry = self._entry(full, rel)
                if entry is not None:
                    entries.append(entry)
        return entries

    def _entry(self, full: Path, rel: str) -> FileEntry | None:
        try:
            info = os.lstat(full)
            real = full
            if stat.S_ISLNK(info.st_mode):
                real = full.resolve()
                if not real.is_relative_to(self.allowed_root):
                    self.skipped.append((rel, "symlink pointing outside the model folder"))
                    return None
                info = os.stat(real)
        except (OSError, RuntimeError) as exc:
            self.skipped.append((rel, f"cannot stat: {exc}"))
            return None
        if not stat.S_ISREG(info.st_mode):
            self.skipped.append((rel, "not a regular file (FIFO, device or socket)"))
            return None
        self._real[rel] = real
        if MIN_LFS_POINTER_BYTES <= info.st_size <= MAX_LFS_POINTER_BYTES:
            try:
                with open(real, "rb") as handle:
                    pointer = parse_lfs_pointer(handle.read(MAX_LFS_POINTER_BYTES + 1))
            except OSError as exc:
                self.skipped.append((rel, f"cannot read: {exc.strerror or exc}"))
                return None
            if pointer is not None:
                return FileEntry(rel, pointer.size, sha256=pointer.oid, lfs_pointer=True)
        return FileEntry(rel, info.st_size)
