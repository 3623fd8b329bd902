"""What a merge card's verdicts were read from: the identity of each mergekit source, in the
card's inputs fingerprint (`state.py`) and in the record's key (`record.py`), so that a card
made with --deep goes stale when a source's files change, and `build --deep` rewrites it.

Only a card made with --deep depends on its sources' files. Without it no source is read: the
card lists them by name from mergekit_config.yml, which the model's own manifest holds already.
So a source's identity enters the fingerprint of a deep card only: a card made without --deep
never goes stale because a source changed, or is missing on this machine — which no rebuild
could fix. A deep card does: its verdicts are about the weights it read, and where a source is
not here (a Hub id not in this machine's cache) its verdict would be another.

The identity is what `merge_checks.py` would read — the sources it compares, resolved the same
way (`resolve/merge_source.py`): a folder by its manifest with sha256s (as a base folder: the
hash cache, and git's LFS oids, so that an unchanged file is never hashed again), an HF-cache
snapshot by its commit and file list (the cache names LFS blobs by sha256: nothing is hashed),
a source that cannot be read by its reason (which names nothing of this machine). A model with
no mergekit_config.yml in its manifest costs one look at a list: no read, no git call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from modelcards.history import ProjectGit
from modelcards.history.provenance import hashed_manifest
from modelcards.inspect import manifest_files
from modelcards.inspect.merge_config import (
    MAX_SOURCES,
    MERGE_CONFIG,
    MergeConfig,
    MergeSource,
    read_merge_config,
)
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.render.fingerprint import manifest_digest
from modelcards.resolve import FileEntry, Snapshot, open_folder
from modelcards.resolve.merge_source import open_merge_source
from modelcards.safeio.errors import ModelcardsError, ResolveError
from modelcards.safeio.hashcache import HashCache

if TYPE_CHECKING:
    from modelcards.project.record import KeyMaker
    from modelcards.project.state import ModelState

__all__ = ["as_built", "source_identities", "source_key"]


def source_identities(
    config: ProjectConfig,
    entry: ModelEntry,
    snapshot: Snapshot,
    files: Iterable[FileEntry],
    cache: HashCache,
    git: ProjectGit,
) -> tuple[Any, ...] | None:
    """Each compared source's identity, in the config's order; None: no mergekit merge."""
    if not any(f.path == MERGE_CONFIG for f in files):
        return None
    merge = read_merge_config(snapshot)
    if merge is None:
        return None
    named: list[Any] = []
    for source, found in _resolved(config, entry, merge):
        if isinstance(found, str):
            named.append([source.reference, found])
            continue
        ref = found.ref
        where = [source.reference, ref.kind, ref.location, ref.revision]
        if not source.comparable:  # its layers moved: the card says where it is, no more
            named.append(where)
        elif ref.kind == "path":
            known = git.clean_lfs_oids(config.root / ref.location)
            named.append(where + [manifest_digest(hashed_manifest(found, manifest_files(found),
                                                                  cache, known))])  # fmt: skip
        else:  # a cache snapshot: named by its commit and its files (LFS blobs by sha256)
            named.append(where + [manifest_digest(manifest_files(found))])
    return tuple(named)


def as_built(
    config: ProjectConfig,
    state: ModelState,
    cache: HashCache,
    git: ProjectGit,
    card_json: str | None,
) -> ModelState:
    """`state` with its sources' identities when the card on disk (`card_json`) was made with
    --deep, so that `check` computes the fingerprint that `build` would have."""
    if not any(f.path == MERGE_CONFIG for f in state.files) or not _deep(card_json):
        return state
    found = source_identities(config, state.entry, state.snapshot, state.files, cache, git)
    return replace(state, merge_sources=found)


def source_key(keys: KeyMaker, entry: ModelEntry, files: list[Any]) -> list[Any] | None:
    """The sources as a record's key names them: a folder of the project by the blob ids of its
    files (`files`: the model folder's (path, id) listing); [] for a model that is no merge or
    whose card was made without --deep; None (no key: the slow path) for a source read from
    outside the project — the Hugging Face cache."""
    if not any(path == MERGE_CONFIG for path, _ in files):
        return []
    config = keys.config
    card_json = keys.written.get(f"{entry.path}/card.json")
    if card_json is None:
        from modelcards.project.state import previous_output

        card_json = previous_output(config, config.root / entry.path / "card.json")
    if not _deep(card_json):
        return []
    try:
        merge = read_merge_config(open_folder(config.root / entry.path, project_root=config.root))
    except ModelcardsError:  # a folder the slow path reads, and says what is wrong with
        return None
    named: list[Any] = []
    for source, found in _resolved(config, entry, merge) if merge is not None else ():
        if isinstance(found, str):
            named.append([source.reference, found])
        elif found.ref.kind != "path":
            return None
        else:
            location = found.ref.location
            listing = keys.folder(location) if source.comparable else None
            named.append([source.reference, location, listing])
    return named


def _resolved(
    config: ProjectConfig, entry: ModelEntry, merge: MergeConfig
) -> Iterator[tuple[MergeSource, Snapshot | str]]:
    """The sources `merge_checks.py` opens, each with its files or the reason it has none."""
    for source in merge.sources[:MAX_SOURCES]:
        try:
            yield (
                source,
                open_merge_source(
                    source.reference,
                    model_folder=config.root / entry.path,
                    project_root=config.root,
                ),
            )
        except ResolveError as exc:
            yield source, exc.reason


def _deep(card_json: str | None) -> bool:
    """Whether that card.json was made with --deep (two members read, not the whole file)."""
    from modelcards.project.state import built_deep, previous_member

    return built_deep({key: previous_member(card_json, key) for key in ("deep", "merge_sources")})
