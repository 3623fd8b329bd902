"""What every card and the site were built from, named by git, so that `check` and a `build`
with nothing changed answer a fleet of models from one listing of the index.

A full `build` writes `<site.dir>/.modelcards-record.json`: per model a key over everything its
card is made of and everything build wrote beside it, and the risks its card.json records; and
a key of the site. A key digests the blob id of every file in the model's folder, in its
base's folder and in a deep merge card's source folders (`merge_identity.py`) — git's own id
for a file the work tree holds as committed, computed here for any other: edited, untracked,
ignored, just written — the config file, the lock, the templates, the
code that renders, the config entry with its settings, and the history as the card tells it.
A model whose key is the recorded one was current when it was recorded and is still made of
the same bytes, so it is current without being read; every other model takes the slow path
(`state.py`), which stays the authority. The key names no commit (the card's history is the one
the commit carrying the card does not change), so the record is true in the commit holding it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcards import __version__
from modelcards.history import ProjectGit
from modelcards.project.base_signing import signing_key_digest
from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.project.merge_identity import source_key
from modelcards.project.state import (
    MAX_OUTPUT_BYTES,
    assess_settings,
    built_deep,
    entry_json,
    project_templates_digest,
    site_folders,
)
from modelcards.render.fingerprint import digest, history_digest
from modelcards.resolve.lock import LOCK_NAME, LockFile
from modelcards.safeio.hashcache import HashCache
from modelcards.safeio.textfile import written_text as regular_text

if TYPE_CHECKING:
    from modelcards.publish.site_units import SiteStamp
    from modelcards.render import RenderedModel

__all__ = ["RECORD", "KeyMaker", "Record", "read_record", "record_text", "recorded_models",
           "write_record"]  # fmt: skip

RECORD = ".modelcards-record.json"  # in the site folder, beside mkdocs.yml
RECORD_FORMAT = "modelcards check record 1"
MAX_RECORD_BYTES = 64 * 1024 * 1024
HASHED_AS_BLOB = 64 * 1024 * 1024  # a larger file off the index is named by its cached sha256


def blob_id(data: bytes) -> str:
    """The id git gives a blob of `data` (`git hash-object --no-filters`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class KeyMaker:
    """Keys of one project at HEAD; `written`: project-relative path → the text build has just
    written there (named by that text, whatever the index says of the file before)."""

    config: ProjectConfig
    git: ProjectGit
    cache: HashCache
    lock: LockFile | None
    written: Mapping[str, str] = field(default_factory=dict)
    keys: dict[str, str | None] = field(default_factory=dict)  # model path → its key, as made
    _folders: dict[str, list[Any]] = field(default_factory=dict)
    _project: list[Any] | None = None

    def __post_init__(self) -> None:
        self.ready = self.git.repo is not None and self.git.head is not None
        self.outside: set[str] = set()  # folders that lead out of the project
        if self.ready:
            assert self.git.top is not None
            self.root = os.path.realpath(self.config.root)
            self.top = os.path.realpath(self.git.top)
            self.ready = self.root == self.top or self.root.startswith(self.top + os.sep)
            self.clean = self.git.work_tree().clean
            self.skip = frozenset(
                os.path.realpath(os.path.join(self.root, d)) for d in site_folders(self.config)
            )

    def project(self) -> list[Any] | None:
        """What every key shares: the tool and its rendering code, the config file, the lock,
        the templates (None: the config file cannot be read)."""
        if self._project is None:
            from modelcards.publish.code_digest import code_digest

            try:
                config = (self.config.root / self.config.file).read_bytes()
            except OSError:
                return None
            lock_file = self.config.root / LOCK_NAME
            lock = lock_file.read_bytes() if lock_file.is_file() else b""
            self._project = [
                RECORD_FORMAT, __version__, code_digest(),
                hashlib.sha256(config).hexdigest(), hashlib.sha256(lock).hexdigest(),
                project_templates_digest(self.config, site=True),
            ]  # fmt: skip
        return self._project

    def folder(self, relative: str) -> list[Any]:
        """(path, id) of every file under a project folder, the site folders left out."""
        if relative not in self._folders:
            self._folders[relative] = self._walk(relative)
        return self._folders[relative]

    def _walk(self, relative: str) -> list[Any]:
        start = os.path.realpath(os.path.join(self.root, relative))
        if start != self.root and not start.startswith(self.root + os.sep):
            self.outside.add(relative)  # a folder out of the project is no folder of ours
            return []
        if not os.path.isdir(start):
            return []
        top_of = os.path.relpath(start, self.top).replace(os.sep, "/")
        top_prefix = "" if top_of == "." else top_of + "/"
        own = Path(relative).as_posix()
        own_prefix = "" if own == "." else own + "/"
        found: list[Any] = []
        self._scan(start, "", top_prefix, own_prefix, found)
        return found

    def _scan(self, folder: str, above: str, top: str, own: str, found: list[Any]) -> None:
        """`folder`'s files (a link to a folder is one) in name order, then each sub-folder's
        the same way, as `os.walk` meets them; `.git` and the site folders left out."""
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            return  # as os.walk: a folder that cannot be listed holds nothing
        folders = []
        for entry in entries:
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            if is_folder and (entry.name == ".git" or entry.path in self.skip):
                continue
            if is_folder and not entry.is_symlink():
                folders.append(entry)
                continue
            rel = above + entry.name
            found.append((rel, self._file_id(entry.path, top + rel, own + rel)))
        for entry in folders:
            self._scan(entry.path, f"{above}{entry.name}/", top, own, found)

    def _file_id(self, full: str, top_relative: str, project_relative: str) -> str:
        """git's blob id of a file, from the index when the work tree holds it as committed."""
        text = self.written.get(project_relative)
        if text is not None:
            return blob_id(text.encode("utf-8", "surrogatepass"))
        known = self.clean.get(top_relative)
        if known is not None:  # a file (or link) as committed: git has just compared it
            return known
        info = os.lstat(full)
        if stat.S_ISLNK(info.st_mode):
            return "link:" + os.readlink(full)
        if not stat.S_ISREG(info.st_mode):
            return "other"
        if info.st_size > HASHED_AS_BLOB:
            return "sha256:" + self.cache.file_sha256(Path(full), resolved=True)
        return self.cache.file_blob_id(full, resolved=True)  # a string: thousands of files

    def base_folder(self, entry: ModelEntry) -> str | None:
        """The project folder `entry`'s base is read from, if it is one."""
        base = self.base(entry)
        return base[1] if base and base[0] == "folder" else None

    def base(self, entry: ModelEntry) -> list[Any] | None:
        """The base as a key names it; None when it is read from outside the project (the Hub,
        its cache) and not pinned in the lock."""
        base = entry.base
        if base is None:
            return []
        if base.path and not base.path.startswith("git:"):
            if (self.config.root / base.path).is_dir():
                return ["folder", base.path, base.id, base.revision, self.folder(base.path)]
            return None
        if base.path is None and base.id and self.lock and self.lock.entry(base.id, base.revision):
            return ["lock", base.id, base.revision]
        return None

    def model(self, entry: ModelEntry) -> str | None:
        """The key of a model; None when it has none (no git, a base from outside)."""
        project = self.project() if self.ready else None
        base = self.base(entry) if project is not None else None
        files = self.folder(entry.path) if base is not None else []
        sources = source_key(self, entry, files) if base is not None else None
        if (
            project is None
            or base is None
            or sources is None
            or self.outside & {entry.path, *base[1:2]}
        ):
            self.keys[entry.path] = None
            return None
        history = self.git.history(
            entry.path,
            tag_patterns=entry.tags,
            extra_paths=entry.training_files,
            exclude=site_folders(self.config),
        )
        key = self.keys[entry.path] = digest({
            "project": project,
            "entry": entry_json(entry),
            "assess": assess_settings(self.config, entry),
            "files": files,
            "base": base,
            "history": history_digest(history),
            "signing_key": signing_key_digest(self.config, entry),
            **({"merge_sources": sources} if sources else {}),
        })  # fmt: skip
        return key

    def site(self) -> str | None:
        """The site's key: every model's (as made), and every file of the site folder but the
        record; None when a model has none."""
        keys = self.keys
        project = self.project() if self.ready else None
        if project is None or None in keys.values() or not self.config.site.enabled:
            return None
        files = [f for f in self._walk(self.config.site.dir) if f[0] != RECORD]
        return digest({"project": project, "models": dict(keys), "files": files})


@dataclass(frozen=True)
class Record:
    """A record as read back: model path → (key, the risks its card.json records, unwaived)."""

    models: Mapping[str, tuple[str, list[Any]]]
    site: str | None
    stamp: SiteStamp | None = None  # the site sources' fingerprints (`publish/site_units.py`)

    def current(self, path: str, key: str | None) -> bool:
        recorded = self.models.get(path)
        return key is not None and recorded is not None and recorded[0] == key

    def site_current(self, key: str | None) -> bool:
        return key is not None and key == self.site

    def site_sources(self, config: ProjectConfig) -> SiteStamp | None:
        """The site sources' fingerprints as recorded, when the tools are those they were made
        with (the record's key does not name their versions)."""
        from modelcards.publish.site_units import shell_digest

        shell = shell_digest(config.root / config.site.dir / "mkdocs.yml")
        return self.stamp if self.stamp is not None and self.stamp.shell == shell else None


def read_record(config: ProjectConfig) -> Record | None:
    """The record the last full build wrote; None when there is none, or not one it wrote."""
    from modelcards.project.state import previous_output

    text = previous_output(config, config.root / config.site.dir / RECORD)
    if text is None or len(text) > MAX_RECORD_BYTES:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    models, site = data.get("models"), data.get("site")
    if not isinstance(models, dict) or not (site is None or isinstance(site, str)):
        return None
    found = {}
    for path, value in models.items():
        if (
            isinstance(value, dict)
            and isinstance(value.get("key"), str)
            and isinstance(value.get("risks"), list)
        ):
            found[path] = (value["key"], value["risks"])
    stamp = data.get("stamp")
    shell = stamp.get("shell") if isinstance(stamp, dict) else None
    units = stamp.get("units") if isinstance(stamp, dict) else None
    if not isinstance(shell, str) or not isinstance(units, dict):
        return Record(found, site)
    if not all(isinstance(v, str) for v in units.values()):
        return Record(found, site)
    from modelcards.publish.site_units import SiteStamp  # its YAML reader: for builds only

    return Record(found, site, SiteStamp(shell, units))


def unwaived(risks: Any) -> list[Any]:
    """The risks `check` may report on (a waived one it never does), with what it reports."""
    if not isinstance(risks, list):
        return []
    kept = []
    for risk in risks:
        if isinstance(risk, dict) and not risk.get("waived"):
            waiver = risk.get("waiver")
            expires = waiver.get("expires") if isinstance(waiver, dict) else None
            kept.append({
                **{key: risk.get(key) for key in ("rule", "file", "message", "severity")},
                "waiver_expired": risk.get("waiver_expired"),
                "waiver": {"expires": expires} if isinstance(waiver, dict) else None,
            })  # fmt: skip
    return kept


def record_text(
    keys: Mapping[str, str | None],
    risks: Mapping[str, Any],
    site: str | None,
    stamp: SiteStamp | None = None,
) -> str:
    models = {
        path: {"key": key, "risks": unwaived(risks.get(path))}
        for path, key in sorted(keys.items())
        if key is not None
    }
    data = {
        "format": RECORD_FORMAT,
        "models": models,
        "site": site,
        "stamp": None if stamp is None else {"shell": stamp.shell, "units": stamp.units},
    }
    # compact: the standard library's C encoder (an indent would take its Python one)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def recorded_models(
    config: ProjectConfig, record: Record, keys: KeyMaker, *, deep: bool
) -> dict[str, RenderedModel]:
    """model path → its files as the last build wrote them, for every model whose key is the
    recorded one (each key is made here, so that `keys.site()` can be asked next)."""
    real_root = os.path.realpath(config.root)
    found = {}
    for entry in config.models:
        if record.current(entry.path, keys.model(entry)):
            model = recorded_model(config, entry, real_root, deep=deep)
            if model is not None:
                found[entry.path] = model
    return found


def written_text(path: str) -> str | None:
    """A file a build wrote in a folder inside the project (a key says so): never a link."""
    return regular_text(path, MAX_OUTPUT_BYTES)


def recorded_model(
    config: ProjectConfig, entry: ModelEntry, real_root: str, *, deep: bool
) -> RenderedModel | None:
    """The model's files on disk: those build wrote, as its key says (so its card.json is read
    with the standard parser); None when one is missing or was made with(out) --deep."""
    from modelcards.render import RenderedModel

    folder = os.path.join(real_root, entry.path)
    texts = [
        written_text(os.path.join(folder, name))
        for name in ("README.md", "CHANGES.md", "card.json", "weight-changes.svg")
    ]
    card, changes, card_json, heatmap = texts
    if card is None or changes is None or card_json is None:
        return None
    try:
        context = json.loads(card_json)
    except (ValueError, RecursionError):
        return None
    if not isinstance(context, dict) or built_deep(context) != deep:
        return None
    return RenderedModel(entry.name, entry.path, context, card, changes, card_json, heatmap)


def write_record(
    config: ProjectConfig,
    keys: KeyMaker,
    models: list[RenderedModel],
    written: Mapping[str, str],
    known: Mapping[str, RenderedModel],
    stamp: SiteStamp | None,
) -> list[str]:
    """Write the record of a full build (the `models` it documented, the `written` texts of
    its cards and site); [its project-relative path] when its bytes changed. The keys of the
    models it took as recorded (`known`) are those `keys` made: none of their files changed."""
    from modelcards.safeio.write import write_atomic

    after = KeyMaker(config, keys.git, keys.cache, keys.lock, written=written)
    after.keys = {path: key for path, key in keys.keys.items() if path in known}
    entries = {entry.path: entry for entry in config.models}
    for model in models:
        if model.path not in known:
            after.model(entries[model.path])
    risks = {model.path: model.context.get("risks") for model in models}
    relative = f"{config.site.dir}/{RECORD}"
    changed = write_atomic(
        config.root / relative, record_text(after.keys, risks, after.site(), stamp)
    )
    return [relative] if changed else []
