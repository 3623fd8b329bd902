"""One model as the project has it now: its snapshot and manifest, its base, its git history,
the card already on disk — what a card is made from, cheap to compute (hashes come from caches
and git), with nothing parsed or rendered. `build` and `check` both start here.

The files a previous build wrote are read as untrusted (`safeio/textfile.py`): a README.md that
links out of the project is an error, an output that is a link, a FIFO or too large is no output.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcards.assess.policy import today
from modelcards.history import History, ProjectGit
from modelcards.history.provenance import hashed_manifest
from modelcards.inspect import (
    CARD_OUTPUTS,
    MAX_TEXT_BYTES,
    card_licence,
    manifest_files,
)
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.render.context import CardSubject
from modelcards.render.environment import builtin_templates
from modelcards.render.fingerprint import (
    base_identity,
    inputs_fingerprint,
    templates_digest,
)
from modelcards.resolve import FileEntry, Snapshot, open_folder, resolve_base
from modelcards.resolve.gitrepo import open_git_reference
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
from modelcards.safeio.textfile import read_project_text

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

    def fingerprinter(self, config: ProjectConfig, templates: str) -> Callable[[str], str]:
        """front matter → inputs fingerprint, for `render_model`."""
        return functools.partial(self.fingerprint, config, templates)

    def fingerprint(self, config: ProjectConfig, templates: str, front_matter: str) -> str:
        base = self.base_snapshot
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
    original model at the root of its lineage in the project, and its configured compute."""
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
    return CardSubject(name=entry.name, path=entry.path, base=entry.base, card=entry.card,
                       base_compute=declared, original_base=original,
                       parent=parent.name if parent else None)  # fmt: skip


def project_templates_digest(config: ProjectConfig, *, site: bool = False) -> str:
    return templates_digest([config.templates, builtin_templates()], site=site)


def existing_card(config: ProjectConfig, entry: ModelEntry) -> str | None:
    return read_project_text(
        config.root / entry.path / "README.md",
        root=config.root,
        file=f"{entry.path}/README.md",
        max_bytes=MAX_TEXT_BYTES,
        error=InspectError,
    )


MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # a card.json of tens of thousands of files


def previous_output(config: ProjectConfig, path: Path) -> str | None:
    """A file the last build wrote, or None when it is absent or not one we could have written
    (a link, a FIFO, too large, not UTF-8): then the model is simply stale."""
    try:
        return read_project_text(
            path,
            root=config.root,
            file=str(path),
            max_bytes=MAX_OUTPUT_BYTES,
            error=InspectError,
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


def model_state(
    config: ProjectConfig,
    entry: ModelEntry,
    cache: HashCache,
    git: ProjectGit,
    *,
    online: bool = False,
    lock: LockFile | None = None,
) -> ModelState:
    """The model as it is in the work tree, or as it was at `git.rev` when that is not HEAD.

    `lock`: the project's modelcards.lock (as it was at that revision), whose pinned bases are
    read first.
    """
    at = None if git.rev == "HEAD" else git.rev
    base = entry.base
    if at is None:
        folder = config.root / entry.path
        snapshot: Snapshot = open_folder(folder, project_root=config.root)
        known = git.clean_lfs_oids(folder)
        card = existing_card(config, entry)
    else:
        snapshot = open_git_reference(f"git:{at}:{entry.path}", project_root=config.root)
        known = {}
        card = (
            snapshot.read_bytes("README.md", max_bytes=MAX_TEXT_BYTES).decode("utf-8", "replace")
            if snapshot.has("README.md")
            else None
        )
    nested = nested_outputs(config, entry)
    folders = tuple(n for n in nested if n.endswith("/"))
    manifest = tuple(
        e
        for e in manifest_files(snapshot)
        if e.path not in nested and not e.path.startswith(folders)
    )
    files = hashed_manifest(snapshot, manifest, cache, known)
    base_snapshot: Snapshot | None = None
    base_files = None
    unavailable = detail = None
    if base is not None:
        base_path = base.path
        if at is not None and base_path and (config.root / base_path).is_dir():
            base_path = f"git:{at}:{base_path}"  # a base kept in the project, as it was then
        try:
            base_snapshot = resolve_base(
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
            detail = exc.reason
    if base_snapshot is not None and (
        base_snapshot.ref.kind == "path" or not base_snapshot.ref.revision
    ):
        base_folder = config.root / base_snapshot.ref.location
        base_known = git.clean_lfs_oids(base_folder) if base_folder.is_dir() else {}
        base_files = hashed_manifest(
            base_snapshot, manifest_files(base_snapshot), cache, base_known
        )
    return ModelState(
        entry=entry,
        snapshot=snapshot,
        files=files,
        base_snapshot=base_snapshot,
        base_files=base_files,
        history=git.history(
            entry.path,
            tag_patterns=entry.tags,
            extra_paths=entry.training_files,
            exclude=site_folders(config),
        ),
        existing_card=card,
        training_commit=git.last_commit(entry.training_files),
        base_unavailable=unavailable,
        base_unavailable_detail=detail,
        nested_outputs=nested,
        base_licence=card_licence(base_snapshot) if base_snapshot is not None else None,
    )


def nested_outputs(config: ProjectConfig, entry: ModelEntry) -> frozenset[str]:
    """What build writes inside `entry`'s folder that is not `entry`'s own card, relative to
    it: the card files of the models nested in it, and the site's folders ("dir/")."""
    prefix = "" if entry.path in ("", ".") else entry.path.rstrip("/") + "/"
    cards = {
        f"{other.path[len(prefix) :]}/{name}"
        for other in config.models
        if other.path != entry.path and other.path.startswith(prefix)
        for name in CARD_OUTPUTS
    }
    sites = {
        folder[len(prefix) :]
        for folder in (f"{Path(d).as_posix().strip('/')}/" for d in site_folders(config))
        if folder.startswith(prefix)
    }
    return frozenset(cards | sites)


def site_folders(config: ProjectConfig) -> tuple[str, ...]:
    """The folders build writes the site into, relative to the project root."""
    return (config.site.dir, config.site.output) if config.site.enabled else ()


def project_lock(root: Path, at: str | None = None) -> LockFile | None:
    """modelcards.lock in the work tree, or as it was committed at `at` (None: there is none)."""
    if at is None:
        return load_lock(root)
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
