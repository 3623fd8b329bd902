"""The strict loader of `modelcards.lock`: every key checked, every path a plain relative one,
every hash the right shape; an error names the file and the key (`ConfigError`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from modelcards.resolve.hubid import split_hub_reference
from modelcards.resolve.lock_format import (
    BLOB_ID,
    COMMIT_SHA,
    ENTRY_KEYS,
    LOCK_VERSION,
    MAX_CONTENT_BYTES,
    MAX_HEADER_BYTES,
    SHA256,
    LockedFile,
    LockEntry,
    LockFile,
    NotLocked,
)
from modelcards.resolve.snapshot import relative_path_problem
from modelcards.safeio.errors import ConfigError, InspectError
from modelcards.safeio.jsonfile import loads_strict


class LockLoader:
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
        value = self.mapping(raw, where, ENTRY_KEYS, required=True)
        revision = value["revision"]
        if not isinstance(revision, str) or not COMMIT_SHA.fullmatch(revision):
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
            if sha256 is not None and not (isinstance(sha256, str) and SHA256.fullmatch(sha256)):
                raise self.fail(f"{at}.sha256", "expected 64 lowercase hex digits or null")
            if blob_id is not None and not (
                isinstance(blob_id, str) and BLOB_ID.fullmatch(blob_id)
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
