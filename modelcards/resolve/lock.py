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
import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelcards.resolve.hubid import split_hub_reference
from modelcards.resolve.model_files import CHECKPOINT_STATE, RESULT_FILES, TOKENIZER_FILES
from modelcards.resolve.snapshot import FileEntry, Snapshot, SourceRef, relative_path_problem
from modelcards.safeio.errors import ConfigError, InspectError, ResolveError
from modelcards.safeio.jsonfile import loads_strict

LOCK_NAME = "modelcards.lock"
LOCK_VERSION = 1
MAX_CONTENT_BYTES = 1024 * 1024  # a locked file's text
MAX_HEADER_BYTES = 16 * 1024 * 1024  # a locked safetensors header (safetensors allows 100 MB)
MAX_LOCK_BYTES = 512 * 1024 * 1024

# the files whose text inspect reads (top level), besides weight indexes and checkpoint states
READ_FILES = frozenset(
    {"config.json", "generation_config.json", "adapter_config.json", "README.md"}
    | {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"}
    | {"chat_template.jinja", "chat_template.json"}
    | {"trainer_state.json", *RESULT_FILES}
)
# tokenizer files inspect only lists as present; their text is locked when it is small
# (tokenizer.model is a binary sentencepiece model: listed, never read)
LISTED_TOKENIZER_FILES = frozenset(TOKENIZER_FILES) - READ_FILES - {"tokenizer.model"}
INDEX_SUFFIX = ".index.json"

_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BLOB_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_ENTRY_KEYS = ("contents", "files", "not_locked", "revision", "safetensors_headers")


def inspect_reads(path: str) -> bool:
    """Inspect reads this file's text (or, for `.safetensors`, its header)."""
    return (
        path in READ_FILES
        or ("/" not in path and path.endswith(INDEX_SUFFIX))
        or path.endswith(".safetensors.index.json")
        or bool(CHECKPOINT_STATE.match(path))
        or path.endswith(".safetensors")
    )


def wants_content(path: str) -> bool:
    """A file whose text the lock records (when it is small and UTF-8)."""
    return (inspect_reads(path) and not path.endswith(".safetensors")) or (
        path in LISTED_TOKENIZER_FILES
    )


def lock_key(repo_id: str, revision: str | None) -> str:
    """The entry name: the Hub id, plus `@revision` when the config asks for one."""
    return f"{repo_id}@{revision}" if revision else repo_id


# -- the data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockedFile:
    path: str
    size: int
    sha256: str | None = None
    blob_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "blob_id": self.blob_id,
        }


@dataclass(frozen=True)
class NotLocked:
    path: str
    size: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "reason": self.reason}


@dataclass(frozen=True)
class LockEntry:
    """One base at one commit: its file list, the text inspect reads, its safetensors headers."""

    revision: str
    files: tuple[LockedFile, ...]
    contents: Mapping[str, str] = field(default_factory=dict)
    safetensors_headers: Mapping[str, str] = field(default_factory=dict)
    not_locked: tuple[NotLocked, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "files": [f.as_json() for f in self.files],
            "contents": dict(sorted(self.contents.items())),
            "safetensors_headers": dict(sorted(self.safetensors_headers.items())),
            "not_locked": [n.as_json() for n in self.not_locked],
        }

    @property
    def digest(self) -> str:
        """sha256 over the entry's canonical JSON: any change to what is locked changes it."""
        text = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LockFile:
    """The whole `modelcards.lock`: entries by `lock_key`."""

    bases: Mapping[str, LockEntry] = field(default_factory=dict)

    def entry(self, repo_id: str, revision: str | None) -> LockEntry | None:
        return self.bases.get(lock_key(repo_id, revision))

    def snapshot(
        self, repo_id: str, revision: str | None, *, hub_id: str | None = None
    ) -> LockedSnapshot | None:
        """The locked base for this Hub id and requested revision, or None when not locked."""
        entry = self.entry(repo_id, revision)
        if entry is None:
            return None
        return LockedSnapshot(repo_id, revision, entry, hub_id=hub_id)

    def dumps(self) -> str:
        data = {
            "version": LOCK_VERSION,
            "bases": {key: self.bases[key].as_json() for key in sorted(self.bases)},
        }
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# -- the snapshot -----------------------------------------------------------------------------


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
    return _Loader(file).lock(raw)


def write_lock(root: Path, lock: LockFile) -> bool:
    """Write the lock atomically (temp file, then rename); False when the bytes were already so."""
    from modelcards.safeio.write import write_atomic

    return write_atomic(lock_path(root), lock.dumps())


class _Loader:
    """Checks every key of a parsed lock; an error names the file and the key."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(
            f"{where}: {message} (fix it, or run `modelcards lock` to write it again)",
            file=self.file,
        )

    def mapping(
        self, value: Any, where: str, keys: Iterable[str], *, required: bool
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {_kind(value)}")
        allowed = tuple(keys)
        for key in value:
            if key not in allowed:
                raise self.fail(f"{where}.{key}", f"unknown key (allowed: {', '.join(allowed)})")
        if required:
            for key in allowed:
                if key not in value:
                    raise self.fail(where, f"missing key {key!r}")
        return value

    def lock(self, raw: Any) -> LockFile:
        top = self.mapping(raw, "(top level)", ("bases", "version"), required=True)
        if top["version"] != LOCK_VERSION or isinstance(top["version"], bool):
            raise self.fail(
                "version",
                f"expected {LOCK_VERSION}, found {top['version']!r} (a newer modelcards?)",
            )
        bases = top["bases"]
        if not isinstance(bases, dict):
            raise self.fail("bases", f"expected an object, found {_kind(bases)}")
        entries = {}
        for key, value in bases.items():
            where = f"bases[{json.dumps(key)}]"
            parsed = split_hub_reference(key)
            if parsed is None:
                raise self.fail(where, "not a Hub id, optionally @revision")
            entries[key] = self.entry(value, where)
        return LockFile(bases=entries)

    def entry(self, raw: Any, where: str) -> LockEntry:
        value = self.mapping(raw, where, _ENTRY_KEYS, required=True)
        revision = value["revision"]
        if not isinstance(revision, str) or not _COMMIT.fullmatch(revision):
            raise self.fail(f"{where}.revision", "expected a 40-hex commit sha")
        files = self.files(value["files"], f"{where}.files")
        sizes = {f.path: f for f in files}
        contents = self.texts(value["contents"], f"{where}.contents", sizes, header=False)
        headers = self.texts(
            value["safetensors_headers"], f"{where}.safetensors_headers", sizes, header=True
        )
        not_locked = self.not_locked(value["not_locked"], f"{where}.not_locked", sizes)
        for item in not_locked:
            if item.path in contents or item.path in headers:
                raise self.fail(f"{where}.not_locked", f"{item.path!r} is locked as well")
        return LockEntry(
            revision=revision,
            files=files,
            contents=contents,
            safetensors_headers=headers,
            not_locked=not_locked,
        )

    def path(self, value: Any, where: str) -> str:
        problem = relative_path_problem(value)
        if problem:
            shown = value[:200] if isinstance(value, str) else value
            raise self.fail(where, f"file name {shown!r} {problem}")
        assert isinstance(value, str)
        return value

    def size(self, value: Any, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(where, f"expected a non-negative integer, found {_kind(value)}")
        return value

    def files(self, raw: Any, where: str) -> tuple[LockedFile, ...]:
        if not isinstance(raw, list):
            raise self.fail(where, f"expected a list, found {_kind(raw)}")
        files: list[LockedFile] = []
        for index, item in enumerate(raw):
            at = f"{where}[{index}]"
            value = self.mapping(item, at, ("blob_id", "path", "sha256", "size"), required=False)
            if "path" not in value or "size" not in value:
                raise self.fail(at, "needs `path` and `size`")
            path = self.path(value["path"], f"{at}.path")
            sha256, blob_id = value.get("sha256"), value.get("blob_id")
            if sha256 is not None and not (isinstance(sha256, str) and _SHA256.fullmatch(sha256)):
                raise self.fail(f"{at}.sha256", "expected 64 lowercase hex digits or null")
            if blob_id is not None and not (
                isinstance(blob_id, str) and _BLOB_ID.fullmatch(blob_id)
            ):
                raise self.fail(f"{at}.blob_id", "expected a git blob id (hex) or null")
            if files and path <= files[-1].path:
                raise self.fail(f"{at}.path", f"{path!r} is out of order or listed twice")
            files.append(LockedFile(path, self.size(value["size"], f"{at}.size"), sha256, blob_id))
        return tuple(files)

    def texts(
        self, raw: Any, where: str, files: Mapping[str, LockedFile], *, header: bool
    ) -> dict[str, str]:
        if not isinstance(raw, dict):
            raise self.fail(where, f"expected an object, found {_kind(raw)}")
        texts: dict[str, str] = {}
        for path, text in raw.items():
            at = f"{where}[{json.dumps(path)}]"
            self.path(path, at)
            listed = files.get(path)
            if listed is None:
                raise self.fail(at, "not in the entry's `files`")
            if not isinstance(text, str):
                raise self.fail(at, f"expected a string, found {_kind(text)}")
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail(at, "not valid Unicode text (a lone surrogate)") from None
            if header:
                self.header(path, data, listed, at)
            else:
                self.content(data, listed, at)
            texts[path] = text
        return texts

    def content(self, data: bytes, listed: LockedFile, at: str) -> None:
        if len(data) > MAX_CONTENT_BYTES:
            raise self.fail(at, f"{len(data):,} bytes, more than the {MAX_CONTENT_BYTES:,} locked")
        if len(data) != listed.size:
            raise self.fail(at, f"{len(data):,} bytes of text, but `files` says {listed.size:,}")
        if listed.sha256 is not None and hashlib.sha256(data).hexdigest() != listed.sha256:
            raise self.fail(at, "the text does not match the sha256 in `files`")

    def header(self, path: str, data: bytes, listed: LockedFile, at: str) -> None:
        if not path.endswith(".safetensors"):
            raise self.fail(at, "not a .safetensors file")
        if len(data) > MAX_HEADER_BYTES or 8 + len(data) > listed.size:
            raise self.fail(
                at, f"a {len(data):,}-byte header does not fit the {listed.size:,}-byte file"
            )
        try:
            value = loads_strict(data, file=path)
        except InspectError as exc:
            raise self.fail(at, f"invalid safetensors header: {exc.reason}") from None
        if not isinstance(value, dict):
            raise self.fail(at, "invalid safetensors header: not a JSON object")

    def not_locked(
        self, raw: Any, where: str, files: Mapping[str, LockedFile]
    ) -> tuple[NotLocked, ...]:
        if not isinstance(raw, list):
            raise self.fail(where, f"expected a list, found {_kind(raw)}")
        items: list[NotLocked] = []
        for index, item in enumerate(raw):
            at = f"{where}[{index}]"
            value = self.mapping(item, at, ("path", "reason", "size"), required=True)
            path = self.path(value["path"], f"{at}.path")
            if path not in files:
                raise self.fail(f"{at}.path", f"{path!r} is not in the entry's `files`")
            if items and path <= items[-1].path:
                raise self.fail(f"{at}.path", f"{path!r} is out of order or listed twice")
            reason = value["reason"]
            if not isinstance(reason, str) or not reason or "\n" in reason:
                raise self.fail(f"{at}.reason", "expected a one-line string")
            items.append(NotLocked(path, self.size(value["size"], f"{at}.size"), reason))
        return tuple(items)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number {value!r}"
    return names.get(type(value), type(value).__name__)


# -- locking a base ---------------------------------------------------------------------------


def lock_snapshot(snapshot: Snapshot) -> LockEntry:
    """Record what inspect reads of `snapshot`, pinned to its commit sha (never tensor data)."""
    revision = snapshot.ref.revision or ""
    if not _COMMIT.fullmatch(revision):
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
    if local is None or local.parent.name != "blobs" or not _COMMIT.fullmatch(local.name):
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
