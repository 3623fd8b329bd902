"""history: the git log of a model's folder, grouped like a software change log.

Git is read through GitPython with hooks and fsmonitor disabled; only commit metadata is read.
Commits that touch nothing but the files `build` writes never enter the log, so committing the
output of `build` never makes a card stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from git import Repo
from git.exc import BadName, GitCommandError

from modelcards.errors import ResolveError
from modelcards.resolve.gitrepo import open_git_repository

GENERATED_NAMES = frozenset({"README.md", "CHANGES.md", "card.json"})
CONVENTIONAL = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?(?P<breaking>!)?:\s*(?P<text>.+)$")
GROUPS = {
    "feat": "Features", "fix": "Fixes", "data": "Data", "train": "Training", "eval": "Evaluation",
    "tokenizer": "Tokenizer", "safety": "Safety", "perf": "Performance", "docs": "Documentation",
    "refactor": "Refactoring", "chore": "Maintenance", "build": "Maintenance", "ci": "Maintenance",
}  # fmt: skip
OTHER = "Other changes"


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
        order = [*dict.fromkeys(GROUPS.values()), OTHER]
        return {name: result[name] for name in order if name in result}


@dataclass(frozen=True)
class History:
    repository: str | None  # remote URL with any credentials removed
    in_git: bool  # False outside a git repository
    # the newest commit that changed the model's own files (not HEAD: committing the output of
    # build must not make the card name a new commit and so go stale)
    last_commit: str | None
    releases: tuple[Release, ...]  # unreleased first, then newest release first

    @property
    def commits(self) -> tuple[Commit, ...]:
        return tuple(c for r in self.releases for c in r.commits)


EMPTY = History(repository=None, in_git=False, last_commit=None, releases=())


def open_repo(path: Path) -> Repo | None:
    """The repository holding `path` (hooks and fsmonitor disabled), or None outside git."""
    try:
        return open_git_repository(path)
    except ResolveError:
        return None


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


def _tags(repo: Repo, patterns: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(tag, commit sha, date) for tags matching a pattern, oldest first; one git call."""
    out = repo.git.for_each_ref(
        "--sort=creatordate",
        "--format=%(refname:short)%1f%(*objectname)%1f%(objectname)%1f%(creatordate:iso-strict)",
        "refs/tags",
    )
    tags = []
    for line in out.splitlines():
        name, peeled, obj, date = line.split("\x1f")
        if any(fnmatch(name, p) for p in patterns):
            tags.append((name, peeled or obj, date))
    return tags


def read_history(
    project_root: Path,
    model_path: str,
    *,
    rev: str = "HEAD",
    tag_patterns: tuple[str, ...] = (),
    extra_paths: tuple[str, ...] = (),
) -> History:
    """Commits touching `model_path` up to `rev`, split into releases by the tags before it.

    A release holds the model's commits reachable from its tag and from no older tag, so a
    project-wide tag on a commit elsewhere still marks the model's release. One `git log` for
    the commits and their files, one call for the tags, one per tag for what it contains.
    """
    repo = open_repo(project_root)
    if repo is None:
        return EMPTY
    try:
        repo.commit(rev)
    except (ValueError, GitCommandError, BadName):  # no commits yet
        return History(repository=_remote(repo), in_git=True, last_commit=None, releases=())
    top = Path(repo.working_tree_dir or project_root).resolve()
    rel = (project_root.resolve() / model_path).resolve().relative_to(top).as_posix()
    rel = "." if rel in ("", ".") else rel
    paths = [rel, *(_relative(project_root, top, p) for p in extra_paths)]
    log = repo.git.log("--format=%x1e%H%x1f%cI%x1f%an%x1f%s", "--name-only", rev, "--", *paths)
    commits: list[Commit] = []
    for record in log.split("\x1e")[1:]:
        header, _, names = record.partition("\n")
        sha, date, author, subject = header.split("\x1f", 3)
        files = [n for n in names.splitlines() if n.strip()]
        if files and all(Path(n).name in GENERATED_NAMES for n in files):
            continue
        commits.append(_commit(sha, date, author, subject))
    patterns = tag_patterns or (f"{Path(model_path).name}/v*", "v*")
    release_of: dict[str, str] = {}
    head = repo.commit(rev)
    tags = [t for t in _tags(repo, patterns) if repo.is_ancestor(repo.commit(t[1]), head)]
    for name, sha, _date in tags:  # oldest first: a commit belongs to the first tag holding it
        for member in repo.git.rev_list(sha, "--", *paths).split():
            release_of.setdefault(member, name)
    releases = [Release(None, None, None, tuple(c for c in commits if c.sha not in release_of))]
    for name, sha, date in reversed(tags):
        mine = tuple(c for c in commits if release_of.get(c.sha) == name)
        releases.append(Release(name, date, sha, mine))
    return History(
        repository=_remote(repo),
        in_git=True,
        last_commit=commits[0].sha if commits else None,
        releases=tuple(r for r in releases if r.commits or r.tag),
    )


def last_commit(project_root: Path, paths: tuple[str, ...], *, rev: str = "HEAD") -> str | None:
    """The newest commit up to `rev` that touched any of `paths` (e.g. the training code)."""
    repo = open_repo(project_root)
    if repo is None or not paths:
        return None
    top = Path(repo.working_tree_dir or project_root).resolve()
    try:
        rels = [_relative(project_root, top, p) for p in paths]
        return repo.git.log("-1", "--format=%H", rev, "--", *rels).strip() or None
    except (GitCommandError, ValueError):
        return None


def _relative(project_root: Path, top: Path, path: str) -> str:
    return (project_root.resolve() / path).resolve().relative_to(top).as_posix()


def _remote(repo: Repo) -> str | None:
    try:
        remote = (
            repo.remotes["origin"] if "origin" in repo.remotes else next(iter(repo.remotes), None)
        )
    except (ValueError, IndexError):
        return None
    if remote is None:
        return None
    urls = list(remote.urls)
    return strip_credentials(urls[0]) if urls else None
