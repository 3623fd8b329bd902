"""Which work-tree files differ from HEAD, decided without running anything git is configured to run.

`git status` passes a file whose stat data changed through its clean filter (and a repository's
config names the filter command: `filter.x.clean = sh -c '…'`). So the comparison is ours: the
index is read in place (`git_index.py`; `ls-files --stage --debug` for a layout it leaves to git),
git compares it with HEAD's tree (`diff-index --cached`, ids only); a file whose stat
data matches its index entry (and is not racily clean) is unchanged, as git itself decides; any
other file is hashed here — as a git blob, or, when its blob is a Git-LFS pointer, with the
sha256 and size the LFS clean filter would have computed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from modelcards.history.git_index import IndexEntry, read_index
from modelcards.resolve.gitcli import GitCli
from modelcards.resolve.snapshot import MAX_LFS_POINTER_BYTES, parse_lfs_pointer
from modelcards.safeio.hashing import sha256_file

_BLOCK = 1024 * 1024
_GITLINK = 0o160000
_SYMLINK = 0o120000
_U32 = 0xFFFFFFFF
_WRAP_NS = (_U32 + 1) * 1_000_000_000  # a time the index's 32 bits of seconds hold as it is


@dataclass(frozen=True)
class WorkTreeChanges:
    tracked: frozenset[str]  # changed, staged, deleted or in conflict, from the top
    untracked: frozenset[str]  # not ignored
    # the blob id of every other tracked file: the work tree holds it as committed
    clean: Mapping[str, str] = field(default_factory=dict)


def _stamp(value: str) -> int:
    seconds, _, nanos = value.partition(":")
    return int(seconds) * 1_000_000_000 + int(nanos or 0)


def _stamp32(ns: int) -> int:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return (seconds & _U32) * 1_000_000_000 + nanos


def parse_ls_files_debug(out: str) -> dict[str, IndexEntry]:
    """`git ls-files --stage --debug -z`: `MODE BLOB STAGE\\tPATH\\0` then five indented lines of
    stat data (the path ends at the NUL, the stat lines at the next entry's mode)."""
    entries: dict[str, IndexEntry] = {}
    chunks = out.split("\0")
    header = chunks[0]
    for chunk in chunks[1:]:
        meta, _, path = header.partition("\t")
        lines = chunk.split("\n")
        debug = {}
        for line in lines[:5]:
            for pair in line.strip().split("\t"):
                key, _, value = pair.partition(": ")
                debug[key] = value
        fields = meta.split()
        if len(fields) == 3 and path:
            entries[path] = IndexEntry(
                mode=int(fields[0], 8),
                blob=fields[1],
                stage=int(fields[2]),
                ctime_ns=_stamp(debug.get("ctime", "0")),
                mtime_ns=_stamp(debug.get("mtime", "0")),
                inode=int(debug.get("ino", "0") or 0),
                size=int(debug.get("size", "0") or 0),
            )
        header = "\n".join(lines[5:])
    return entries


def _blob_id_of(data: bytes) -> str:
    """The git blob id of `data` (a symlink's target)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _blob_id_of_file(path: Path, size: int) -> str:
    """The git blob id of a work-tree file, as `git hash-object --no-filters` computes it."""
    digest = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class _Comparer:
    def __init__(self, repo: GitCli, top: Path) -> None:
        self.repo = repo
        self.top = top
        self._prefix = os.path.join(str(top), "")
        index_file = Path(repo.git_dir) / "index"
        self.index_mtime_ns = index_file.stat().st_mtime_ns if index_file.exists() else 0

    def _pointer(self, blob: str) -> tuple[str, int] | None:
        pointer = parse_lfs_pointer(self.repo.small_blob(blob, MAX_LFS_POINTER_BYTES))
        return (pointer.oid, pointer.size) if pointer is not None else None

    def differs(self, path: str, entry: IndexEntry) -> bool:
        mode = entry.mode
        if mode == _GITLINK:
            return False  # a submodule's own state is its repository's business
        local = self._prefix + path  # a string: 20,000 tracked files are compared
        try:
            info = os.lstat(local)
        except OSError:
            return True  # deleted (or unreadable: not what was committed)
        if mode == _SYMLINK:
            if not stat.S_ISLNK(info.st_mode):
                return True
            target = os.fsencode(os.readlink(local))
            return _blob_id_of(target) != entry.blob
        if not stat.S_ISREG(info.st_mode):
            return True
        if bool(info.st_mode & 0o111) != bool(mode & 0o111):
            return True
        # the index keeps 32 bits of size, seconds and inode, as git compares them
        mtime, ctime = info.st_mtime_ns, info.st_ctime_ns
        same_stat = (
            entry.size == info.st_size & _U32
            and entry.mtime_ns == (mtime if mtime < _WRAP_NS else _stamp32(mtime))
            and entry.ctime_ns == (ctime if ctime < _WRAP_NS else _stamp32(ctime))
            and entry.inode in (0, info.st_ino & _U32)
        )
        if same_stat and entry.mtime_ns < self.index_mtime_ns:  # and not racily clean
            return False
        pointer = self._pointer(entry.blob)
        if pointer is not None and info.st_size > MAX_LFS_POINTER_BYTES:
            # a smudged Git-LFS file: what its clean filter would compute
            return info.st_size != pointer[1] or sha256_file(Path(local)) != pointer[0]
        return _blob_id_of_file(Path(local), info.st_size) != entry.blob


def index_entries(repo: GitCli) -> dict[str, IndexEntry]:
    """The index, read in place when its layout is a plain one, else listed by git."""
    if "GIT_INDEX_FILE" not in os.environ:
        entries = read_index(os.path.join(repo.git_dir, "index"))
        if entries is not None:
            return entries
    return parse_ls_files_debug(repo.git.ls_files("--stage", "--debug", "-z"))


def work_tree_changes(repo: GitCli, head: str, *, untracked: bool = True) -> WorkTreeChanges:
    """What differs between HEAD, the index and the work tree, paths from the repository's top."""
    top = Path(repo.working_tree_dir or ".")
    # git's two walks run while the index is read and compared here
    listing = (
        repo.git.start("ls-files", "--others", "--exclude-standard", "-z") if untracked else None
    )
    # the index against HEAD's tree: git compares ids alone (no work-tree file is read)
    staged = repo.git.start(
        "diff-index", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff",
        "--no-textconv", head,
    )  # fmt: skip
    index = index_entries(repo)
    changed = {path for path in staged.result().split("\0") if path}
    comparer = _Comparer(repo, top)
    for path, entry in index.items():
        if entry.stage != 0 or path in changed or comparer.differs(path, entry):
            changed.add(path)
    others: set[str] = set()
    if listing is not None:
        others = {path for path in listing.result().split("\0") if path}
    clean = {path: entry.blob for path, entry in index.items() if path not in changed}
    return WorkTreeChanges(frozenset(changed), frozenset(others), clean)
