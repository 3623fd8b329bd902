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

from git import InvalidGitRepositoryError, NoSuchPathError, Repo

GENERATED_NAMES = frozenset({"README.md", "CHANGES.md", "card.json"})
CONVENTIONAL = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?(?P<breaking>!)?:\s*(?P<text>.+)$")
GROUPS = {
    "feat": "Features", "fix": "Fixes", "data": "Data", "train": "Training", "eval": "Evaluation",
    "tokenizer": "Tokenizer", "safety": "Safety", "perf": "Performance", "docs": "Documentation",
    "refactor": "Refactoring", "chore": "Maintenance", "build": "Maintenance", "ci": "Maintenance",
}  # fmt: skip
OTHER = "Other changes"
SAFE_GIT_CONFIG = ("core.hooksPath=/dev/null", "core.fsmonitor=false")


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
    head: str | None
    releases: tuple[Release, ...]  # unreleased first, then newest release first

    @property
    def commits(self) -> tuple[Commit, ...]:
        return tuple(c for r in self.releases for c in r.commits)


EMPTY = History(repository=None, head=None, releases=())


def open_repo(path: Path) -> Repo | None:
    """The repository holding `path`, with hooks and fsmonitor disabled for every git call."""
    try:
        repo = Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    env = {"GIT_CONFIG_COUNT": str(len(SAFE_GIT_CONFIG))}
    for i, item in enumerate(SAFE_GIT_CONFIG):
        key, value = item.split("=", 1)
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    repo.git.update_environment(**env)
    return repo


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


class HistoryReader:
    """Reads the history of many models of one project with one repository handle.

    The repository is opened once and the tag list read once (one git call), instead of once per
    model: with a thousand models that is most of the history's cost. Use one reader per build,
    so tags made later are seen by the next build.
    """

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root
        self.repo = open_repo(project_root)
        self._tag_lines: list[str] | None = None

    def tag_lines(self) -> list[str]:
        if self._tag_lines is None:
            assert self.repo is not None
            self._tag_lines = self.repo.git.for_each_ref(
                "--sort=refname",
                "--format=%(refname:short)%1f%(*objectname)%1f%(objectname)%1f"
                "%(creatordate:iso-strict)",
                "refs/tags",
            ).splitlines()
        return self._tag_lines

    def read(self, model_path: str, *, tag_patterns: tuple[str, ...] = ()) -> History:
        return read_history(self.project_root, model_path, tag_patterns=tag_patterns, reader=self)


def _tags(
    repo: Repo, patterns: tuple[str, ...], reader: HistoryReader | None = None
) -> dict[str, tuple[str, str]]:
    """commit sha -> (tag, date) for tags matching a pattern; one git call."""
    if reader is not None:
        lines = reader.tag_lines()
    else:
        lines = repo.git.for_each_ref(
            "--sort=refname",
            "--format=%(refname:short)%1f%(*objectname)%1f%(objectname)%1f"
            "%(creatordate:iso-strict)",
            "refs/tags",
        ).splitlines()
    tags: dict[str, tuple[str, str]] = {}
    for line in lines:
        name, peeled, obj, date = line.split("\x1f")
        if any(fnmatch(name, p) for p in patterns):
            tags.setdefault(peeled or obj, (name, date))
    return tags


def read_history(
    project_root: Path,
    model_path: str,
    *,
    tag_patterns: tuple[str, ...] = (),
    reader: HistoryReader | None = None,
) -> History:
    """Commits touching `model_path` (relative to the project root), split into releases by tag.

    One `git log` call for the commits and their files, one for the tags: no per-commit queries.
    """
    repo = reader.repo if reader is not None else open_repo(project_root)
    if repo is None:
        return EMPTY
    try:
        head = repo.head.commit.hexsha
    except ValueError:  # no commits yet
        return History(repository=_remote(repo), head=None, releases=())
    top = Path(repo.working_tree_dir or project_root).resolve()
    rel = (project_root.resolve() / model_path).resolve().relative_to(top).as_posix()
    rel = "" if rel == "." else rel
    patterns = tag_patterns or (f"{Path(model_path).name}/v*", "v*")
    tags = _tags(repo, patterns, reader)
    log = repo.git.log(
        "--format=%x1e%H%x1f%cI%x1f%an%x1f%s", "--name-only", "HEAD", "--", rel or "."
    )
    releases: list[Release] = []
    current: list[Commit] = []
    current_tag: tuple[str | None, str | None, str | None] = (None, None, None)
    for record in log.split("\x1e")[1:]:
        header, _, names = record.partition("\n")
        sha, date, author, subject = header.split("\x1f", 3)
        if sha in tags:
            releases.append(Release(*current_tag, commits=tuple(current)))
            current = []
            current_tag = (tags[sha][0], tags[sha][1], sha)
        files = [n for n in names.splitlines() if n.strip()]
        if files and all(Path(n).name in GENERATED_NAMES for n in files):
            continue
        current.append(_commit(sha, date, author, subject))
    releases.append(Release(*current_tag, commits=tuple(current)))
    return History(
        repository=_remote(repo),
        head=head,
        releases=tuple(r for r in releases if r.commits or r.tag),
    )


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
