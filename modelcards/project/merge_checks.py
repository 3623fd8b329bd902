"""Each model a merged model's mergekit config names, checked against the merge like a base.

A source is resolved offline and inside the project (`resolve/merge_source.py`), inspected, and
with `--deep` compared tensor by tensor with the merge (`compare/deep/run.py`, streamed: memory
stays what one deep pass takes; the ΔW rank sketch is left out, a merge's ΔW means nothing
against one of its sources). Each source costs one pass over its weights and the merge's, one
after the other. Whatever stops one source — not local, pointers only, a malformed file — is its
reason, never the build's failure.
"""

from __future__ import annotations

from pathlib import Path

from modelcards.compare.deep.merge_check import SourceCheck, not_checked, source_verdict
from modelcards.compare.deep.origin import NOT_COMPARED, weights_missing
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.merge_config import (
    MAX_SOURCES,
    MergeConfig,
    MergeSource,
    read_merge_config,
)
from modelcards.project.config import ProjectConfig
from modelcards.project.state import ModelState
from modelcards.resolve.merge_source import OutsideProject, open_merge_source
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import ModelcardsError
from modelcards.safeio.progress import progress_bar

__all__ = ["check_sources", "merge_source_checks"]

_PAST_LIMIT = f"only the first {MAX_SOURCES} sources are compared (each costs a pass)"


def merge_source_checks(
    config: ProjectConfig, state: ModelState, tuned: ModelFacts | None, *, deep: bool
) -> tuple[SourceCheck, ...]:
    """Every source of the model's mergekit config with its verdict (() for a model that is no
    mergekit merge). Without `deep` none is read; `tuned`: the merge's facts, if read already."""
    merge = read_merge_config(state.snapshot)
    if merge is None:
        return ()
    folder = config.root / state.entry.path
    return check_sources(merge, state.snapshot, folder, config.root, tuned=tuned, deep=deep)


def check_sources(
    merge: MergeConfig,
    merged: Snapshot,
    folder: Path,
    root: Path,
    *,
    tuned: ModelFacts | None = None,
    deep: bool = True,
) -> tuple[SourceCheck, ...]:
    """`merge`'s sources checked against `merged` (the model in `folder`, inside `root`)."""
    if deep and tuned is None:
        tuned = inspect_snapshot(merged)
    missing = None if tuned is None else weights_missing("the merge", tuned)
    checks = []
    for index, source in enumerate(merge.sources):
        reason = (
            NOT_COMPARED if not deep else missing or (_PAST_LIMIT if index >= MAX_SOURCES else None)
        )
        if reason is not None or tuned is None:
            checks.append(SourceCheck(source.reference, source.roles, None,
                                      not_checked(reason or NOT_COMPARED), deep=deep))  # fmt: skip
            continue
        checks.append(_checked(source, tuned, merged, folder, root))
    return tuple(checks)


def _checked(
    source: MergeSource, tuned: ModelFacts, merged: Snapshot, folder: Path, root: Path
) -> SourceCheck:
    def unread(reason: str, location: str | None = None, outside: bool = False) -> SourceCheck:
        return SourceCheck(source.reference, source.roles, location, not_checked(reason), outside)

    try:
        snapshot = open_merge_source(source.reference, model_folder=folder, project_root=root)
    except OutsideProject as exc:
        return unread(exc.reason, outside=True)
    except ModelcardsError as exc:
        return unread(exc.reason)
    location = snapshot.ref.location
    aligned = source.aligned_layers
    if not source.comparable:
        return unread(
            f"its layers sit at other depths in the merge ({source.moved}), which a compare "
            "by tensor name cannot align",
            location,
        )
    try:
        facts = inspect_snapshot(snapshot)
        if reason := weights_missing("the source", facts):
            return unread(reason, location)
        if facts.is_adapter:
            return unread("the source is an adapter, not a model's weights", location)
        from modelcards.compare.deep.run import deep_compare  # numpy: the --deep path only

        bar = progress_bar(f"merge source {source.reference}: deep compare")
        try:
            deep = deep_compare(facts, tuned, snapshot, merged, progress=bar, rank_sketch=False)
        finally:
            if bar is not None:
                bar.close()
    except ModelcardsError as exc:
        return unread(str(exc), location)
    return SourceCheck(source.reference, source.roles, location, source_verdict(deep, aligned))
