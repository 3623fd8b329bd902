"""A model folder as it was at one revision of the project's git repository.

`git:REF:PATH` reads straight from the object store with GitPython: no checkout, no index, nothing
written to the work tree. Every git process runs with hooks, fsmonitor, signature checks and
external diffs switched off, and no command we call reads work-tree content through a filter
(`history/worktree.py` decides what changed without `git status`), so a repository's config (or a model
vendored into it) cannot make us run anything.

Blob reads are bounded. Small blobs come through the repository's shared `cat-file --batch`
process; a large blob is read by its own `git cat-file blob` process that is stopped as soon as the
bytes asked for have arrived (GitPython's shared stream drains a half-read object in a single
`read()`, which would pull a 10 GB blob into memory to return 8 bytes).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from modelcards.resolve import GIT_PREFIX
from modelcards.resolve.gitcli import commit_named, safe_git_environment
from modelcards.resolve.local import SKIPPED_DIRS
from modelcards.resolve.snapshot import (
    MAX_LFS_POINTER_BYTES,
    NOT_UTF8_NAME,
    FileEntry,
    Snapshot,
    SourceRef,
    parse_lfs_pointer,
    undecodable_name,
)
from modelcards.safeio.errors import ResolveError

SMALL_BLOB_BYTES = 4 * 1024 * 1024  # read whole through the shared cat-file process
MAX_SYMLINK_HOPS = 8
_CHUNK = 1024 * 1024
_MODE_TYPE_MASK = 0o170000
_MODE_SYMLINK = 0o120000


def parse_git_reference(reference: str) -> tuple[str, str]:
    """Split `git:REF:PATH` into (REF, PATH). PATH may be empty for the repository root."""
    if not reference.startswith(GIT_PREFIX):
        raise ResolveError("not a git reference (expected git:REF:PATH)", file=reference)
    ref, sep, path = reference[len(GIT_PREFIX) :].partition(":")
    if not sep or not ref:
        raise ResolveError("expected git:REF:PATH, e.g. git:HEAD~1:models/base", file=reference)
    return ref, path


def open_git_repository(project_root: Path) -> git.Repo:
    """The git repository holding `project_root`, with hooks and fsmonitor disabled."""
    try:
        repo = git.Repo(project_root, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise ResolveError(
            "not a git repository (or any parent folder)", file=str(project_root)
        ) from None
    repo.git.update_environment(**safe_git_environment())
    return repo


class GitSnapshot(Snapshot):
    """The files under one folder of one commit, read from git objects."""

    def __init__(
        self,
        repo: git.Repo,
        ref: str,
        path: str,
        *,
        project_root: Path | None = None,
        hub_id: str | None = None,
    ) -> None:
        self._repo = repo
        self.revision_text = ref
        self.commit_sha = resolve_commit(repo, ref)
        folder = _normalise_path(path, ref=ref)
        self.location = folder or "."
        tree_path = _tree_path(repo, folder, project_root)
        commit = repo.commit(self.commit_sha)
        try:
            tree = commit.tree / tree_path if tree_path else commit.tree
        except KeyError:
            raise ResolveError(
                f"no such folder in commit {self.commit_sha[:12]} ({ref})",
                file=self.location,
            ) from None
        if tree.type != "tree":
            raise ResolveError(
                f"is a file, not a folder, in commit {self.commit_sha[:12]} ({ref})",
                file=self.location,
            )
        self._tree = tree
        self.ref = SourceRef(
            kind="git", location=self.location, revision=self.commit_sha, hub_id=hub_id
        )
        self.skipped: list[tuple[str, str]] = []
        self._entries: tuple[FileEntry, ...] | None = None
        self._blobs: dict[str, tuple[str, int]] = {}  # path -> (hexsha, size)
        self._small_cache: tuple[str, bytes] | None = None

    def files(self) -> tuple[FileEntry, ...]:
        if self._entries is None:
            self._entries = tuple(sorted(self._walk(), key=lambda e: e.path))
        return self._entries

    def _read(self, path: str, offset: int, length: int) -> bytes:
        self.files()
        hexsha, size = self._blobs[path]
        if length <= 0 or offset >= size:
            return b""
        if size <= SMALL_BLOB_BYTES:
            return self._small_blob(hexsha)[offset : offset + length]
        return self._large_blob_range(hexsha, offset, length)

    def close(self) -> None:
        """Stop the git processes GitPython keeps for this repository."""
        self._small_cache = None
        self._repo.close()

    # -- reading objects ---------------------------------------------------------------------

    def _small_blob(self, hexsha: str) -> bytes:
        if self._small_cache is not None and self._small_cache[0] == hexsha:
            return self._small_cache[1]
        try:
            data = self._repo.odb.stream(bytes.fromhex(hexsha)).read()
        except (GitCommandError, ValueError, OSError) as exc:
            raise ResolveError(f"cannot read git object {hexsha}: {exc}") from None
        self._small_cache = (hexsha, data)
        return data

    def _large_blob_range(self, hexsha: str, offset: int, length: int) -> bytes:
        """Stream the blob through a dedicated process and stop it once we have the range."""
        try:
            handle: Any = self._repo.git.cat_file("blob", hexsha, as_process=True)
        except GitCommandError as exc:
            raise ResolveError(f"cannot read git object {hexsha}: {exc}") from None
        proc = handle.proc
        try:
            stdout = proc.stdout
            skip = offset
            while skip > 0:
                chunk = stdout.read(min(skip, _CHUNK))
                if not chunk:
                    return b""
                skip -= len(chunk)
            parts: list[bytes] = []
            wanted = length
            while wanted > 0:
                chunk = stdout.read(min(wanted, _CHUNK))
                if not chunk:
                    break
                parts.append(chunk)
                wanted -= len(chunk)
            return b"".join(parts)
        finally:
            if proc.poll() is None:
                proc.kill()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
            proc.wait()

    # -- listing -----------------------------------------------------------------------------

    def _walk(self) -> list[FileEntry]:
        items: dict[str, Any] = {}
        for rel, item in _iter_tree(self._tree, ""):
            items[rel] = item
        entries: list[FileEntry] = []
        for rel, item in items.items():
            shown = undecodable_name(rel)
            if shown is not None:
                self.skipped.append((shown, NOT_UTF8_NAME))
                continue
            if item.type == "commit":
                self.skipped.append((rel, "git submodule: not part of this tree"))
                continue
            target = item
            if item.mode & _MODE_TYPE_MASK == _MODE_SYMLINK:
                resolved = self._follow_symlink(rel, item, items)
                if resolved is None:
                    continue
                target = resolved
            entry = self._entry(rel, target)
            if entry is not None:
                entries.append(entry)
        return entries

    def _follow_symlink(self, rel: str, item: Any, items: dict[str, Any]) -> Any | None:
        """A symlink is followed only to a blob inside this snapshot folder (like LocalSnapshot)."""
        current_rel, current = rel, item
        for _ in range(MAX_SYMLINK_HOPS):
            link = self._small_blob(current.hexsha) if current.size <= 4096 else b""
            target = link.decode("utf-8", "replace")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(current_rel), target))
            if not link or target.startswith("/") or joined == ".." or joined.startswith("../"):
                self.skipped.append((rel, "symlink pointing outside the model folder"))
                return None
            nxt = items.get(joined)
            if nxt is None or nxt.type != "blob":
                self.skipped.append((rel, "symlink to something that is not a file in the folder"))
                return None
            if nxt.mode & _MODE_TYPE_MASK != _MODE_SYMLINK:
                return nxt
            current_rel, current = joined, nxt
        self.skipped.append((rel, "symlink chain too long"))
        return None

    def _entry(self, rel: str, blob: Any) -> FileEntry | None:
        try:
            hexsha, size = blob.hexsha, int(blob.size)
        except (GitCommandError, ValueError) as exc:
            self.skipped.append((rel, f"cannot read git object: {exc}"))
            return None
        self._blobs[rel] = (hexsha, size)
        if size <= MAX_LFS_POINTER_BYTES:
            pointer = parse_lfs_pointer(self._small_blob(hexsha))
            if pointer is not None:
                return FileEntry(
                    rel, pointer.size, sha256=pointer.oid, lfs_pointer=True, blob_id=hexsha
                )
        return FileEntry(rel, size, blob_id=hexsha)


def open_git_reference(
    reference: str, *, project_root: Path, hub_id: str | None = None
) -> GitSnapshot:
    """Resolve `git:REF:PATH` against the git repository holding `project_root`."""
    ref, path = parse_git_reference(reference)
    repo = open_git_repository(project_root)
    return GitSnapshot(repo, ref, path, project_root=project_root, hub_id=hub_id)


def _iter_tree(tree: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for item in tree:
        rel = f"{prefix}{item.name}"
        if item.type == "tree":
            if item.name not in SKIPPED_DIRS:
                yield from _iter_tree(item, rel + "/")
        else:
            yield rel, item


def resolve_commit(repo: git.Repo, ref: str) -> str:
    """The commit sha `ref` names; a ref is never read as an option (`--output=…`)."""
    return commit_named(ref, repo.git.rev_parse, str(repo.common_dir), (GitCommandError,))


def _normalise_path(path: str, *, ref: str) -> str:
    text = path.replace("\\", "/").strip()
    if text.startswith("/"):
        raise ResolveError(
            "the path in git:REF:PATH must be relative to the project root",
            file=f"git:{ref}:{path}",
        )
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if ".." in parts:
        raise ResolveError(
            "the path in git:REF:PATH must not contain '..'", file=f"git:{ref}:{path}"
        )
    return "/".join(parts)


def _tree_path(repo: git.Repo, folder: str, project_root: Path | None) -> str:
    """PATH is relative to the project root; the tree is addressed from the repository root."""
    if project_root is None or repo.working_tree_dir is None:
        return folder
    try:
        prefix = project_root.resolve().relative_to(Path(repo.working_tree_dir).resolve())
    except ValueError:
        return folder
    parts = [p for p in (prefix.as_posix(), folder) if p and p != "."]
    return "/".join(parts)
