"""The Python API: what the commands do, for a training script or a notebook.

Each function calls what its command calls and returns the command's own typed result (frozen
dataclasses; `as_json()` gives what `--format json` prints). A problem with the input raises a
`ModelcardsError` subclass with the same one-line message the command prints; nothing here
exits or prints. Every import of the pipeline is inside a function, so `import modelcards`
stays instant.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from modelcards.safeio.errors import ConfigError, ResolveError, UsageError

if TYPE_CHECKING:
    from modelcards.assess.findings import ScanReport
    from modelcards.compare.deep import DeepDiff
    from modelcards.compare.model import ModelDiff
    from modelcards.export.signing import SignatureCheck
    from modelcards.history.signatures import SignedModel
    from modelcards.inspect.facts import ModelFacts
    from modelcards.project.build import BuildReport
    from modelcards.project.check import CheckReport
    from modelcards.project.config import ModelEntry, ProjectConfig
    from modelcards.resolve.snapshot import Snapshot
    from modelcards.safeio.hashcache import HashCache

# a project: its root folder (where modelcards.yml is), or a config already loaded or made
Project = Union[str, "os.PathLike[str]", "ProjectConfig"]
PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "Project",
    "build",
    "card",
    "check",
    "deep_diff",
    "diff",
    "export_cyclonedx",
    "load_project",
    "scan",
    "sign",
    "verify",
]


def load_project(project: Project = ".") -> ProjectConfig:
    """The project's config, read and validated as every command reads it."""
    from modelcards.project.config import ProjectConfig, load_config

    if isinstance(project, ProjectConfig):
        return project
    return load_config(Path(project))


def _cache() -> HashCache:
    from modelcards.safeio.hashcache import HashCache, default_cache_file

    return HashCache(default_cache_file())  # the one the commands share (MODELCARDS_CACHE)


def _entries(config: ProjectConfig, models: Iterable[str]) -> tuple[ModelEntry, ...]:
    """The models named (by name or folder, as `modelcards export` takes them), in that order."""
    if isinstance(models, str):
        models = (models,)
    found = []
    for model in models:
        wanted = model.rstrip("/")
        entry = next((e for e in config.models if wanted in (e.name, e.path)), None)
        if entry is None:
            names = ", ".join(e.name for e in config.models)
            raise ConfigError(
                f"no model {model!r} in the config (models: {names})", file=config.file
            )
        found.append(entry)
    return tuple(found)


def inspected_pair(
    base: str, tuned: str | os.PathLike[str], project: str | os.PathLike[str] | None, online: bool
) -> tuple[Snapshot, Snapshot, ModelFacts, ModelFacts]:
    """Both models resolved and read, as `diff` and `deep_diff` (and the command) compare them."""
    from modelcards.inspect import inspect_snapshot
    from modelcards.resolve import resolve_reference

    root = Path(project) if project is not None else Path.cwd()
    tuned = os.fspath(tuned)
    if not tuned.startswith("git:") and not (root / tuned).is_dir():
        raise ResolveError("no such folder (TUNED is a model folder or git:REF:PATH)", file=tuned)
    base_snapshot = resolve_reference(os.fspath(base), project_root=root, online=online)
    tuned_snapshot = resolve_reference(tuned, project_root=root)
    return (
        base_snapshot,
        tuned_snapshot,
        inspect_snapshot(base_snapshot),
        inspect_snapshot(tuned_snapshot),
    )


def diff(
    base: str | os.PathLike[str],
    tuned: str | os.PathLike[str],
    *,
    online: bool = False,
    project: str | os.PathLike[str] | None = None,
) -> ModelDiff:
    """What `modelcards diff BASE TUNED` reports: configs, tokenizer, chat template, adapter and
    safetensors headers compared; no weights loaded.

    `base` is a folder, `git:REF:PATH` or a Hub id `org/name[@rev]` (the Hugging Face cache,
    or with `online` the Hub); `tuned` a folder or `git:REF:PATH`. Relative paths and git
    revisions are read from `project` (default: the current folder).
    """
    from modelcards.compare import compare

    *_, base_facts, tuned_facts = inspected_pair(os.fspath(base), tuned, project, online)
    return compare(base_facts, tuned_facts)


def deep_diff(
    base: str | os.PathLike[str],
    tuned: str | os.PathLike[str],
    *,
    online: bool = False,
    project: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DeepDiff:
    """What `modelcards diff --deep` adds: which tensors changed and by how much (‖ΔW‖/‖W‖),
    per layer and module, streamed with bounded memory. `progress(bytes_done, bytes_total)`."""
    from modelcards.compare.deep.run import deep_compare

    snapshots_and_facts = inspected_pair(os.fspath(base), tuned, project, online)
    base_snapshot, tuned_snapshot, base_facts, tuned_facts = snapshots_and_facts
    return deep_compare(base_facts, tuned_facts, base_snapshot, tuned_snapshot, progress=progress)


def scan(path: str | os.PathLike[str]) -> ScanReport:
    """What `modelcards scan PATH` finds in a folder or one file, without running anything."""
    from modelcards.assess.scan import scan_path

    return scan_path(Path(path))


def build(
    project: Project = ".",
    *,
    site: bool | None = None,
    models: Iterable[str] | None = None,
    online: bool = False,
    deep: bool = False,
    at: str | None = None,
    out: str | None = None,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """What `modelcards build` writes: every card, CHANGES.md and card.json, then the site.

    `models` (names or folders) writes only those cards and no site; `site=False` skips it
    for every model. A model that cannot be documented is in the report's `failed`, the
    others are written (the command then exits 2); a bad config raises `ConfigError`.
    `at`/`out`: the cards of a past revision, written under `out`. `progress` gets the
    messages the command prints on stderr.
    """
    from modelcards.project.build import build_project, release_folder

    config = load_project(project)
    if out is not None and at is None:
        raise UsageError("out= goes with at=")
    only = None if models is None else _entries(config, models)
    if only is not None and site:
        raise UsageError("site=True builds the site of every model: leave out models=")
    return build_project(
        config,
        cache=_cache(),
        site=site is not False,
        online=online,
        at=at,
        out=out if out is not None or at is None else release_folder(at),
        progress=progress,
        deep=deep,
        jobs=jobs,
        only=only,
    )


def check(
    project: Project = ".",
    *,
    base_ref: str | None = None,
    show_diff: bool = False,
    online: bool = False,
) -> CheckReport:
    """What `modelcards check` says: `report.ok` is the exit status 0, `report.problems` the
    stale cards, findings and policy failures (most important first); nothing is written.
    `base_ref`: also fail when a model's files changed in `base_ref...HEAD` but its card did not.
    """
    from modelcards.project.check import check_project

    return check_project(
        load_project(project),
        cache=_cache(),
        base_ref=base_ref,
        show_diff=show_diff,
        online=online,
    )


def card(project: Project, model: str, *, online: bool = False, deep: bool = False) -> str:
    """The README.md text `build` would write for one model, without writing anything."""
    from modelcards.project.build import render_project

    config = load_project(project)
    rendered = render_project(
        config, cache=_cache(), only=_entries(config, (model,)), online=online, deep=deep
    )
    return rendered[0].card


def export_cyclonedx(
    project: Project, model: str, *, site_url: str | None = None
) -> dict[str, Any]:
    """What `modelcards export MODEL` prints: the CycloneDX 1.6 ML-BOM, as a JSON-ready dict
    (`modelcards.export.cyclonedx.to_json` gives the command's bytes)."""
    from modelcards.export.cyclonedx import build_bom
    from modelcards.inspect.card import split_front_matter
    from modelcards.project.build import render_project
    from modelcards.project.state import existing_card
    from modelcards.publish.compliance import use_cases

    config = load_project(project)
    entry = _entries(config, (model,))[0]
    context = render_project(config, cache=_cache(), only=(entry,))[0].context
    readme = existing_card(config, entry)  # read as untrusted: never through a link out
    body = split_front_matter(readme)[1] if readme is not None else ""
    return build_bom(context, use_cases=use_cases(body), site_url=site_url)


def _signing(
    key: PathLike | None, keyless: bool, token: str | None, trust: PathLike | None, staging: bool
) -> Any:
    """How `sign` signs: a key file, or keyless (Sigstore); options that clash are one line."""
    from modelcards.history.keyless import KeylessSigning

    if (key is None) == (not keyless):
        raise UsageError("sign with --key KEY.pem or --keyless (Sigstore), one of the two")
    if key is not None:
        if token is not None or trust is not None or staging:
            raise UsageError("--identity-token, --trust-config and --staging go with --keyless")
        return Path(key)
    if trust is not None and staging:
        raise UsageError("--trust-config names the Sigstore instance: not with --staging")
    return KeylessSigning(token, Path(trust) if trust is not None else None, staging)


def _verifying(
    key: PathLike | None,
    identity: str | None,
    issuer: str | None,
    trust: PathLike | None,
    staging: bool,
) -> Any:
    """What `verify` checks against: a public key, or a keyless signer's identity."""
    from modelcards.history.keyless import KeylessIdentity

    if (key is None) == (identity is None):
        raise UsageError("verify with --key KEY.pub or --identity ID --issuer URL, one of the two")
    if key is not None:
        if issuer is not None or trust is not None or staging:
            raise UsageError("--issuer, --trust-config and --staging go with --identity")
        return Path(key)
    if not identity or not issuer:
        raise UsageError("--identity needs --issuer, the OIDC issuer that vouched for it "
                         "(e.g. https://token.actions.githubusercontent.com)")  # fmt: skip
    if trust is not None and staging:
        raise UsageError("--trust-config names the Sigstore instance: not with --staging")
    return KeylessIdentity(identity, issuer, Path(trust) if trust is not None else None, staging)


def sign(
    project: Project,
    model: str,
    *,
    key: PathLike | None = None,
    keyless: bool = False,
    identity_token: str | None = None,
    trust_config: PathLike | None = None,
    staging: bool = False,
) -> SignedModel:
    """What `modelcards sign MODEL --key KEY.pem` (or `--keyless`, with `--identity-token`,
    `--trust-config`, `--staging`) does: writes model.sig and card.sig beside the model
    (needs the `signing` extra); returns the signed manifest."""
    from modelcards.export.signing import sign_folder

    how = _signing(key, keyless, identity_token, trust_config, staging)
    config = load_project(project)
    entry = _entries(config, (model,))[0]
    return sign_folder(config.root / entry.path, how)


def verify(
    project: Project,
    model: str,
    *,
    key: PathLike | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    trust_config: PathLike | None = None,
    staging: bool = False,
) -> SignatureCheck:
    """What `modelcards verify MODEL --key KEY.pub` (or `--identity ID --issuer URL`, with
    `--trust-config`, `--staging`) says: `.ok`, and `.problems` naming each file that does
    not verify. A bad key, a garbled signature or an unreachable Sigstore raises
    `ModelcardsError`."""
    from modelcards.export.signing import verify_folder

    against = _verifying(key, identity, issuer, trust_config, staging)
    config = load_project(project)
    entry = _entries(config, (model,))[0]
    return verify_folder(config.root / entry.path, against, model=entry.name, label=entry.path)
