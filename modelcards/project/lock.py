"""`modelcards lock`: resolve the bases the project config names by Hub id, and pin them.

The lock file's format, its strict loader and the offline `LockedSnapshot` live in
`resolve/lock.py`; this is the project-level part, which knows the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelcards.project.config import ProjectConfig
from modelcards.resolve.hubid import is_revision, split_hub_reference
from modelcards.resolve.lock import (
    LOCK_NAME,
    LockEntry,
    LockFile,
    load_lock,
    lock_key,
    lock_path,
    lock_snapshot,
    write_lock,
)
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import ConfigError, ModelcardsError, ResolveError


@dataclass(frozen=True)
class LockedBase:
    """What `modelcards lock` did with one base the config names."""

    key: str
    repo_id: str
    requested: str | None
    models: tuple[str, ...]
    status: str  # "locked" (resolved now), "kept" (left as it was), "failed"
    entry: LockEntry | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "base": self.key,
            "id": self.repo_id,
            "requested_revision": self.requested,
            "models": list(self.models),
            "status": self.status,
            "revision": entry.revision if entry else None,
            "files": len(entry.files) if entry else None,
            "contents": len(entry.contents) if entry else None,
            "safetensors_headers": len(entry.safetensors_headers) if entry else None,
            "not_locked": [n.as_json() for n in entry.not_locked] if entry else [],
            "error": self.error,
        }


@dataclass(frozen=True)
class LockReport:
    bases: tuple[LockedBase, ...]
    dropped: tuple[str, ...]  # entries no model uses any more
    written: bool
    replaced_invalid: str | None = None  # why the old lock could not be read, when it was replaced

    @property
    def failed(self) -> tuple[LockedBase, ...]:
        return tuple(b for b in self.bases if b.status == "failed")


def hub_bases(config: ProjectConfig) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """lock key → (Hub id, requested revision, model names) for every base given only by id."""
    found: dict[str, tuple[str, str | None, list[str]]] = {}
    for model in config.models:
        base = model.base
        if base is None or base.path or base.id is None:
            continue
        key = lock_key(base.id, base.revision)
        found.setdefault(key, (base.id, base.revision, []))[2].append(model.name)
    return {k: (i, r, tuple(m)) for k, (i, r, m) in sorted(found.items())}


def open_for_lock(repo_id: str, revision: str | None, *, online: bool) -> Snapshot:
    """The base from the Hugging Face cache, or with `online` from the Hub itself (fresh)."""
    from modelcards.resolve import open_hub_id
    from modelcards.resolve.hub import HubSnapshot

    if revision is not None and not is_revision(revision):
        raise ResolveError(
            f"{revision!r} is not a valid Hub revision", file=lock_key(repo_id, revision)
        )
    if online:
        return HubSnapshot(repo_id, revision, hub_id=repo_id)
    return open_hub_id(repo_id, revision, hub_id=repo_id, online=False)


def update_lock(
    config: ProjectConfig,
    *,
    online: bool = False,
    only: str | None = None,
    opener: Callable[..., Snapshot] = open_for_lock,
) -> LockReport:
    """Resolve the config's Hub-id bases and write `modelcards.lock`.

    Every base is resolved again, or with `only` (an id, or an `id@revision` key) just that one;
    bases missing from the lock are always resolved. A base that fails keeps its old entry (if
    any) and is reported; the others are still written. Entries no model uses are dropped.
    """
    wanted = hub_bases(config)
    replaced_invalid = None
    try:
        old = load_lock(config.root) or LockFile()
    except ConfigError as exc:
        if only is not None:
            raise
        old, replaced_invalid = LockFile(), exc.reason
    if only is not None and not any(
        only in (key, repo_id) for key, (repo_id, _r, _m) in wanted.items()
    ):
        names = ", ".join(wanted) or "none"
        raise ConfigError(
            f"--update {only}: no model's base is that Hub id (bases given by id: {names})",
            file=config.file,
        )
    results: list[LockedBase] = []
    entries: dict[str, LockEntry] = {}
    for key, (repo_id, requested, models) in wanted.items():
        previous = old.bases.get(key)
        if previous is not None and only is not None and only not in (key, repo_id):
            entries[key] = previous
            results.append(LockedBase(key, repo_id, requested, models, "kept", previous))
            continue
        try:
            snapshot = opener(repo_id, requested, online=online)
            try:
                entry = lock_snapshot(snapshot)
            finally:
                close = getattr(snapshot, "close", None)
                if close is not None:
                    close()
        except ModelcardsError as exc:
            if previous is not None:
                entries[key] = previous
            results.append(
                LockedBase(key, repo_id, requested, models, "failed", previous, _one_line(exc))
            )
            continue
        entries[key] = entry
        results.append(LockedBase(key, repo_id, requested, models, "locked", entry))
    dropped = tuple(sorted(set(old.bases) - set(wanted)))
    if not wanted and not lock_path(config.root).exists():
        return LockReport((), (), False, replaced_invalid)  # nothing to lock: no empty file
    written = write_lock(config.root, LockFile(bases=entries))
    return LockReport(tuple(results), dropped, written, replaced_invalid)


@dataclass(frozen=True)
class LockCheck:
    key: str
    models: tuple[str, ...]
    status: str  # "ok", "missing", "other-revision"
    detail: str
    revision: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"base": self.key, "models": list(self.models), "status": self.status,
                "detail": self.detail, "revision": self.revision}  # fmt: skip


def check_lock(config: ProjectConfig) -> tuple[tuple[LockCheck, ...], tuple[str, ...]]:
    """Every Hub-id base of the config against the lock (no network): results, unused entries."""
    lock = load_lock(config.root)
    bases = lock.bases if lock else {}
    wanted = hub_bases(config)
    results = []
    for key, (repo_id, requested, models) in wanted.items():
        entry = bases.get(key)
        if entry is not None:
            results.append(LockCheck(key, models, "ok", "locked", entry.revision))
            continue
        others = [
            revision or "the default revision"
            for other_id, revision in map(_split_key, bases)
            if other_id == repo_id
        ]
        if others:
            shown = ", ".join(others)
            asked = requested or "the default revision"
            detail = (
                f"{LOCK_NAME} locks {repo_id} for {shown}, but the config asks for {asked}: "
                f"run `modelcards lock --update {repo_id}`"
            )
            results.append(LockCheck(key, models, "other-revision", detail))
        else:
            detail = f"not in {LOCK_NAME}: run `modelcards lock`"
            results.append(LockCheck(key, models, "missing", detail))
    unused = tuple(sorted(set(bases) - set(wanted)))
    return tuple(results), unused


def _split_key(key: str) -> tuple[str | None, str | None]:
    parsed = split_hub_reference(key)
    return parsed if parsed is not None else (None, None)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.split()) if text else type(exc).__name__
