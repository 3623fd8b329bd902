"""resolve: turn a reference (folder, git revision, Hub id) into a `Snapshot`.

References, as a user writes them:

- a folder, relative to the project root (or absolute): `models/base`;
- a git revision of the project repository: `git:REF:PATH`, e.g. `git:HEAD~1:models/base`,
  `git:vendor/llama:models/llama`, `git:v1.2:.` (PATH relative to the project root);
- a Hugging Face Hub id, optionally pinned: `org/name`, `org/name@main`, `org/name@<commit sha>`,
  read from the local Hugging Face cache, or with `online=True` from the Hub itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelcards.resolve.hubid import is_hub_repo_id
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import FileEntry, Snapshot, SourceRef
from modelcards.safeio.errors import ResolveError
from modelcards.safeio.lazy import lazy_names
from modelcards.safeio.textfile import real_path

if TYPE_CHECKING:
    from modelcards.resolve.gitrepo import GitSnapshot, open_git_reference
    from modelcards.resolve.lock import LockFile

GIT_PREFIX = "git:"  # a git revision of the project repository: git:REF:PATH

# The Hub modules import huggingface_hub (a third of a second), gitrepo GitPython (a tenth):
# loaded only when a reference needs them, so folders — and a diff of two — start fast.
_LAZY = {
    "GitSnapshot": "gitrepo",
    "open_git_reference": "gitrepo",
    "HfCacheSnapshot": "hfcache",
    "hub_cache_dir": "hfcache",
    "open_hf_cache": "hfcache",
    "HubSnapshot": "hub",
}


__getattr__ = lazy_names(
    __name__, {name: f"modelcards.resolve.{home}" for name, home in _LAZY.items()}
)


__all__ = [
    "FileEntry",
    "GitSnapshot",
    "HfCacheSnapshot",
    "HubSnapshot",
    "LocalSnapshot",
    "Snapshot",
    "SourceRef",
    "hub_cache_dir",
    "open_folder",
    "open_git_reference",
    "open_hf_cache",
    "open_hub_id",
    "resolve_base",
    "resolve_reference",
]


def open_folder(
    folder: Path, *, project_root: Path | None = None, hub_id: str | None = None
) -> Snapshot:
    """A local model folder; its location is recorded relative to the project root if inside."""
    location = str(folder)
    if project_root is not None:
        try:
            location = real_path(folder).relative_to(real_path(project_root)).as_posix() or "."
        except ValueError:
            location = str(folder)
    return LocalSnapshot(folder, SourceRef(kind="path", location=location, hub_id=hub_id))


def resolve_reference(
    reference: str, *, project_root: Path, hub_id: str | None = None, online: bool = False
) -> Snapshot:
    """Resolve what a user wrote as a model reference.

    In order: `git:REF:PATH`; an existing folder; a Hub id `org/name[@rev]` from the Hugging
    Face cache, then (only with `online=True` and HF_HUB_OFFLINE unset) from the Hub.
    `hub_id` is what the card names as the base; it defaults to the Hub id for Hub references.
    """
    if reference.startswith(GIT_PREFIX):
        from modelcards.resolve.gitrepo import open_git_reference

        return open_git_reference(reference, project_root=project_root, hub_id=hub_id)
    folder = Path(reference)
    if not folder.is_absolute():
        folder = project_root / folder
    try:
        is_dir, exists = folder.is_dir(), folder.exists()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise ResolveError(f"not a usable path: {exc.strerror}", file=reference[:200]) from None
    if is_dir:
        return open_folder(folder, project_root=project_root, hub_id=hub_id)
    if exists:
        raise ResolveError("not a folder", file=reference)
    from modelcards.resolve.hfcache import parse_hub_reference

    parsed = parse_hub_reference(reference)
    if parsed is None:
        raise ResolveError(
            f"no such folder (looked for {folder}); a reference is a folder, git:REF:PATH "
            "or a Hub id (org/name or a legacy id like gpt2, optionally @revision)",
            file=reference,
        )
    repo_id, revision = parsed
    return open_hub_id(
        repo_id, revision, hub_id=hub_id, online=online, also_tried=f"no folder {folder}"
    )


def open_hub_id(
    repo_id: str,
    revision: str | None = None,
    *,
    hub_id: str | None = None,
    online: bool = False,
    also_tried: str | None = None,
    lock: LockFile | None = None,
) -> Snapshot:
    """A Hub model: its `lock` entry for this revision first (pinned, offline), then the
    Hugging Face cache, then the Hub itself when `online` is allowed."""
    if lock is not None:
        from modelcards.resolve.lock import locked_snapshot

        locked = locked_snapshot(lock, repo_id, revision, hub_id=hub_id)
        if locked is not None:
            return locked
    from modelcards.resolve.hfcache import CacheMiss, hub_offline, open_hf_cache
    from modelcards.resolve.hub import HubSnapshot

    label = f"{repo_id}@{revision}" if revision else repo_id
    try:
        return open_hf_cache(repo_id, revision, hub_id=hub_id)
    except CacheMiss as miss:
        cache_reason = miss.reason
    tried = f"{also_tried}; " if also_tried else ""
    if online and not hub_offline():
        try:
            return HubSnapshot(repo_id, revision, hub_id=hub_id)
        except ResolveError as exc:
            raise ResolveError(f"{tried}{cache_reason}; {exc.reason}", file=label) from None
    if online:
        raise ResolveError(
            f"{tried}{cache_reason}; HF_HUB_OFFLINE is set, so the Hub was not asked", file=label
        )
    raise ResolveError(
        f"{tried}{cache_reason}; pass --online to fetch metadata from the Hub", file=label
    )


def resolve_base(
    path: str | None,
    id: str | None,  # named like the config key
    revision: str | None,
    *,
    project_root: Path,
    online: bool = False,
    lock: LockFile | None = None,
) -> Snapshot:
    """The base model as the project config names it.

    `path` is where the files are (any reference: folder, git:REF:PATH, Hub id); `id` is the Hub
    id the card names as `base_model`; `revision` pins `id` when the files come from the Hub or
    its cache. With `path`, `revision` only records which upstream revision the vendored files
    are (the card states it); it does not change which files are read. A base given by `id`
    alone is read from its `lock` entry (modelcards.lock) when it has one for `revision`.
    """
    if id is not None and not is_hub_repo_id(id):
        raise ResolveError(
            "base id must be a Hub id like org/name or gpt2 (put a revision in `revision`)",
            file=id,
        )
    if path:
        return resolve_reference(path, project_root=project_root, hub_id=id, online=online)
    if id is None:
        raise ResolveError("base: give `path` (where the files are) or `id` (a Hub id)")
    from modelcards.resolve.hfcache import check_revision

    if revision is not None:
        check_revision(revision, reference=f"{id}@{revision}")
    return open_hub_id(id, revision, hub_id=id, online=online, lock=lock)
