"""The pipeline driver for `modelcards build`: resolve → inspect → compare → render → publish.

Everything is rendered in memory first; files are written only when every model rendered, each
one atomically, and only when its bytes changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelcards.compare import ModelDiff, compare
from modelcards.config import ModelEntry, ProjectConfig
from modelcards.errors import InspectError
from modelcards.history import HistoryReader, read_history
from modelcards.inspect import MAX_TEXT_BYTES, ModelFacts, inspect_snapshot
from modelcards.provenance import Provenance, hashed_manifest
from modelcards.publish.write import write_atomic
from modelcards.render import ModelInputs, RenderedModel, make_environment, render_model
from modelcards.resolve import Snapshot, open_folder, resolve_reference
from modelcards.resolve.snapshot import FileEntry, SourceRef

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Analysis:
    """One model after the analysis stages, before rendering."""

    entry: ModelEntry
    snapshot: Snapshot
    tuned: ModelFacts
    base: ModelFacts | None
    diff: ModelDiff | None
    base_snapshot: Snapshot | None = None


# Base files hashed once per process: many models share one base, and a base's weights are large.
_BASE_MANIFESTS: dict[SourceRef, tuple[FileEntry, ...]] = {}


def base_manifest(snapshot: Snapshot, facts: ModelFacts) -> tuple[FileEntry, ...]:
    key = facts.source
    if key not in _BASE_MANIFESTS:
        _BASE_MANIFESTS[key] = hashed_manifest(snapshot, facts.files)
    return _BASE_MANIFESTS[key]


def analyse(config: ProjectConfig, entry: ModelEntry) -> Analysis:
    folder = config.root / entry.path
    snapshot = open_folder(folder, project_root=config.root)
    tuned = inspect_snapshot(snapshot)
    base = diff = base_snapshot = None
    if entry.base is not None:
        base_snapshot = resolve_reference(
            entry.base.reference, project_root=config.root, hub_id=entry.base.id
        )
        base = inspect_snapshot(base_snapshot)
        diff = compare(base, tuned)
    return Analysis(
        entry=entry,
        snapshot=snapshot,
        tuned=tuned,
        base=base,
        diff=diff,
        base_snapshot=base_snapshot,
    )


def model_inputs(
    config: ProjectConfig, analysis: Analysis, history_reader: HistoryReader | None = None
) -> ModelInputs:
    history = (
        history_reader.read(analysis.entry.path)
        if history_reader is not None
        else read_history(config.root, analysis.entry.path)
    )
    base_source = analysis.base.source if analysis.base else None
    provenance = Provenance(
        base=None
        if analysis.entry.base is None
        else {
            "id": analysis.entry.base.id,
            "path": analysis.entry.base.path,
            "revision": (base_source.revision if base_source else None)
            or analysis.entry.base.revision,
            "kind": base_source.kind if base_source else None,
        },
        repository=history.repository,
        commit=history.head,
        files=hashed_manifest(analysis.snapshot, analysis.tuned.files),
        base_files=base_manifest(analysis.base_snapshot, analysis.base)
        if analysis.base_snapshot is not None and analysis.base is not None
        else (),
    )
    return ModelInputs(
        entry=analysis.entry,
        tuned=analysis.tuned,
        base=analysis.base,
        diff=analysis.diff,
        history=history,
        provenance=provenance,
        card_defaults=dict(config.card),
    )


def existing_card(config: ProjectConfig, entry: ModelEntry) -> str | None:
    path = config.root / entry.path / "README.md"
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise InspectError(f"larger than {MAX_TEXT_BYTES:,} bytes", file=f"{entry.path}/README.md")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InspectError("not UTF-8 text", file=f"{entry.path}/README.md") from None


def render_project(
    config: ProjectConfig, *, progress: Progress | None = None
) -> list[RenderedModel]:
    env = make_environment(config.templates)
    history = HistoryReader(config.root)
    rendered = []
    for index, entry in enumerate(config.models, 1):
        if progress:
            progress(f"[{index}/{len(config.models)}] {entry.name}: reading {entry.path}")
        inputs = model_inputs(config, analyse(config, entry), history)
        rendered.append(render_model(inputs, env, existing_card(config, entry)))
    return rendered


@dataclass(frozen=True)
class BuildReport:
    models: tuple[RenderedModel, ...]
    written: tuple[str, ...]  # project-relative paths whose bytes changed
    unchanged: tuple[str, ...]
    site_dir: str | None = None
    site_output: str | None = None


def write_outputs(config: ProjectConfig, files: dict[str, str]) -> tuple[list[str], list[str]]:
    written: list[str] = []
    unchanged: list[str] = []
    for rel, content in sorted(files.items()):
        (written if write_atomic(config.root / rel, content) else unchanged).append(rel)
    return written, unchanged
