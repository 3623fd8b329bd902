"""What git already knows about files in the work tree, asked in a few batched calls."""

from __future__ import annotations

from pathlib import Path

from git.exc import GitCommandError

from modelcards.errors import ResolveError
from modelcards.resolve.gitrepo import open_git_repository
from modelcards.resolve.snapshot import MAX_LFS_POINTER_BYTES, parse_lfs_pointer


def clean_lfs_oids(project_root: Path, folder: Path) -> dict[str, str]:
    """sha256 of the Git-LFS files under `folder` that git reports clean, keyed by path in `folder`.

    A tracked LFS file's blob is its pointer, whose oid is the sha256 of the content: when the
    work-tree file is unchanged, that is its hash, with no byte of the (large) file read.
    """
    try:
        repo = open_git_repository(project_root)
        top = Path(repo.working_tree_dir or project_root).resolve()
        rel = folder.resolve().relative_to(top).as_posix()
        listing = repo.git.ls_tree("-r", "-l", "-z", "HEAD", "--", rel or ".")
        dirty_out = repo.git.status("--porcelain", "-z", "--untracked-files=no", "--", rel or ".")
    except (ResolveError, GitCommandError, ValueError):
        return {}
    dirty = {item[3:] for item in dirty_out.split("\0") if len(item) > 3}
    prefix = f"{rel}/" if rel and rel != "." else ""
    oids: dict[str, str] = {}
    for record in listing.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if len(fields) != 4 or fields[1] != "blob" or not fields[3].isdigit():
            continue
        if int(fields[3]) > MAX_LFS_POINTER_BYTES or path in dirty or not path.startswith(prefix):
            continue
        pointer = parse_lfs_pointer(repo.odb.stream(bytes.fromhex(fields[2])).read())
        local = top / path
        if pointer is not None and local.is_file() and local.stat().st_size == pointer.size:
            oids[path[len(prefix) :]] = pointer.oid
    repo.close()
    return oids
