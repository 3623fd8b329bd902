"""What changed in a model's files from one release to the next, by the same diff engine.

Each release tag's files are read from git objects (no checkout) through the project's one
repository handle; weight files stored as Git-LFS pointers are compared by oid and size
without being fetched. A release without commits to the model is not read at all.
"""

from __future__ import annotations

from modelcards.compare import compare
from modelcards.compare.model import Change
from modelcards.errors import ModelcardsError
from modelcards.history import History, ProjectGit
from modelcards.inspect import ModelFacts, inspect_snapshot
from modelcards.resolve.gitrepo import GitSnapshot

ReleaseChanges = dict[str | None, tuple[Change, ...]]  # tag (None: unreleased) → changes


def _facts_at(git: ProjectGit, commit: str, model_path: str) -> ModelFacts | None:
    if git.repo is None:
        return None
    try:
        return inspect_snapshot(
            GitSnapshot(git.repo, commit, model_path, project_root=git.project_root)
        )
    except ModelcardsError:  # the model did not exist there yet, or its files were unreadable
        return None


def release_changes(
    git: ProjectGit, model_path: str, history: History, current: ModelFacts
) -> ReleaseChanges:
    """For each release with commits, the changes since the previous release."""
    releases = history.releases
    facts: dict[str, ModelFacts | None] = {}

    def facts_of(tag: str, commit: str) -> ModelFacts | None:
        if tag not in facts:
            facts[tag] = _facts_at(git, commit, model_path)
        return facts[tag]

    result: ReleaseChanges = {}
    for index, release in enumerate(releases):
        older = next((r for r in releases[index + 1 :] if r.tag and r.commit), None)
        if not release.commits or older is None or older.tag is None or older.commit is None:
            continue
        if release.tag is None:
            newer: ModelFacts | None = current
        elif release.commit is None:
            continue
        else:
            newer = facts_of(release.tag, release.commit)
        before = facts_of(older.tag, older.commit)
        if newer is not None and before is not None:
            result[release.tag] = compare(before, newer).changes
    return result
