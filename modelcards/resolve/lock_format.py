"""The lock file's format: its names and bounds, and the frozen values an entry is made of
(`LockFile` → `LockEntry` → `LockedFile`, `NotLocked`), with their canonical JSON."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelcards.resolve.model_files import (
    CHECKPOINT_STATE,
    MODULE_FILES,
    PROCESSOR_FILES,
    RESULT_FILES,
    TOKENIZER_FILES,
)

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
    | {*PROCESSOR_FILES, *MODULE_FILES}
)
# tokenizer files inspect only lists as present; their text is locked when it is small
# (tokenizer.model is a binary sentencepiece model: listed, never read)
LISTED_TOKENIZER_FILES = frozenset(TOKENIZER_FILES) - READ_FILES - {"tokenizer.model"}
INDEX_SUFFIX = ".index.json"

COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
SHA256 = re.compile(r"[0-9a-f]{64}")
BLOB_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
ENTRY_KEYS = ("contents", "files", "not_locked", "revision", "safetensors_headers")


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

    def dumps(self) -> str:
        data = {
            "version": LOCK_VERSION,
            "bases": {key: self.bases[key].as_json() for key in sorted(self.bases)},
        }
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# -- the snapshot -----------------------------------------------------------------------------
