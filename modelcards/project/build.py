"""The pipeline driver for `modelcards build`: resolve → inspect → compare → render → publish.

Everything is rendered in memory first; files are written only when every model rendered, each
one atomically, and only when its bytes changed. What each model is made from comes from
`project/state.py`, which `check` shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcards.assess import assess_model
from modelcards.assess.policy import today
from modelcards.compare import ModelDiff, compare
from modelcards.compare.deep import DeepDiff
from modelcards.compare.deep.merge_check import SourceCheck
from modelcards.compare.deep.run import deep_compare
from modelcards.history import ProjectGit
from modelcards.history.provenance import Provenance, hashed_manifest
from modelcards.history.releases import release_changes, tag_facts
from modelcards.inspect import CARD_OUTPUTS, ModelFacts, inspect_snapshot, manifest_files
from modelcards.project.base_signing import signature_of
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.project.merge_checks import merge_source_checks
from modelcards.project.record import KeyMaker, read_record, recorded_models, write_record
from modelcards.project.state import (
    ModelState,
    Progress,
    ProjectReads,
    built_deep,
    card_subject,
    model_state,
    previous_context,
    previous_output,
    project_lock,
    project_templates_digest,
)
from modelcards.render import ModelInputs, RenderedModel, make_environment, render_model
from modelcards.render.context import licence_statement
from modelcards.render.coverage import weights_gaps
from modelcards.render.fingerprint import front_matter_of, outputs_fingerprint, read_fingerprint
from modelcards.resolve import FileEntry, Snapshot
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import SourceRef
from modelcards.safeio.collector import fewer_collections
from modelcards.safeio.errors import ModelcardsError, ResolveError
from modelcards.safeio.hashcache import HashCache
from modelcards.safeio.parallel import default_jobs, parallel_map
from modelcards.safeio.progress import progress_bar
from modelcards.safeio.write import write_atomic


@dataclass(frozen=True)
class Analysis:
    """One model after inspect and compare."""

    tuned: ModelFacts
    base: ModelFacts | None
    diff: ModelDiff | None


def analyse(state: ModelState) -> Analysis:
    tuned = inspect_snapshot(state.snapshot)
    if state.base_snapshot is None:
        return Analysis(tuned=tuned, base=None, diff=None)
    base = inspect_snapshot(state.base_snapshot)
    return Analysis(tuned=tuned, base=base, diff=compare(base, tuned))


def datasets_named(facts: ModelFacts, entry: ModelEntry, config: ProjectConfig) -> tuple[str, ...]:
    """Dataset ids as the card's front matter or the config name them."""
    value = (
        (facts.card.metadata.get("datasets") if facts.card else None)
        or entry.card.get("datasets")
        or config.card.get("datasets")
    )
    items = value if isinstance(value, list) else [value] if value else []
    return tuple(str(v) for v in items)


@dataclass(frozen=True)
class Prepared:
    """One model to render, with what only the main process may read already read: through git
    (GitPython's persistent `git cat-file` processes must not be shared with forked workers),
    from the Hub, or by the deep compare (which has threads of its own). What is left —
    inspecting and comparing plain files, the risk scan, rendering — can run in a worker."""

    state: ModelState
    analysis: Analysis | None  # None: both snapshots are plain files, analysed where rendered
    weights: DeepDiff | None  # tensor contents compared (deep)
    tag_facts: dict[str, ModelFacts | None]  # the model at its release tags, for release_changes
    base_files: tuple[FileEntry, ...]
    work_tree: bool  # the files as they are now, not at a past revision: scan them
    merge_sources: tuple[SourceCheck, ...] = ()  # a mergekit merge's sources, each checked


def prepare(
    config: ProjectConfig,
    state: ModelState,
    git: ProjectGit,
    base_manifest: Callable[[Snapshot], tuple[FileEntry, ...]] | None = None,
    *,
    deep: bool = False,
) -> Prepared:
    """Read here what a worker may not read (see `Prepared`)."""
    base = state.base_snapshot
    wanted, deep = deep, deep and base is not None
    plain = all(isinstance(s, LocalSnapshot) for s in (state.snapshot, base) if s is not None)
    analysis = analyse(state) if deep or not plain else None
    weights = None
    if deep and base is not None and analysis is not None and analysis.base is not None:
        bar = progress_bar(f"{state.entry.name}: deep compare")  # only when stderr is a terminal
        try:
            weights = deep_compare(
                analysis.base, analysis.tuned, base, state.snapshot, progress=bar
            )
        finally:
            if bar is not None:
                bar.close()
    merges = merge_source_checks(config, state, analysis.tuned if analysis else None, deep=wanted)
    return Prepared(
        state=state,
        analysis=analysis,
        weights=weights,
        tag_facts=tag_facts(git, state.entry.path, state.history),
        base_files=state.base_files or (base_manifest(base) if base_manifest and base else ()),
        work_tree=git.rev == "HEAD",
        merge_sources=merges,
    )


def model_inputs(config: ProjectConfig, prepared: Prepared) -> ModelInputs:
    """Inspect, compare and assess one prepared model; reads no git, so a worker may run it."""
    state = prepared.state
    entry = state.entry
    analysis = prepared.analysis or analyse(state)
    base_source = analysis.base.source if analysis.base else None
    provenance = Provenance(
        base=None
        if entry.base is None
        else {
            "id": entry.base.id,
            "path": entry.base.path,
            "revision": (base_source.revision if base_source else None) or entry.base.revision,
            "kind": base_source.kind if base_source else None,
        },
        repository=state.history.repository,
        commit=state.history.last_commit,
        files=state.files,
        training_files=entry.training_files,
        training_commit=state.training_commit,
        base_files=prepared.base_files,
        base_signature=signature_of(config, entry, state.base_snapshot, prepared.base_files),
        datasets=datasets_named(analysis.tuned, entry, config),
    )
    licence = licence_statement(
        analysis.tuned, analysis.base, card_subject(config, entry), config.card
    )["id"]
    assessment = assess_model(
        name=entry.name,
        folder=config.root / entry.path if prepared.work_tree else None,
        project_root=config.root,
        tuned=analysis.tuned,
        base=analysis.base,
        diff=analysis.diff,
        licence=licence,
        base_has_hub_id=bool(entry.base and entry.base.id),
        card_text=state.existing_card,
        governance={**config.governance, **entry.governance},
        policy=config.policy,
        waivers=config.waivers,
        on=today(),
        exclude=CARD_OUTPUTS | state.nested_outputs,
        configured_base=entry.base is not None,
        configured_id=entry.base.id if entry.base else None,
        configured_path=entry.base.path if entry.base else None,
        base_unavailable=state.base_unavailable,
        diff_partial=None
        if analysis.diff is None
        else "; ".join(weights_gaps(analysis.tuned, analysis.base)) or None,
        deep=prepared.weights,
        merge_sources=prepared.merge_sources,
    )
    return ModelInputs(
        entry=card_subject(config, entry),
        assessment=assessment,
        deep=prepared.weights,
        tuned=analysis.tuned,
        base=analysis.base,
        diff=analysis.diff,
        history=state.history,
        provenance=provenance,
        card_defaults=dict(config.card),
        release_changes=release_changes(state.history, analysis.tuned, prepared.tag_facts),
        base_unavailable=state.base_unavailable,
        merge_sources=prepared.merge_sources,
    )


def current_outputs(
    config: ProjectConfig,
    state: ModelState,
    templates: str,
    deep: bool,
    real_root: Path | None = None,
) -> RenderedModel | None:
    """The model's files as they are on disk, when its fingerprints say build would write them
    again unchanged (so a large project rebuilds only what changed, and mtimes stay put)."""
    card = state.existing_card
    recorded = read_fingerprint(card) if card is not None else None
    if card is None or recorded is None:
        return None
    folder = config.root / state.entry.path
    changes = previous_output(config, folder / "CHANGES.md", real_root)
    card_json = previous_output(config, folder / "card.json", real_root)
    heatmap = previous_output(config, folder / "weight-changes.svg", real_root)
    context = previous_context(card_json)
    if (
        changes is None
        or card_json is None
        or not context
        or built_deep(context) != deep
        or state.fingerprint(config, templates, front_matter_of(card)) != recorded[0]
        or outputs_fingerprint(card, changes, card_json) != recorded[1]
    ):
        return None
    return RenderedModel(
        state.entry.name, state.entry.path, context, card, changes, card_json, heatmap
    )


def render_project(
    config: ProjectConfig,
    *,
    progress: Progress | None = None,
    online: bool = False,
    cache: HashCache | None = None,
    at: str | None = None,
    only: tuple[ModelEntry, ...] | None = None,
    deep: bool = False,
    jobs: int = 1,
    failures: list[ModelFailure] | None = None,
    git: ProjectGit | None = None,
) -> list[RenderedModel]:
    """Every model's files in memory; with `at`, the cards as they were at that revision.

    Models are read one after the other here (git, hashes, what is already current); the stale
    ones are then inspected, assessed and rendered in up to `jobs` worker processes. With
    `failures`, a model that cannot be documented is listed there and the others go on; without
    it, the first such error is raised.
    """
    cache = cache or HashCache()
    env = make_environment(config.templates)
    templates = project_templates_digest(config)
    git = git or ProjectGit(config.root, rev=at or "HEAD")
    git.require_full_history()
    lock = project_lock(config.root, at)
    base_manifests: dict[SourceRef, tuple[FileEntry, ...]] = {}  # many models share one base

    def base_manifest(snapshot: Snapshot) -> tuple[FileEntry, ...]:
        if snapshot.ref not in base_manifests:
            base_manifests[snapshot.ref] = hashed_manifest(
                snapshot, manifest_files(snapshot), cache
            )
        return base_manifests[snapshot.ref]

    entries = config.models if only is None else only
    reads = ProjectReads.of(config)
    models: list[RenderedModel | None] = []  # None: rendered below
    todo: list[Prepared] = []
    for index, entry in enumerate(entries, 1):
        if progress:
            progress(f"[{index}/{len(entries)}] {entry.name}: reading {entry.path}")
        try:
            wants_deep = deep or config.deep
            state = model_state(config, entry, cache, git, online=online, lock=lock, reads=reads,
                                deep=wants_deep)  # fmt: skip
            current = (
                None
                if at is not None
                else current_outputs(config, state, templates, wants_deep, reads.real_root)
            )
            prepared = (
                None if current else prepare(config, state, git, base_manifest, deep=wants_deep)
            )
        except ModelcardsError as exc:
            if at is not None and isinstance(exc, ResolveError):
                if progress:
                    progress(f"{entry.name}: skipped, not readable at {at}: {exc}")
                continue
            if failures is None:
                raise
            failures.append(ModelFailure(entry.name, entry.path, str(exc)))
            continue
        if prepared is None:  # nothing it is made from changed: keep it, render nothing
            models.append(current)
            continue
        if state.base_unavailable_detail and progress:  # said when its card is made
            progress(f"{entry.name}: base not compared: {state.base_unavailable_detail}")
        models.append(None)  # rendered below
        todo.append(prepared)
    cache.save()  # every hash was taken above, in this process: workers never hash

    def render(prepared: Prepared) -> RenderedModel | ModelFailure:  # in a worker when jobs > 1
        state = prepared.state
        fingerprint = state.fingerprinter(config, templates)
        try:
            inputs = model_inputs(config, prepared)
            return render_model(inputs, env, state.existing_card, fingerprint)
        except ModelcardsError as exc:
            if failures is None:
                raise
            return ModelFailure(state.entry.name, state.entry.path, str(exc))

    def rendered(index: int, model: RenderedModel | ModelFailure) -> None:
        if progress:
            done = "rendered" if isinstance(model, RenderedModel) else f"failed: {model.error}"
            progress(f"[{index + 1}/{len(todo)}] {model.name}: {done}")

    fresh = iter(parallel_map(render, todo, jobs, on_result=rendered))
    result: list[RenderedModel] = []
    for model in models:
        made = model if model is not None else next(fresh)
        if isinstance(made, ModelFailure):
            assert failures is not None
            failures.append(made)
        else:
            result.append(made)
    if failures is not None:
        order = {entry.name: i for i, entry in enumerate(entries)}
        failures.sort(key=lambda f: order.get(f.name, len(order)))
    return result


@dataclass(frozen=True)
class ModelFailure:
    """A model whose card could not be written, with the one-line reason (file: what is wrong)."""

    name: str
    path: str
    error: str


def write_outputs(config: ProjectConfig, files: dict[str, str]) -> tuple[list[str], list[str]]:
    written: list[str] = []
    unchanged: list[str] = []
    for rel, content in sorted(files.items()):
        (written if write_atomic(config.root / rel, content) else unchanged).append(rel)
    return written, unchanged


def release_folder(at: str) -> str:
    """Where `build --at REV` writes by default: a folder name made from the revision."""
    return f"modelcards-releases/{re.sub(r'[^A-Za-z0-9._-]+', '-', at)}"


@dataclass(frozen=True)
class BuildReport:
    models: tuple[RenderedModel, ...]
    written: tuple[str, ...]  # project-relative paths whose bytes changed
    unchanged: tuple[str, ...]
    site: Path | None  # the built HTML folder, when the site was built
    failed: tuple[ModelFailure, ...] = ()  # models whose cards could not be written

    def as_json(self, root: Path) -> dict[str, Any]:
        """What `build --format json` prints (paths relative to the project `root`)."""
        return {
            "models": [model_summary(m) for m in self.models],
            "failed": [{"name": f.name, "path": f.path, "error": f.error} for f in self.failed],
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            "site": str(self.site.relative_to(root)) if self.site else None,
        }


def finding_counts(model: RenderedModel) -> dict[str, int]:
    counts: dict[str, int] = {}
    for risk in model.context.get("risks") or []:
        if not risk.get("waived"):
            counts[risk["severity"]] = counts.get(risk["severity"], 0) + 1
    return counts


def model_summary(model: RenderedModel) -> dict[str, Any]:
    coverage = model.context["coverage"]
    return {
        "name": model.name,
        "path": model.path,
        "relation": model.context["model"]["relation"],
        "significant_changes": (model.context["diff"] or {}).get("summary", {}).get("significant"),
        "base": coverage["base"]["state"],
        "weights": coverage["weights"]["state"],
        "open_findings": finding_counts(model),
    }


def model_slugs(config: ProjectConfig) -> dict[str, str]:
    """Each model's folder name on the site, by model path: from the whole config, so that a
    shard names its models as the one-machine build does."""
    from modelcards.publish.site import unique_slugs

    names = unique_slugs([entry.name for entry in config.models])
    return {entry.path: name for entry, name in zip(config.models, names, strict=True)}


@fewer_collections()
def build_project(
    config: ProjectConfig,
    *,
    cache: HashCache,
    site: bool = True,
    online: bool = False,
    at: str | None = None,
    out: str | None = None,
    progress: Progress | None = None,
    deep: bool = False,
    jobs: int | None = None,
    only: tuple[ModelEntry, ...] | None = None,
    shard: tuple[int, int] | None = None,
) -> BuildReport:
    """Render every model, then write cards and (unless `at`) the site; nothing half-done.

    A model that cannot be documented (its files unreadable, its base folder missing) is listed
    in `failed`; every other card, and the site of those, is still written.

    With `at`, the cards are rebuilt as they were at that revision and written under `out`
    (relative to the project root); the work tree's cards and the site are not touched.
    `jobs` processes render the cards and build the site (default: every core). `only` writes
    the cards of those models, and no site (a site of some models would drop the others).
    `shard` (K, N) writes the cards and builds the site pages of the K-th of N equal parts of
    the models; `modelcards site merge` joins the parts' sites into one.
    """
    from modelcards.publish.mkdocs_build import build_site
    from modelcards.publish.site import check_site_folder, shard_slugs, site_pages, write_site

    jobs = jobs or default_jobs()
    slugs = model_slugs(config)
    shard_units = None
    if shard is not None:
        shard_units = shard_slugs(list(slugs.values()), *shard)
        only = tuple(entry for entry in config.models if slugs[entry.path] in shard_units)
    failed: list[ModelFailure] = []
    git = ProjectGit(config.root, rev=at or "HEAD")
    full = site and at is None and only is None and config.site.enabled
    keys = KeyMaker(config, git, cache, project_lock(config.root)) if full else None
    record = read_record(config) if keys is not None else None
    known = {}  # model path → its files as the record says the last build wrote them
    if keys is not None and record is not None:
        known = recorded_models(config, record, keys, deep=deep or config.deep)
    rendered = render_project(
        config,
        progress=progress,
        online=online,
        cache=cache,
        at=at,
        deep=deep,
        jobs=jobs,
        failures=failed,
        only=tuple(e for e in config.models if e.path not in known) if known else only,
        git=git,
    )
    by_path = {**known, **{model.path: model for model in rendered}}
    models = [by_path[e.path] for e in config.models if e.path in by_path] if known else rendered
    prefix = f"{out.rstrip('/')}/" if at is not None and out else ""
    fresh = [model for model in models if model.path not in known]
    files = {f"{prefix}{path}": text for model in fresh for path, text in model.files().items()}
    site_files: dict[str, str] = {}
    reused: set[str] = set()  # site pages read back from the last build: on disk as they are
    site_current = (
        keys is not None
        and record is not None
        and not rendered
        and not failed
        and record.site_current(keys.site())
    )
    if site and at is None and (only is None or shard is not None) and config.site.enabled:
        check_site_folder(config)
        if not site_current:
            env = make_environment(config.templates)
            slugs_of = [slugs[model.path] for model in models]
            site_files = site_pages(config, models, env, jobs=jobs, slugs=slugs_of, reused=reused)
    written, unchanged = write_outputs(config, files)
    unchanged = sorted(unchanged + [p for model in known.values() for p in model.file_names()])
    output, sources = None, None
    if site_files or site_current:
        written += write_site(config, site_files, frozenset(reused)) if site_files else []
        recorded = record.site_sources(config) if site_current and record is not None else None
        built = build_site(config, jobs=jobs, only=shard_units, progress=progress,
                           sources=recorded, written=site_files or None)  # fmt: skip
        output, sources = built.output, built.sources
    if keys is not None and not site_current:
        texts = {**files, **site_files}
        written += write_record(config, keys, models, texts, known, sources)
        cache.save()  # the blob ids of the files it had to read
    return BuildReport(tuple(models), tuple(written), tuple(unchanged), output, tuple(failed))
