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

from modelcards.errors import ResolveError
from modelcards.resolve.gitrepo import GIT_PREFIX, GitSnapshot, open_git_reference
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import FileEntry, Snapshot, SourceRef

__all__ = [
    "FileEntry",
    "GitSnapshot",
    "LocalSnapshot",
    "Snapshot",
    "SourceRef",
    "open_folder",
    "open_git_reference",
    "resolve_reference",
]


def open_folder(
    folder: Path, *, project_root: Path | None = None, hub_id: str | None = None
) -> Snapshot:
    """A local model folder; its location is recorded relative to the project root if inside."""
    location = str(folder)
    if project_root is not None:
        try:
            location = folder.resolve().relative_to(project_root.resolve()).as_posix() or "."
        except ValueError:
            location = str(folder)
    return LocalSnapshot(folder, SourceRef(kind="path", location=location, hub_id=hub_id))


def resolve_reference(
    reference: str, *, project_root: Path, hub_id: str | None = None
) -> Snapshot:
    """Resolve what a user wrote as a model reference."""
    if reference.startswith(GIT_PREFIX):
        return open_git_reference(reference, project_root=project_root, hub_id=hub_id)
    folder = Path(reference)
    if not folder.is_absolute():
        folder = project_root / folder
    if folder.is_dir():
        return open_folder(folder, project_root=project_root, hub_id=hub_id)
    if folder.exists():
        raise ResolveError("not a folder", file=reference)
    raise ResolveError(f"no such folder (looked for {folder})", file=reference)
