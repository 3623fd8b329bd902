"""A Hub model read from the local Hugging Face cache, offline.

The cache layout is huggingface_hub's: `models--org--name/refs/<branch>` holds a commit sha,
`snapshots/<sha>/` holds the files as symlinks into `blobs/`, where each blob is named by its ETag
(the sha256 for LFS files, the git blob id otherwise). The snapshot folder is located by
huggingface_hub itself (`snapshot_download(local_files_only=True)`, which never touches the
network) and read through `LocalSnapshot`, whose symlinks may point anywhere inside the repo's
cache folder but nowhere else.

Environment variables are read when a reference is resolved, not when huggingface_hub was
imported, so `HF_HUB_CACHE` / `HF_HOME` set by a caller (or a test) take effect.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import (
    HFValidationError,
    IncompleteSnapshotError,
    LocalEntryNotFoundError,
)
from huggingface_hub.utils import validate_repo_id

from modelcards.resolve.hubid import is_hub_repo_id, is_revision
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import FileEntry, SourceRef
from modelcards.safeio.errors import ResolveError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_TRUE = {"1", "ON", "YES", "TRUE"}


class CacheMiss(ResolveError):
    """The cache does not hold this repo at this revision (or holds only part of it)."""


def hub_cache_dir() -> Path:
    """The Hugging Face Hub cache folder, from the environment as it is now.

    Same precedence as huggingface_hub: HF_HUB_CACHE, then the legacy HUGGINGFACE_HUB_CACHE, then
    HF_HOME/hub, then $XDG_CACHE_HOME/huggingface/hub, then ~/.cache/huggingface/hub.
    """
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(name)
        if value:
            return Path(os.path.expandvars(os.path.expanduser(value)))
    home = os.environ.get("HF_HOME")
    if home:
        return Path(os.path.expandvars(os.path.expanduser(home))) / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def hub_offline() -> bool:
    """True when the Hub is switched off (HF_HUB_OFFLINE, or the legacy TRANSFORMERS_OFFLINE)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    return (value or "").upper() in _TRUE or bool(constants.HF_HUB_OFFLINE)


def parse_hub_reference(reference: str) -> tuple[str, str | None] | None:
    """`id` or `id@revision` as (repo id, revision); None when it is not that shape.

    Legacy un-namespaced ids (`gpt2`) are ids too: the Hub still serves them.
    """
    repo_id, at, revision = reference.partition("@")
    if not is_hub_repo_id(repo_id):
        return None
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return None
    if at:
        check_revision(revision, reference=reference)
        return repo_id, revision
    return repo_id, None


def check_revision(revision: str, *, reference: str) -> None:
    """A branch, tag or commit sha; nothing that could walk out of `refs/` in the cache."""
    if not is_revision(revision):
        raise ResolveError(
            f"{revision!r} is not a valid Hub revision (branch, tag or commit sha)", file=reference
        )


class HfCacheSnapshot(LocalSnapshot):
    """A snapshot folder of the Hugging Face cache; sha256 known from LFS blob names."""

    def __init__(self, folder: Path, ref: SourceRef, *, repo_cache: Path) -> None:
        super().__init__(folder, ref, allowed_root=repo_cache)
        self.blobs = (repo_cache / "blobs").resolve()

    def _walk(self) -> list[FileEntry]:
        entries = []
        for entry in super()._walk():
            real = self._real.get(entry.path)
            if (
                entry.sha256 is None
                and real is not None
                and real.parent == self.blobs
                and _SHA256.fullmatch(real.name)
            ):
                entry = replace(entry, sha256=real.name)
            entries.append(entry)
        return entries


def open_hf_cache(
    repo_id: str,
    revision: str | None = None,
    *,
    cache_dir: Path | None = None,
    hub_id: str | None = None,
) -> HfCacheSnapshot:
    """The cached snapshot of `repo_id` at `revision` (default `main`), without any network.

    Raises `CacheMiss` when the cache does not hold it (or only part of it).
    """
    cache = (cache_dir or hub_cache_dir()).expanduser()
    label = f"{repo_id}@{revision}" if revision else repo_id
    if revision is not None:
        check_revision(revision, reference=label)
    try:
        folder = Path(
            snapshot_download(
                repo_id,
                revision=revision,
                cache_dir=cache,
                local_files_only=True,
            )
        )
    except IncompleteSnapshotError as exc:
        raise CacheMiss(
            f"the cached snapshot is incomplete ({_first_line(exc)})", file=label
        ) from None
    except LocalEntryNotFoundError:
        raise CacheMiss(f"not in the Hugging Face cache (looked in {cache})", file=label) from None
    except (HFValidationError, ValueError) as exc:
        raise ResolveError(f"not a valid Hub id: {_first_line(exc)}", file=label) from None
    commit = folder.name
    repo_cache = folder.parent.parent
    if not _COMMIT.fullmatch(commit) or folder.parent.name != "snapshots":
        raise ResolveError(f"unexpected Hugging Face cache layout at {folder}", file=label)
    ref = SourceRef(kind="hf-cache", location=repo_id, revision=commit, hub_id=hub_id or repo_id)
    return HfCacheSnapshot(folder, ref, repo_cache=repo_cache)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
