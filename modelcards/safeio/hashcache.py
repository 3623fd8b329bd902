"""sha256 of model files, computed once.

A rebuild must not re-hash 100 GB of weights. Hashes are remembered by (real path, size,
mtime, inode) for files on disk and by git blob id for files read from git; for a Git-LFS file
that git says is clean, the pointer's oid *is* the sha256, so nothing is read at all.

The cache lives at `$MODELCARDS_CACHE`, else `$XDG_CACHE_HOME/modelcards/hashes.json` (default
`~/.cache/modelcards/hashes.json`); deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from modelcards.safeio.hashing import sha256_file

MAX_ENTRIES = 200_000
CACHE_VERSION = 1


def default_cache_file() -> Path:
    if os.environ.get("MODELCARDS_CACHE"):
        return Path(os.environ["MODELCARDS_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "modelcards" / "hashes.json"


MAX_CACHE_BYTES = 256 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_ID = re.compile(r"[0-9a-f]{40}")


def _entries(value: object, form: re.Pattern[str] = _SHA256) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str) and form.fullmatch(v)}


def _load(file: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The cache's two maps; anything unreadable or malformed is ignored: a cache is disposable
    (it is rebuilt by hashing again, and rewritten on save)."""
    try:
        if not file.is_file() or file.stat().st_size > MAX_CACHE_BYTES:
            return {}, {}, {}
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}, {}, {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}, {}, {}
    git = _entries(data.get("git"), _GIT_ID)
    return _entries(data.get("stat")), _entries(data.get("blob")), git


class HashCache:
    """A small JSON store: stat key or git blob id → sha256. Unreadable caches start empty."""

    def __init__(self, file: Path | None = None) -> None:
        self.file = file
        self.by_stat: dict[str, str] = {}
        self.by_blob: dict[str, str] = {}
        self.git_ids: dict[str, str] = {}  # stat key → git blob id
        self.hashed_bytes = 0  # what this run actually read to hash, for reports and benches
        self._dirty = False
        if file is not None:
            self.by_stat, self.by_blob, self.git_ids = _load(file)

    @staticmethod
    def _stat_key(path: str | Path, resolved: bool = False) -> str:
        info = os.stat(path)
        real = str(path) if resolved else os.path.realpath(path)
        return f"{real}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}"

    def file_sha256(self, path: Path, *, resolved: bool = False) -> str:
        """`resolved`: the caller knows `path` is its real path already (a snapshot's walk
        resolved it): the key is the same, without walking the path again."""
        key = self._stat_key(path, resolved)
        cached = self.by_stat.get(key)
        if cached is None:
            cached = sha256_file(path)
            self.hashed_bytes += os.stat(path).st_size
            self.by_stat[key] = cached
            self._dirty = True
        return cached

    def file_blob_id(self, path: str | Path, *, resolved: bool = False) -> str:
        """The git blob id of a file (`git hash-object --no-filters`), cached by stat as the
        sha256 is."""
        key = self._stat_key(path, resolved)
        cached = self.git_ids.get(key)
        if cached is None:
            digest = hashlib.sha1(b"blob %d\0" % os.stat(path).st_size, usedforsecurity=False)
            with open(path, "rb") as handle:
                while block := handle.read(1024 * 1024):
                    digest.update(block)
            cached = self.git_ids[key] = digest.hexdigest()
            self._dirty = True
        return cached

    def blob_sha256(self, blob_id: str) -> str | None:
        return self.by_blob.get(blob_id)

    def remember_blob(self, blob_id: str, sha256: str) -> None:
        if self.by_blob.get(blob_id) != sha256:
            self.by_blob[blob_id] = sha256
            self._dirty = True

    def save(self) -> None:
        if self.file is None or not self._dirty:
            return
        stat = dict(list(self.by_stat.items())[-MAX_ENTRIES:])
        blob = dict(list(self.by_blob.items())[-MAX_ENTRIES:])
        git = dict(list(self.git_ids.items())[-MAX_ENTRIES:])
        payload = {"version": CACHE_VERSION, "stat": stat, "blob": blob, "git": git}
        from modelcards.safeio.write import write_atomic  # tempfile and shutil: on a write only

        try:
            write_atomic(self.file, json.dumps(payload, sort_keys=True))
        except Exception:  # noqa: BLE001 - a cache that cannot be saved only costs time
            return
        self._dirty = False
