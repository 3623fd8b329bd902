"""The git log of a model's folder, grouped like a software change log.

`ProjectGit` asks git a fixed number of questions for the whole project — one `git log` with
files and parents (NUL-separated and checked against `git rev-list`, so no subject can forge a
record), one listing of tags, one tree listing and one index listing (`worktree.py`: what
changed is decided without `git status`, which would run a repository's filters) — and answers
every model from them, so a project of 100 models and thousands of commits costs a few git
calls, not a few per model. Nothing a repository's config names runs. Commits that touch
nothing but the files `build` writes never enter the log, so committing the output of `build`
never makes a card stale.

A committed card never depends on the commit that contains it, nor on refs made after it. The
card's *carrier* is the newest commit that wrote the model's card.json (build alone writes
it). When nothing of the model changed since (no later commit, nothing pending in the work
tree), the card is the carrier's, and its history stops before the carrier: the carrier's own
change to the model's files is listed as pending (by file), exactly as build saw it in the
work tree before that commit, and a tag on the carrier (the release commit) is not yet a
release. Otherwise the card will be carried by a commit still to come: its history runs to
HEAD, and what the work tree changes is pending. A later rebuild lists the carrier as the
commit it is.
"""

from __future__ import annotations

import bisect
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from modelcards.history.sorted_paths import folders_of, matching, under
from modelcards.history.worktree import WorkTreeChanges, work_tree_changes
from modelcards.inspect import CARD_OUTPUTS
from modelcards.resolve.gitcli import GitCli, Started, open_git_cli, resolve_commit
from modelcards.resolve.snapshot import (
    MAX_LFS_POINTER_BYTES,
    parse_lfs_pointer,
    undecodable_name,
)
from modelcards.safeio.errors import ResolveError
from modelcards.safeio.textfile import real_path

# what build and `sign` write beside a model: no change to the model itself
GENERATED_NAMES = CARD_OUTPUTS
_matching = matching  # the name tests/test_check_scale_paths.py compares with fnmatch
CARD_JSON = "card.json"
CONVENTIONAL = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?(?P<breaking>!)?:\s*(?P<text>.+)$")
GROUPS = {
    "feat": "Features", "fix": "Fixes", "data": "Data", "train": "Training", "eval": "Evaluation",
    "tokenizer": "Tokenizer", "safety": "Safety", "perf": "Performance", "docs": "Documentation",
    "refactor": "Refactoring", "chore": "Maintenance", "build": "Maintenance", "ci": "Maintenance",
}  # fmt: skip
OTHER = "Other changes"
GROUP_ORDER = (*dict.fromkeys(GROUPS.values()), OTHER)  # the change log's order of sections


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # ISO 8601 from the commit, never the clock
    author: str
    subject: str
    group: str
    text: str  # the subject without its conventional prefix
    breaking: bool


@dataclass(frozen=True)
class Release:
    tag: str | None  # None for the unreleased part
    date: str | None
    commit: str | None
    commits: tuple[Commit, ...]

    def groups(self) -> dict[str, list[Commit]]:
        result: dict[str, list[Commit]] = {}
        for commit in self.commits:
            result.setdefault(commit.group, []).append(commit)
        return {name: result[name] for name in GROUP_ORDER if name in result}


@dataclass(frozen=True)
class History:
    repository: str | None  # remote URL with any credentials removed
    in_git: bool  # False outside a git repository
    # the newest commit that changed the model's own files (not HEAD: committing the output of
    # build must not make the card name a new commit and so go stale)
    last_commit: str | None
    releases: tuple[Release, ...]  # unreleased first, then newest release first
    # the model's files changed in the commit that carries the card (or, before it is made, in
    # the work tree), which the card describes but whose commit it cannot name
    pending: tuple[str, ...] = ()

    @property
    def commits(self) -> tuple[Commit, ...]:
        return tuple(c for r in self.releases for c in r.commits)


EMPTY = History(repository=None, in_git=False, last_commit=None, releases=())


@dataclass(frozen=True)
class _LoggedCommit:
    commit: Commit
    parents: tuple[str, ...]
    files: tuple[str, ...]  # relative to the repository's top, sorted (see `_under`)


def strip_credentials(url: str) -> str:
    """A remote URL fit to publish: no user, password or token."""
    parts = urlsplit(url)
    if parts.scheme and parts.hostname:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return url


def _commit(sha: str, date: str, author: str, subject: str) -> Commit:
    match = CONVENTIONAL.match(subject)
    group = GROUPS.get(match.group("type"), OTHER) if match else OTHER
    return Commit(
        sha=sha,
        date=date,
        author=author,
        subject=subject,
        group=group,
        text=match.group("text") if match and group != OTHER else subject,
        breaking=bool(match and match.group("breaking")),
    )


_FIELDS = 5  # sha, parents, date, author, subject
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def _parse_log(out: str, expected: list[str]) -> list[_LoggedCommit]:
    """`git log -z` records: an empty field, five fields, then the changed files (a file name is
    never empty, so the empty field can only start a record). The shas must be `expected`
    (`git rev-list` of the same head) in order: anything else is output we do not trust."""
    fields = out.split("\0")
    commits: list[_LoggedCommit] = []
    at = 0
    while at < len(fields) and fields[at] == "":
        header = fields[at + 1 : at + 1 + _FIELDS]
        at += 1 + _FIELDS
        names: list[str] = []
        while at < len(fields) and fields[at] != "":
            name = fields[at][1:] if not names and fields[at].startswith("\n") else fields[at]
            names.append(undecodable_name(name) or name)
            at += 1
        if len(header) < _FIELDS:
            break
        sha, parents, date, author, subject = header
        if not _SHA.fullmatch(sha) or not all(_SHA.fullmatch(p) for p in parents.split()):
            break
        commits.append(_LoggedCommit(
            _commit(sha, date, author, subject), tuple(parents.split()), tuple(sorted(names))
        ))  # fmt: skip
    if [c.commit.sha for c in commits] != expected:
        raise ResolveError("git log output does not match git rev-list; history not read")
    return commits


class ProjectGit:
    """What git knows about the project at one revision, read once and shared by every model."""

    def __init__(self, project_root: Path, rev: str = "HEAD") -> None:
        self.project_root = project_root.resolve()
        self.rev = rev
        self.repo: GitCli | None = None  # plain git: GitPython only for a revision's files
        self.head: str | None = None
        try:
            self.repo = open_git_cli(project_root)
        except ResolveError:
            if rev != "HEAD":
                raise  # a revision was asked for: without git there is none
        if self.repo is not None:
            try:
                self.head = resolve_commit(self.repo, rev)
            except ResolveError:
                if rev != "HEAD":
                    raise  # `build --at nosuchtag` is an error, not an empty build
                # a repository without commits yet
        self.top = Path(self.repo.working_tree_dir or project_root).resolve() if self.repo else None
        self._log: list[_LoggedCommit] | None = None
        self._by_path: dict[str, list[int]] | None = None  # file or folder → log indices
        # the same, counting only files build does not write (a commit of cards alone is no change)
        self._by_path_source: dict[str, list[int]] | None = None
        self._remote: tuple[str | None] | None = None
        self._all_tags: list[tuple[str, str, str]] | None = None
        self._tag_names: list[str] | None = None  # sorted
        self._release_of: dict[tuple[str, ...], dict[str, str]] = {}
        self._tree: list[tuple[str, str]] | None = None  # (path, blob) of small blobs, sorted
        self._changed: list[str] | None = None  # work-tree paths that differ from HEAD
        self._status: WorkTreeChanges | None = None
        self._ancestors: dict[str, frozenset[str]] = {}
        self._relatives: dict[str, str] = {}  # project path → path from the top
        self._started: dict[tuple[str, ...], Started] = {}  # `ask_ahead`'s, by their arguments
        self.shallow = self.repo is not None and (Path(self.repo.common_dir) / "shallow").exists()

    # -- the few git calls ------------------------------------------------------------------

    def log(self) -> list[_LoggedCommit]:
        """Every commit reachable from `rev`, newest first, with parents and changed files."""
        if self._log is None:
            self._log = []
            if self.repo is not None and self.head is not None:
                log, rev_list = self._questions()[:2]
                self._log = _parse_log(self._answer(log), self._answer(rev_list).split())
        return self._log

    def _questions(self) -> tuple[tuple[str, ...], ...]:
        """The log, the list of its commits and the tags: what every model's history needs."""
        assert self.head is not None
        # -z: NUL ends every field, so no subject or name can forge a record; a rename is both
        # paths, as in the work tree's status
        log = ("log", "-z", "--format=%x00%H%x00%P%x00%cI%x00%an%x00%s", "--name-only",
               "--no-renames", self.head)  # fmt: skip
        tags = ("for-each-ref", "--sort=creatordate", "--format=%(refname:short)%1f"
                "%(*objectname)%1f%(objectname)%1f%(creatordate:iso-strict)", "refs/tags")  # fmt: skip
        return log, ("rev-list", self.head), tags

    def ask_ahead(self) -> None:
        """Start the log, its commit list and the tag listing now, for a caller that will need
        every model's history (`check`): git answers while the work tree is compared."""
        if self.repo is not None and self.head is not None and not self._started:
            self._started = {args: self.repo.git.start(*args) for args in self._questions()}

    def _answer(self, args: tuple[str, ...]) -> str:
        started = self._started.pop(args, None)
        assert self.repo is not None
        return started.result() if started is not None else self.repo.git.run(*args)

    def tags(self, patterns: tuple[str, ...]) -> list[tuple[str, str, str]]:
        """(tag, commit, date) for tags matching a pattern and reachable from `rev`, oldest first."""
        if self._all_tags is None:
            self._all_tags = []
            if self.repo is not None and self.head is not None:
                out = self._answer(self._questions()[2])
                reachable = {c.commit.sha for c in self.log()}
                for line in out.splitlines():
                    name, peeled, obj, date = line.split("\x1f")
                    if (peeled or obj) in reachable:
                        self._all_tags.append((name, peeled or obj, date))
        if self._tag_names is None:
            self._tag_names = sorted(t[0] for t in self._all_tags)
        matched = {name for pattern in patterns for name in matching(self._tag_names, pattern)}
        return [t for t in self._all_tags if t[0] in matched]

    def remote(self) -> str | None:
        if self._remote is None:  # read once: the same for every model
            url = None
            if self.repo is not None:
                remotes = {r.name: r for r in self.repo.remotes}
                remote = remotes.get("origin") or next(iter(remotes.values()), None)
                urls = list(remote.urls) if remote is not None else []
                url = strip_credentials(urls[0]) if urls else None
            self._remote = (url,)
        return self._remote[0]

    # -- answers for one model ----------------------------------------------------------------

    def _relative(self, path: str) -> str:
        assert self.top is not None
        if path not in self._relatives:  # the site folders are asked for by every model
            rel = real_path(self.project_root / path).relative_to(self.top).as_posix()
            self._relatives[path] = "" if rel == "." else rel
        return self._relatives[path]

    def _touches(self, paths: list[str], *, sources_only: bool = False) -> list[_LoggedCommit]:
        """Commits that changed a file at or under one of `paths`, newest first (indexed once);
        with `sources_only`, a file other than those build writes (README.md, CHANGES.md, …)."""
        log = self.log()
        if self._by_path is None or self._by_path_source is None:
            self._by_path, self._by_path_source = {}, {}
            for index, logged in enumerate(log):
                keys, source_keys = {""}, set[str]()
                for name in logged.files:
                    keys.add(name)
                    folder, _, base = name.rpartition("/")
                    if base not in GENERATED_NAMES:
                        source_keys.update(("", name))
                        source_keys.update(folders_of(folder, source_keys))
                    keys.update(folders_of(folder, keys))
                for key in keys:
                    self._by_path.setdefault(key, []).append(index)
                for key in source_keys:
                    self._by_path_source.setdefault(key, []).append(index)
        index_by_path = self._by_path_source if sources_only else self._by_path
        hits = sorted({i for p in paths for i in index_by_path.get(p.rstrip("/"), [])})
        return [log[i] for i in hits]

    def _releases_by_commit(self, tags: list[tuple[str, str, str]]) -> dict[str, str]:
        """commit → the oldest of `tags` that contains it (walking parents in memory)."""
        key = tuple(t[0] for t in tags)
        if key not in self._release_of:
            parents = {c.commit.sha: c.parents for c in self.log()}
            release_of: dict[str, str] = {}
            for name, sha, _date in tags:  # oldest first: a commit joins the first tag holding it
                stack = [sha]
                while stack:
                    current = stack.pop()
                    if current in release_of or current not in parents:
                        continue
                    release_of[current] = name
                    stack.extend(parents[current])
            self._release_of[key] = release_of
        return self._release_of[key]

    def require_full_history(self) -> None:
        """A shallow clone lacks the commits a card's history is made of: say how to get them,
        rather than call every card stale."""
        if self.shallow:
            raise ResolveError(
                "history is shallow: fetch full history (git fetch --unshallow; in GitHub "
                "Actions, actions/checkout with fetch-depth: 0)",
                file=str(self.top or self.project_root),
            )

    def changed_in_work_tree(self) -> list[str]:
        """Paths (from the repository's top) that differ from HEAD: changed, added, deleted,
        untracked. Empty when reading a past revision: that tree is what it is."""
        if self._changed is None:
            self._changed = []
            if self.repo is not None and self.head is not None and self.rev == "HEAD":
                changes = self.work_tree()
                changed = changes.tracked | changes.untracked
                self._changed = sorted({undecodable_name(p) or p for p in changed})
        return self._changed

    def work_tree(self) -> WorkTreeChanges:
        assert self.repo is not None and self.head is not None
        if self._status is None:
            self._status = work_tree_changes(self.repo, self.head)
        return self._status

    def _ancestors_of(self, sha: str) -> frozenset[str]:
        """Every commit reachable from `sha`'s parents (not `sha` itself), from the log."""
        if sha not in self._ancestors:
            parents = {c.commit.sha: c.parents for c in self.log()}
            seen: set[str] = set()
            stack = list(parents.get(sha, ()))
            while stack:
                current = stack.pop()
                if current not in seen and current in parents:
                    seen.add(current)
                    stack.extend(parents[current])
            self._ancestors[sha] = frozenset(seen)
        return self._ancestors[sha]

    def history(
        self,
        model_path: str,
        *,
        tag_patterns: tuple[str, ...] = (),
        extra_paths: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
    ) -> History:
        """The model's commits, split into releases by the tags that hold them, up to the
        commit that carries the card (see the module docstring). Files under `exclude` (the
        site build writes, when the model's folder holds it) are no change to the model."""
        if self.repo is None:
            return EMPTY
        paths = [self._relative(model_path), *(self._relative(p) for p in extra_paths)]
        skip = tuple(self._relative(p).rstrip("/") + "/" for p in exclude)
        sources = [
            c
            for c in self._touches(paths, sources_only=True)
            if not skip or self._source_files(c.files, paths, skip)
        ]
        folder = paths[0]
        # card.json is written by build alone (a README may be the author's, from before)
        carriers = self._touches([f"{folder}/{CARD_JSON}" if folder else CARD_JSON])
        pending = self._source_files(self.changed_in_work_tree(), paths, skip)
        described = sources
        tags_before: frozenset[str] | None = None  # the card is the carrier's: tags before it
        if carriers and not pending:
            carrier = carriers[0]
            before = self._ancestors_of(carrier.commit.sha)
            if all(c.commit.sha in before or c is carrier for c in sources):
                described = [c for c in sources if c.commit.sha in before]
                pending = (
                    self._source_files(carrier.files, paths, skip) if carrier in sources else []
                )
                tags_before = before
        commits = [c.commit for c in described]
        tags = self.tags(tag_patterns or (f"{Path(model_path).name}/v*", "v*"))
        if tags_before is not None:
            # a tag on the carrier: a release still to come
            tags = [t for t in tags if t[1] in tags_before]
        release_of = self._releases_by_commit(tags)
        grouped: dict[str | None, list[Commit]] = {}  # in one pass: a model has few commits
        for commit in commits:
            grouped.setdefault(release_of.get(commit.sha), []).append(commit)
        releases = [Release(None, None, None, tuple(grouped[None]))] if None in grouped else []
        releases += [  # a tag holding no change is no release
            Release(name, date, sha, tuple(grouped[name]))
            for name, sha, date in reversed(tags)
            if name in grouped
        ]
        last = commits[0].sha if commits else None
        return History(self.remote(), True, last, tuple(releases), tuple(pending))

    @staticmethod
    def _source_files(
        changed: list[str] | tuple[str, ...], paths: list[str], skip: tuple[str, ...] = ()
    ) -> list[str]:
        """The files among `changed` (sorted) at or under `paths` that build does not write."""
        return sorted(
            name
            for name in under(changed, paths)
            if name.split("/")[-1] not in GENERATED_NAMES and not name.startswith(skip)
        )

    def last_commit(self, paths: tuple[str, ...]) -> str | None:
        """The newest commit that touched any of `paths` (e.g. the training code)."""
        if self.repo is None or not paths:
            return None
        touched = self._touches([self._relative(p) for p in paths])
        return touched[0].commit.sha if touched else None

    def clean_lfs_oids(self, folder: Path) -> dict[str, str]:
        """sha256 of the Git-LFS files under `folder` that git reports clean, by path in `folder`.

        A tracked LFS file's blob is its pointer, whose oid is the sha256 of the content: when
        the work-tree file is unchanged, that is its hash, and no byte of it is read.
        """
        if self.repo is None or self.head is None or self.rev != "HEAD":
            return {}
        if self._tree is None:
            listing = self.repo.git.ls_tree("-r", "-l", "-z", self.head)
            dirty = self.work_tree().tracked
            self._tree = []
            for record in listing.split("\0"):
                meta, _, path = record.partition("\t")
                fields = meta.split()
                if (
                    len(fields) == 4
                    and fields[1] == "blob"
                    and fields[3].isdigit()
                    and int(fields[3]) <= MAX_LFS_POINTER_BYTES
                    and path not in dirty
                ):
                    self._tree.append((path, fields[2]))
            self._tree.sort()
        try:
            rel = real_path(folder).relative_to(self.top or folder).as_posix()
        except ValueError:
            return {}
        prefix = "" if rel == "." else rel + "/"
        oids: dict[str, str] = {}
        top = str(self.top or folder)
        at = bisect.bisect_left(self._tree, (prefix, ""))
        while at < len(self._tree) and self._tree[at][0].startswith(prefix):
            path, blob = self._tree[at]  # sorted: the folder's files are one run
            at += 1
            try:
                info = os.stat(os.path.join(top, path))
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size <= MAX_LFS_POINTER_BYTES:
                continue  # not smudged: the snapshot reads the pointer itself
            pointer = parse_lfs_pointer(self.repo.small_blob(blob, MAX_LFS_POINTER_BYTES))
            if pointer is not None and info.st_size == pointer.size:
                oids[path[len(prefix) :]] = pointer.oid
        return oids
