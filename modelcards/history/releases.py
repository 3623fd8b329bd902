"""What changed in a model's files from one release to the next, by the same diff engine.

Each release tag's files are read from git objects (no checkout) through the project's one
repository handle; weight files stored as Git-LFS pointers are compared by oid and size
without being fetched. A release without commits to the model is not read at all.
"""

from __future__ import annotations

from modelcards.compare import compare
from modelcards.compare.model import Change
from modelcards.history.gitlog import History, ProjectGit, Release
from modelcards.inspect import ModelFacts, inspect_snapshot
from modelcards.resolve.gitrepo import GitSnapshot
from modelcards.safeio.errors import ModelcardsError

ReleaseChanges = dict[str | None, tuple[Change, ...]]  # tag (None: unreleased) → changes


def _facts_at(git: ProjectGit, commit: str, model_path: str) -> ModelFacts | None:
    if git.repo is None:
        return None
    try:
        return inspect_snapshot(  # GitPython reads the files at a revision
            GitSnapshot(git.repo.object_store(), commit, model_path, project_root=git.project_root)
        )
    except ModelcardsError:  # the model did not exist there yet, or its files were unreadable
        return None


def compared_releases(history: History) -> list[tuple[Release, Release]]:
    """(newer, older) for each release with commits that has a tagged release before it."""
    releases = history.releases
    pairs = []
    for index, release in enumerate(releases):
        older = next((r for r in releases[index + 1 :] if r.tag and r.commit), None)
        if release.commits and older is not None and (release.tag is None or release.commit):
            pairs.append((release, older))
    return pairs


def tag_facts(git: ProjectGit, model_path: str, history: History) -> dict[str, ModelFacts | None]:
    """The model's facts at each release tag `release_changes` compares, read from git.

    Apart from `release_changes` so that git is read in the build's main process only.
    """
    facts: dict[str, ModelFacts | None] = {}
    for newer, older in compared_releases(history):
        for release in (newer, older):
            if release.tag and release.commit and release.tag not in facts:
                facts[release.tag] = _facts_at(git, release.commit, model_path)
    return facts


def release_changes(
    history: History, current: ModelFacts, facts: dict[str, ModelFacts | None]
) -> ReleaseChanges:
    """For each release with commits, the changes since the previous release (`facts` from
    `tag_facts`; the unreleased part is compared as it is now, `current`)."""
    result: ReleaseChanges = {}
    for newer, older in compared_releases(history):
        after = current if newer.tag is None else facts[newer.tag]
        before = facts.get(older.tag) if older.tag else None
        if after is not None and before is not None:
            result[newer.tag] = compare(before, after).changes
    return result
