"""One model as the project has it now: its snapshot and manifest, its base, its git history,
the card already on disk — what a card is made from, cheap to compute (hashes come from caches
and git), with nothing parsed or rendered. `build` and `check` both start here.

The files a previous build wrote are read as untrusted (`safeio/textfile.py`): a README.md that
links out of the project is an error, an output that is a link, a FIFO or too large is no output.
"""

from __future__ import annotations

import bisect
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcards.assess.policy import today
from modelcards.history import History, ProjectGit
from modelcards.history.provenance import hashed_manifest
from modelcards.inspect import (
    CARD_OUTPUTS,
    MAX_TEXT_BYTES,
    card_licence,
    manifest_files,
)
from modelcards.project.base_signing import signature_fingerprint
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.render.fingerprint import (
    base_identity,
    inputs_fingerprint,
    templates_digest,
)
from modelcards.render.provider_details import PROVIDER_FIELDS, ProviderDetails, ProviderValue
from modelcards.render.template_files import builtin_templates
from modelcards.resolve import FileEntry, Snapshot, open_folder, resolve_base
from modelcards.resolve.hubid import classify_base_name
from modelcards.resolve.lock import (
    LOCK_NAME,
    MAX_LOCK_BYTES,
    LockedSnapshot,
    LockFile,
    load_lock,
    loads_lock,
)
from modelcards.safeio.errors import InspectError, ModelcardsError, ResolveError
from modelcards.safeio.hashcache import HashCache
from modelcards.safeio.jsonfile import loads_strict
from modelcards.safeio.textfile import read_project_text, real_path

if TYPE_CHECKING:
    from modelcards.render.subject import CardSubject

Progress = Callable[[str], None]
UNAVAILABLE_OFFLINE = (
    "it is not in modelcards.lock or the Hugging Face cache here, and the Hub was not asked"
)


@dataclass(frozen=True)
class ModelState:
    """What one card is made from, before any file is parsed."""

    entry: ModelEntry
    snapshot: Snapshot
    files: tuple[FileEntry, ...]  # the model's manifest, every sha256 filled in
    base_snapshot: Snapshot | None
    base_files: tuple[FileEntry, ...] | None  # hashed only for a base in a folder
    history: History
    existing_card: str | None
    training_commit: str | None = None  # the last commit that changed the training code
    base_unavailable: str | None = None  # a configured Hub base that could not be read, and why
    # what build writes inside this model's folder for others — the cards of models nested in
    # it, the site's folders (ending in "/") — relative to it: outputs, never its inputs
    nested_outputs: frozenset[str] = frozenset()
    base_unavailable_detail: str | None = None  # the resolver's own words (may name local paths)
    base_licence: str | None = None  # the base's README licence: what an inherited one follows
    merge_sources: tuple[Any, ...] | None = None  # a deep card's mergekit sources (merge_identity)

    def fingerprinter(self, config: ProjectConfig, templates: str) -> Callable[[str], str]:
        """front matter → inputs fingerprint, for `render_model`."""
        return functools.partial(self.fingerprint, config, templates)

    def fingerprint(self, config: ProjectConfig, templates: str, front_matter: str) -> str:
        base = self.base_snapshot
        signature = signature_fingerprint(config, self.entry, base)  # a signed base folder's
        return inputs_fingerprint(
            entry={**entry_json(self.entry), "assess": assess_settings(config, self.entry)},
            card_defaults=dict(config.card),
            templates=templates,
            tuned_files=self.files,
            base={
                "identity": base_identity(
                    base.ref if base else None,
                    self.base_files,
                    lock_digest=base.entry_digest if isinstance(base, LockedSnapshot) else None,
                ),
                "licence": self.base_licence,  # its README is not in its manifest
                **({"signature": signature} if signature else {}),
                **({"merge_sources": self.merge_sources} if self.merge_sources is not None else {}),
            },
            history=self.history,
            front_matter=front_matter,
        )


def assess_settings(config: ProjectConfig, entry: ModelEntry) -> dict[str, Any]:
    """What the risk section depends on besides files: policy, waivers (and whether each is
    still in force today), governance evidence (and whether each named file exists)."""
    on = today()
    named = {**config.governance, **entry.governance}
    return {
        "policy": [config.policy.fail_on.value, list(config.policy.required),
                   list(config.policy.required_sections)],
        "waivers": [[w.as_json(), w.expired(on)] for w in config.waivers],
        "governance": {k: [v, (config.root / v).exists()] for k, v in sorted(named.items())},
        "compute": repr(card_subject(config, entry)),  # the configured compute and lineage
    }  # fmt: skip


def entry_json(entry: ModelEntry) -> dict[str, Any]:
    base = entry.base
    return {
        "name": entry.name,
        "path": entry.path,
        "base": None if base is None else [base.path, base.id, base.revision],
        "card": dict(entry.card),
        "training_files": list(entry.training_files),
        "tags": list(entry.tags),
    }


_FOLDERS: dict[int, tuple[ProjectConfig, dict[str, int]]] = {}  # id(config) → its folder map


def _models_by_folder(config: ProjectConfig) -> dict[str, int]:
    """Model folder (normalised, relative to the root) → index, made once per config, so that
    a fleet of N models costs N look-ups, not N²."""
    known = _FOLDERS.get(id(config))
    if known is not None and known[0] is config:
        return known[1]
    folders = {os.path.normpath(m.path): i for i, m in enumerate(config.models)}
    if len(_FOLDERS) >= 8:
        _FOLDERS.pop(next(iter(_FOLDERS)))
    _FOLDERS[id(config)] = (config, folders)
    return folders


def parent_model(config: ProjectConfig, entry: ModelEntry) -> ModelEntry | None:
    """The project's model whose folder is `entry`'s base: one step earlier in its lineage."""
    path = entry.base.path if entry.base else None
    if path is None or os.path.isabs(path):
        return None
    index = _models_by_folder(config).get(os.path.normpath(path))
    found = None if index is None else config.models[index]
    return found if found is not None and found is not entry else None


def card_subject(config: ProjectConfig, entry: ModelEntry) -> CardSubject:
    """What render needs of a config entry (render knows nothing of the config): also the
    original model at the root of its lineage in the project, its configured compute, and the
    provider's statements (the model's own `compliance:` values over the project's)."""
    from modelcards.render.subject import CardSubject

    parent = parent_model(config, entry)
    root, seen = entry, {entry.name}
    while (earlier := parent_model(config, root)) is not None and earlier.name not in seen:
        root, seen = earlier, seen | {earlier.name}
    original = root.base.id if root.base else None
    declared = (
        entry.base_training_flop
        or root.base_training_flop
        or (config.base_training_flop.get(original) if original else None)
    )
    provider = {**config.provider, **entry.provider}
    return CardSubject(name=entry.name, path=entry.path, base=entry.base, card=entry.card,
                       base_compute=declared, original_base=original,
                       parent=parent.name if parent else None,
                       provider=ProviderDetails(provider_details(provider)))  # fmt: skip


def provider_details(given: Mapping[str, ProviderValue]) -> dict[str, ProviderValue]:
    """In the documents' order, so that the card's fingerprint does not depend on the config's."""
    return {name: given[name] for name in PROVIDER_FIELDS if name in given}


def project_templates_digest(config: ProjectConfig, *, site: bool = False) -> str:
    return templates_digest([config.templates, builtin_templates()], site=site)


def existing_card(
    config: ProjectConfig, entry: ModelEntry, real_root: Path | None = None
) -> str | None:
    return read_project_text(
        config.root / entry.path / "README.md",
        root=config.root,
        file=f"{entry.path}/README.md",
        max_bytes=MAX_TEXT_BYTES,
        error=InspectError,
        real_root=real_root,
    )


MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # a card.json of tens of thousands of files


def previous_output(config: ProjectConfig, path: Path, real_root: Path | None = None) -> str | None:
    """A file the last build wrote, or None when it is absent or not one we could have written
    (a link, a FIFO, too large, not UTF-8): then the model is simply stale. `real_root`: the
    project root resolved, for a caller reading thousands of them."""
    try:
        return read_project_text(
            path,
            root=config.root,
            file=str(path),
            max_bytes=MAX_OUTPUT_BYTES,
            error=InspectError,
            real_root=real_root,
        )
    except ModelcardsError:
        return None


def previous_context(card_json: str | None) -> dict[str, Any]:
    """The last build's card.json as a dict; {} when it is missing or not what we write."""
    try:
        value = loads_strict(card_json or "{}", file="card.json", allow_nonfinite=True)
    except ModelcardsError:
        return {}
    return value if isinstance(value, dict) else {}


def built_deep(context: dict[str, Any]) -> bool:
    """Whether a card was made with --deep: its deep compare against the base, or its merge
    sources compared (a merge with no base has no deep compare of its own)."""
    sources = context.get("merge_sources")
    return context.get("deep") is not None or (
        isinstance(sources, list) and any(isinstance(s, dict) and s.get("deep") for s in sources)
    )


@dataclass(frozen=True)
class BaseRead:
    """A configured base as one run read it: many models share one base, read once."""

    snapshot: Snapshot | None
    files: tuple[FileEntry, ...] | None  # hashed only for a base in a folder
    unavailable: str | None = None  # a Hub base that could not be read, and why (for the card)
    detail: str | None = None  # the resolver's own words (may name local paths)
    licence: str | None = None


@dataclass
class ProjectReads:
    """What the models of one `build` or `check` share, so that 1,000 models cost 1,000 small
    reads and not a million: the outputs nested in each model's folder, found in one pass over
    the sorted paths, and every base read once."""

    nested: dict[str, frozenset[str]]
    real_root: Path  # the project root resolved once, for the thousands of files read below it
    bases: dict[tuple[str | None, str | None, str | None], BaseRead] = field(default_factory=dict)

    @classmethod
    def of(cls, config: ProjectConfig) -> ProjectReads:
        return cls(all_nested_outputs(config), real_path(config.root))


def previous_member(card_json: str | None, key: str) -> Any:
    """One top-level member of the last build's card.json (None when absent), without parsing
    the rest: build writes card.json sorted with an indent of two, so a top-level key is the
    only one that starts a line with exactly two spaces (a string never holds a raw newline).
    A file not laid out so — or holding the key twice — is parsed whole, as before."""
    text = card_json or ""
    marker = f'\n  "{key}": '
    at = text.find(marker)
    laid_out = text.startswith("{\n") and text.endswith("\n}\n")  # not cut short
    if at < 0 or text.find(marker, at + 1) >= 0 or not laid_out:
        return previous_context(card_json).get(key)
    try:
        return loads_strict(text, file="card.json", allow_nonfinite=True, start=at + len(marker))
    except ModelcardsError:
        return None


def model_state(
    config: ProjectConfig,
    entry: ModelEntry,
    cache: HashCache,
    git: ProjectGit,
    *,
    online: bool = False,
    lock: LockFile | None = None,
    reads: ProjectReads | None = None,
    deep: bool = False,
) -> ModelState:
    """The model as it is in the work tree, or as it was at `git.rev` when that is not HEAD.

    `lock`: the project's modelcards.lock (as it was at that revision), whose pinned bases are
    read first. `reads`: what this run already read for the other models. `deep`: for a card
    made with --deep, whose merge sources' files are among its inputs.
    """
    reads = reads or ProjectReads.of(config)
    at = None if git.rev == "HEAD" else git.rev
    if at is None:
        folder = config.root / entry.path
        snapshot: Snapshot = open_folder(folder, project_root=config.root)
        known = git.clean_lfs_oids(folder)
        card = existing_card(config, entry, reads.real_root)
    else:
        from modelcards.resolve.gitrepo import open_git_reference  # GitPython: a past revision

        snapshot = open_git_reference(f"git:{at}:{entry.path}", project_root=config.root)
        known = {}
        card = (
            snapshot.read_bytes("README.md", max_bytes=MAX_TEXT_BYTES).decode("utf-8", "replace")
            if snapshot.has("README.md")
            else None
        )
    nested = reads.nested[entry.path]
    folders = tuple(n for n in nested if n.endswith("/"))
    manifest = tuple(
        e
        for e in manifest_files(snapshot)
        if e.path not in nested and not e.path.startswith(folders)
    )
    files = hashed_manifest(snapshot, manifest, cache, known)
    base = BaseRead(None, None)
    if entry.base is not None:
        key = (entry.base.path, entry.base.id, entry.base.revision)
        if key not in reads.bases:
            reads.bases[key] = read_base(config, entry, cache, git, online=online, lock=lock)
        base = reads.bases[key]
    return ModelState(
        entry=entry,
        snapshot=snapshot,
        files=files,
        base_snapshot=base.snapshot,
        base_files=base.files,
        history=git.history(
            entry.path,
            tag_patterns=entry.tags,
            extra_paths=entry.training_files,
            exclude=site_folders(config),
        ),
        existing_card=card,
        training_commit=git.last_commit(entry.training_files),
        base_unavailable=base.unavailable,
        base_unavailable_detail=base.detail,
        nested_outputs=nested,
        base_licence=base.licence,
        merge_sources=_merge_sources(config, entry, snapshot, files, cache, git) if deep else None,
    )


def _merge_sources(*args: Any) -> tuple[Any, ...] | None:
    from modelcards.project.merge_identity import source_identities  # it imports this module

    return source_identities(*args)


def read_base(
    config: ProjectConfig,
    entry: ModelEntry,
    cache: HashCache,
    git: ProjectGit,
    *,
    online: bool,
    lock: LockFile | None,
) -> BaseRead:
    """`entry`'s configured base: its snapshot, its hashed files when they are a folder's."""
    base = entry.base
    assert base is not None
    at = None if git.rev == "HEAD" else git.rev
    base_path = base.path
    if at is not None and base_path and (config.root / base_path).is_dir():
        base_path = f"git:{at}:{base_path}"  # a base kept in the project, as it was then
    try:
        snapshot = resolve_base(
            base_path,
            base.id,
            base.revision,
            project_root=config.root,
            online=online,
            lock=lock,
        )
    except ResolveError as exc:
        if not names_hub_model(config.root, base_path):
            raise  # a folder or git revision of the project that is not there: fix the config
        # the card states why in words that do not depend on this machine (no cache paths);
        # the full reason goes to the progress line
        unavailable = (
            "it could not be read from the Hub" if online else UNAVAILABLE_OFFLINE
        ) + " (modelcards lock --online pins it)"
        return BaseRead(None, None, unavailable, exc.reason)
    files = None
    if snapshot.ref.kind == "path" or not snapshot.ref.revision:
        base_folder = config.root / snapshot.ref.location
        base_known = git.clean_lfs_oids(base_folder) if base_folder.is_dir() else {}
        files = hashed_manifest(snapshot, manifest_files(snapshot), cache, base_known)
    return BaseRead(snapshot, files, licence=card_licence(snapshot))


def nested_outputs(config: ProjectConfig, entry: ModelEntry) -> frozenset[str]:
    """What build writes inside `entry`'s folder that is not `entry`'s own card, relative to
    it: the card files of the models nested in it, and the site's folders ("dir/")."""
    return all_nested_outputs(config)[entry.path]


def all_nested_outputs(config: ProjectConfig) -> dict[str, frozenset[str]]:
    """`nested_outputs` of every model, from one sorted list of the models' paths: the models
    inside a folder are one run of it."""
    paths = sorted({m.path for m in config.models})
    sites = [f"{Path(d).as_posix().strip('/')}/" for d in site_folders(config)]
    result: dict[str, frozenset[str]] = {}
    for path in paths:
        prefix = "" if path in ("", ".") else path.rstrip("/") + "/"
        start = bisect.bisect_left(paths, prefix)
        inside = []
        for other in paths[start:]:
            if not other.startswith(prefix):
                break
            if other != path:
                inside.append(other)
        result[path] = frozenset(
            {f"{other[len(prefix) :]}/{name}" for other in inside for name in CARD_OUTPUTS}
            | {folder[len(prefix) :] for folder in sites if folder.startswith(prefix)}
        )
    return result


def site_folders(config: ProjectConfig) -> tuple[str, ...]:
    """The folders build writes the site into, relative to the project root."""
    return (config.site.dir, config.site.output) if config.site.enabled else ()


def project_lock(root: Path, at: str | None = None) -> LockFile | None:
    """modelcards.lock in the work tree, or as it was committed at `at` (None: there is none)."""
    if at is None:
        return load_lock(root)
    from modelcards.resolve.gitrepo import open_git_reference  # GitPython: a past revision

    tree = open_git_reference(f"git:{at}:.", project_root=root)
    if not tree.has(LOCK_NAME):
        return None
    return loads_lock(tree.read_bytes(LOCK_NAME, max_bytes=MAX_LOCK_BYTES))


def names_hub_model(root: Path, path: str | None) -> bool:
    """The base is a Hub model (an id, no folder or git revision of the project): one that may
    simply not be at hand here — not cached, offline — which a card states rather than fails on."""
    if path is None:
        return True
    if path.startswith("git:") or (root / path).exists():
        return False
    named = classify_base_name(path)
    return named is not None and named.kind == "hub"
