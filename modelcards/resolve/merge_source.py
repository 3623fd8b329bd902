"""A merge source, as a mergekit config names it, resolved the way a base is — but offline and
inside the project only, because the name comes from a model file, not from the project's config.

In order: a folder at that path, relative to the merged model's folder (where the config lies)
or to the project root; else a Hub id (`org/name[@revision]`) from the local Hugging Face cache.
The Hub is never asked: a source's weights are gigabytes, and the check needs all of them.

A path whose real location (links resolved by the kernel) lies outside the project is not
opened: `OutsideProject` says so. An absolute path of the machine the merge ran on
(`/home/me/models/x`) is usual in mergekit configs and simply absent here; a relative path that
climbs out (`../../secret`), or a link in the folder that leads out, is refused by name.
"""

from __future__ import annotations

from pathlib import Path

from modelcards.resolve.hubid import is_hub_repo_id
from modelcards.resolve.snapshot import Snapshot, SourceRef
from modelcards.safeio.errors import ResolveError
from modelcards.safeio.textfile import real_path

__all__ = ["OutsideProject", "open_merge_source"]


class OutsideProject(ResolveError):
    """The source names a folder outside the project: not read."""


def open_merge_source(reference: str, *, model_folder: Path, project_root: Path) -> Snapshot:
    """The source's files; `ResolveError` (one line, the source named) when they are not here."""
    if "+" in reference:
        raise ResolveError(
            "a model with a LoRA applied (model+lora) is not compared", file=reference
        )
    if any(ord(c) < 32 for c in reference):
        raise ResolveError("not a usable path: it holds control characters", file=repr(reference))
    root = real_path(project_root)
    relative = not Path(reference).is_absolute()
    candidates = (
        [model_folder / reference, project_root / reference] if relative else [Path(reference)]
    )
    for candidate in candidates:
        try:
            real = real_path(candidate)
        except (OSError, ValueError) as exc:  # a name the file system refuses, a link loop
            why = getattr(exc, "strerror", None) or str(exc)
            raise ResolveError(f"not a usable path: {why}", file=reference) from None
        if not real.is_relative_to(root):
            if relative:
                raise OutsideProject("the path leads outside the project: not read", file=reference)
            continue
        if real == real_path(model_folder):
            raise ResolveError("names the merged model's own folder", file=reference)
        if real.is_dir():
            from modelcards.resolve.local import LocalSnapshot

            location = real.relative_to(root).as_posix() or "."
            return LocalSnapshot(real, SourceRef(kind="path", location=location))
        if real.exists():
            raise ResolveError("not a folder", file=reference)
    if not relative:
        raise ResolveError(
            "an absolute path outside the project (where the merge ran): not read",
            file=reference,
        )
    repo_id, _, revision = reference.partition("@")
    if not is_hub_repo_id(repo_id):
        raise ResolveError("no such folder in the project, and not a Hub id", file=reference)
    from modelcards.resolve.hfcache import CacheMiss, open_hf_cache

    try:
        return open_hf_cache(repo_id, revision or None, hub_id=repo_id)
    except CacheMiss:  # its reason names this machine's cache folder: not for a card
        raise ResolveError(
            "no such folder in the project, and not in the Hugging Face cache here (or only in "
            "part); the Hub is not asked for a merge source's weights",
            file=reference,
        ) from None
