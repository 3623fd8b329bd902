"""`modelcards.lock`: the bases a project's models were fine-tuned from, pinned and readable offline.

A base named only by a Hub id (`org/name`, `gpt2@v1`) is read from the Hugging Face cache or the
Hub, so what a card says about it depends on the machine and the day. The lock file, kept at the
project root and committed, records for each such base what inspect needs, at one commit:

- `revision`: the commit sha the requested revision resolved to;
- `files`: every file of the repository, with its size, and its sha256 and git blob id when
  the Hub's metadata or the cache gives them (or, for a file whose text is locked, its bytes);
- `contents`: the text of the small files inspect reads (configs, tokenizer files, chat
  templates, README.md, training records, weight indexes), each at most `MAX_CONTENT_BYTES`;
- `safetensors_headers`: the exact JSON header of every `.safetensors` file (never tensor data);
- `not_locked`: the files of that kind whose text is not there, with their size and why.

The file is JSON with sorted keys and a 2-space indent: the same bases give the same bytes, with
no time, host name or token in it. `LockedSnapshot` serves an entry offline. Nothing from a model
is executed, and the loader treats the lock like any model file: hostile until checked.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from modelcards.resolve.lock_format import (
    COMMIT_SHA,
    LOCK_NAME,
    MAX_CONTENT_BYTES,
    MAX_HEADER_BYTES,
    MAX_LOCK_BYTES,
    LockedFile,
    LockEntry,
    LockFile,
    NotLocked,
    inspect_reads,
    lock_key,
    wants_content,
)
from modelcards.resolve.lock_loader import LockLoader
from modelcards.resolve.snapshot import FileEntry, Snapshot, SourceRef, relative_path_problem
from modelcards.safeio.errors import ConfigError, InspectError, ResolveError
from modelcards.safeio.jsonfile import loads_strict


class LockedSnapshot(Snapshot):
    """A base served from its lock entry: no network, no cache.

    Files whose text is locked read as that text; a `.safetensors` file with a locked header
    reads as the 8-byte little-endian length and the header, and nothing past it. A file whose
    text inspect would read but is not locked (too large, not UTF-8) is flagged `lfs_pointer`:
    inspect reports its content as not present. Every other file (weights, tokenizer.model,
    code) is listed with its size and hash, as the Hub snapshot lists weights, and reading it is
    refused.
    """

    def __init__(
        self,
        repo_id: str,
        revision: str | None,
        entry: LockEntry,
        *,
        hub_id: str | None = None,
    ) -> None:
        self.repo_id = repo_id
        self.key = lock_key(repo_id, revision)
        self.lock_entry = entry
        self.entry_digest = entry.digest
        self.ref = SourceRef(
            kind="lock", location=repo_id, revision=entry.revision, hub_id=hub_id or repo_id
        )
        self._headers = {
            path: struct.pack("<Q", len(raw)) + raw
            for path, raw in ((p, h.encode("utf-8")) for p, h in entry.safetensors_headers.items())
        }
        self._contents = {path: text.encode("utf-8") for path, text in entry.contents.items()}
        self._entries = tuple(
            FileEntry(
                f.path,
                f.size,
                sha256=f.sha256,
                blob_id=f.blob_id,
                lfs_pointer=(
                    f.path not in self._contents
                    and f.path not in self._headers
                    and inspect_reads(f.path)
                ),
            )
            for f in entry.files
        )

    def files(self) -> tuple[FileEntry, ...]:
        return self._entries

    def _read(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        data = self._contents.get(path)
        if data is not None:
            return data[offset : offset + length]
        header = self._headers.get(path)
        if header is not None:
            if offset + length > len(header):
                raise ResolveError(
                    f"{LOCK_NAME} holds only the safetensors header of this file, never the "
                    f"tensor data (asked for bytes {offset:,}-{offset + length - 1:,}, header "
                    f"ends at {len(header):,})",
                    file=path,
                )
            return header[offset : offset + length]
        raise ResolveError(
            f"{LOCK_NAME} holds only this file's size and hash ({self.key}), not its content",
            file=path,
        )


# -- reading and writing the file -------------------------------------------------------------


def locked_snapshot(
    lock: LockFile, repo_id: str, revision: str | None, *, hub_id: str | None = None
) -> LockedSnapshot | None:
    """The locked base for this Hub id and requested revision, or None when not locked."""
    entry = lock.entry(repo_id, revision)
    return None if entry is None else LockedSnapshot(repo_id, revision, entry, hub_id=hub_id)


def lock_path(root: Path) -> Path:
    return root / LOCK_NAME


def load_lock(root: Path) -> LockFile | None:
    """The project's lock, or None when it has none; a malformed one is a `ConfigError`."""
    path = lock_path(root)
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or not path.is_file():
        raise ConfigError("not a regular file", file=LOCK_NAME)
    try:
        size = path.stat().st_size
        if size > MAX_LOCK_BYTES:
            raise ConfigError(f"larger than {MAX_LOCK_BYTES:,} bytes", file=LOCK_NAME)
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=LOCK_NAME) from None
    return loads_lock(data)


def loads_lock(data: bytes | str, *, file: str = LOCK_NAME) -> LockFile:
    """Parse and check a lock file's text (e.g. as `git show REV:modelcards.lock` prints it)."""
    try:
        raw = loads_strict(data, file=file)
    except InspectError as exc:
        raise ConfigError(exc.reason, file=file) from None
    return LockLoader(file).lock(raw)


def write_lock(root: Path, lock: LockFile) -> bool:
    """Write the lock atomically (temp file, then rename); False when the bytes were already so."""
    from modelcards.safeio.write import write_atomic

    return write_atomic(lock_path(root), lock.dumps())


def lock_snapshot(snapshot: Snapshot) -> LockEntry:
    """Record what inspect reads of `snapshot`, pinned to its commit sha (never tensor data)."""
    revision = snapshot.ref.revision or ""
    if not COMMIT_SHA.fullmatch(revision):
        raise ResolveError(
            f"not pinned to a commit sha ({revision!r}): only a Hub or Hugging Face cache "
            "snapshot can be locked",
            file=snapshot.ref.describe(),
        )
    files: list[LockedFile] = []
    contents: dict[str, str] = {}
    headers: dict[str, str] = {}
    not_locked: list[NotLocked] = []
    for entry in snapshot.files():
        if relative_path_problem(entry.path):
            continue  # never written into the lock (the Hub snapshot already drops these)
        sha256, blob_id = entry.sha256, entry.blob_id or _cache_blob_id(snapshot, entry)
        why: str | None = None
        if entry.path.endswith(".safetensors"):
            header, why = _header_text(snapshot, entry)
            if header is not None:
                headers[entry.path] = header
        elif wants_content(entry.path):
            data, why = _content(snapshot, entry)
            if data is not None:
                contents[entry.path] = data.decode("utf-8")
                sha256 = sha256 or hashlib.sha256(data).hexdigest()
        if why is not None:
            not_locked.append(NotLocked(entry.path, entry.size, why))
        files.append(LockedFile(entry.path, entry.size, sha256, blob_id))
    return LockEntry(
        revision=revision,
        files=tuple(sorted(files, key=lambda f: f.path)),
        contents=contents,
        safetensors_headers=headers,
        not_locked=tuple(sorted(not_locked, key=lambda n: n.path)),
    )


def _cache_blob_id(snapshot: Snapshot, entry: FileEntry) -> str | None:
    """In the Hugging Face cache a non-LFS file's blob is named by its git blob id."""
    if snapshot.ref.kind != "hf-cache" or entry.sha256 is not None:
        return None
    local = snapshot.local_file(entry.path)
    if local is None or local.parent.name != "blobs" or not COMMIT_SHA.fullmatch(local.name):
        return None
    return local.name


def _content(snapshot: Snapshot, entry: FileEntry) -> tuple[bytes | None, str | None]:
    if entry.lfs_pointer:
        return None, "only a Git-LFS pointer is present"
    if entry.size > MAX_CONTENT_BYTES:
        return None, f"larger than {MAX_CONTENT_BYTES // (1024 * 1024)} MiB"
    data = snapshot.read_bytes(entry.path, max_bytes=MAX_CONTENT_BYTES)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    if entry.sha256 is not None and hashlib.sha256(data).hexdigest() != entry.sha256:
        raise ResolveError("the content does not match its listed sha256", file=entry.path)
    return data, None


def _header_text(snapshot: Snapshot, entry: FileEntry) -> tuple[str | None, str | None]:
    """The JSON header, through range reads inside it; the reason when it is not locked."""
    if entry.lfs_pointer:
        return None, "only a Git-LFS pointer is present"
    prefix = snapshot.read_range(entry.path, 0, 8)
    if len(prefix) < 8:
        return None, "invalid safetensors file: shorter than the 8-byte header length"
    (length,) = struct.unpack("<Q", prefix)
    if length + 8 > entry.size:
        return None, f"invalid safetensors header: declared length {length:,} does not fit the file"
    if length > MAX_HEADER_BYTES:
        return None, f"header of {length:,} bytes, larger than {MAX_HEADER_BYTES // 2**20} MiB"
    raw = snapshot.read_range(entry.path, 8, length)
    if len(raw) != length:
        return None, "the header could not be read whole"
    try:
        value = loads_strict(raw, file=entry.path)
        text = raw.decode("utf-8")
    except (InspectError, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, InspectError) else "not UTF-8"
        return None, f"invalid safetensors header: {reason}"
    if not isinstance(value, dict):
        return None, "invalid safetensors header: not a JSON object"
    return text, None
