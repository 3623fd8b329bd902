"""resolve: turn a reference (folder, git revision, Hub id) into a `Snapshot`."""

from __future__ import annotations

from pathlib import Path

from modelcards.errors import ResolveError
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import FileEntry, Snapshot, SourceRef

__all__ = [
    "FileEntry",
    "LocalSnapshot",
    "Snapshot",
    "SourceRef",
    "open_folder",
    "resolve_reference",
]


def open_folder(
    folder: Path, *, project_root: Path | None = None, hub_id: str | None = None
) -> Snapshot:
    """A local model folder; its location is recorded relative to the project root when inside it."""
    location = str(folder)
    if project_root is not None:
        try:
            location = folder.resolve().relative_to(project_root.resolve()).as_posix() or "."
        except ValueError:
            location = str(folder)
    return LocalSnapshot(folder, SourceRef(kind="path", location=location, hub_id=hub_id))


def resolve_reference(reference: str, *, project_root: Path, hub_id: str | None = None) -> Snapshot:
    """Resolve what a user wrote as a model reference.

    Today: a local folder (relative to `project_root`). A reference that is not a folder is
    reported as such, naming what was looked for.
    """
    folder = Path(reference)
    if not folder.is_absolute():
        folder = project_root / folder
    if folder.is_dir():
        return open_folder(folder, project_root=project_root, hub_id=hub_id)
    if folder.exists():
        raise ResolveError("not a folder", file=reference)
    raise ResolveError(f"no such folder (looked for {folder})", file=reference)
