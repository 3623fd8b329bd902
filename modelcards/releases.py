"""What changed in a model's files from one release to the next, by the same diff engine.

Each release tag's files are read from git objects (no checkout); weight files stored as
Git-LFS pointers are compared by oid and size without being fetched.
"""

from __future__ import annotations

from pathlib import Path

from modelcards.compare import compare
from modelcards.compare.model import Change
from modelcards.errors import ModelcardsError
from modelcards.history import History
from modelcards.inspect import ModelFacts, inspect_snapshot
from modelcards.resolve.gitrepo import open_git_reference

ReleaseChanges = dict[str | None, tuple[Change, ...]]  # tag (None: unreleased) → changes


def _facts_at(project_root: Path, commit: str, model_path: str) -> ModelFacts | None:
    try:
        snapshot = open_git_reference(f"git:{commit}:{model_path}", project_root=project_root)
        try:
            return inspect_snapshot(snapshot)
        finally:
            snapshot.close()
    except ModelcardsError:  # the model did not exist there yet, or its files were unreadable
        return None


def release_changes(
    project_root: Path, model_path: str, history: History, current: ModelFacts
) -> ReleaseChanges:
    """For each release, the changes since the previous one; for unreleased work, since the last."""
    tagged = [r for r in history.releases if r.tag and r.commit]
    facts = {r.tag: _facts_at(project_root, r.commit, model_path) for r in tagged if r.commit}
    result: ReleaseChanges = {}
    for index, release in enumerate(history.releases):
        newer = current if release.tag is None else facts.get(release.tag)
        older_release = next((r for r in history.releases[index + 1 :] if r.tag), None)
        older = facts.get(older_release.tag) if older_release and older_release.tag else None
        if newer is not None and older is not None:
            result[release.tag] = compare(older, newer).changes
    return result
