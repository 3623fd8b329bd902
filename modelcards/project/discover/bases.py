"""Guess a model folder's base from its own files, and say why.

Candidates, most trusted first: adapter_config.json `base_model_name_or_path`, the README front
matter `base_model` (a string or a list: the first), a GGUF header's `general.base_model.N`
(the lineage llama.cpp's converter writes: its `repo_url`, else `organization/name` when that
spells a Hub id), config.json `_name_or_path` (where the weights were loaded from when the
folder was saved). A candidate is a folder of the project, a
Hub id (a Hub URL is normalised to its id), a path on the training machine (never written as the
base), or, for `_name_or_path`, the folder itself (not a base). A Hub id whose files are in a
folder of the project (that folder's README, config or name says so) becomes the mapping form.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from modelcards.project.discover.files import FolderFiles
from modelcards.resolve.hubid import BaseName, classify_base_name, is_hub_repo_id

ADAPTER = "adapter_config.json base_model_name_or_path"
CARD = "README.md base_model"
CONFIG = "config.json _name_or_path"
# folder names that say nothing about an owner: /workspace/models/x is not the Hub id models/x
GENERIC_DIRS = frozenset(
    [
        "models",
        "model",
        "checkpoints",
        "checkpoint",
        "outputs",
        "output",
        "weights",
        "data",
        "mnt",
        "tmp",
        "shm",
        "home",
        "root",
        "workspace",
        "content",
        "cache",
        "hub",
        "snapshots",
        "pretrained",
        "base",
        "base_models",
    ]
)


@dataclass(frozen=True)
class BaseChoice:
    kind: Literal["folder", "hub", "vendored", "none"]
    path: str | None = None  # a folder of the project (folder, vendored)
    id: str | None = None  # a Hub id (hub, vendored)
    revision: str | None = None


@dataclass
class BaseGuess:
    base: BaseChoice
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    value: str
    source: str

    @property
    def file(self) -> str:
        return self.source.split(" ", 1)[0]


@dataclass(frozen=True)
class _Resolved:
    candidate: _Candidate
    kind: Literal["folder", "hub", "local", "self", "invalid"]
    folder: str | None = None
    name: BaseName | None = None
    why: str = ""

    @property
    def key(self) -> str:
        if self.kind == "folder":
            return f"folder:{self.folder}"
        if self.name is not None and self.name.id is not None:
            return f"hub:{self.name.id.lower()}"
        return f"{self.kind}:{self.candidate.value}"


def folder_name(info: FolderFiles, project_name: str) -> str:
    return project_name if info.path == "." else posixpath.basename(info.path)


def candidates(info: FolderFiles) -> tuple[list[_Candidate], list[str]]:
    """The base candidates in the order of trust, and notes about values that were not used."""
    found: list[_Candidate] = []
    notes: list[str] = []
    if info.adapter is not None:
        _add(found, notes, info.adapter.get("base_model_name_or_path"), ADAPTER)
    card = info.front_matter.get("base_model")
    if isinstance(card, list):
        usable = [v for v in card if isinstance(v, str) and v.strip()]
        if usable:
            _add(found, notes, usable[0], CARD)
        if len(usable) > 1:
            notes.append(
                f"README.md base_model also lists {', '.join(usable[1:])} (a merge or several "
                "parents: only the first is taken as the base)"
            )
    else:
        _add(found, notes, card, CARD)
    for gguf in info.gguf[:1]:  # init reads one header: a repository's files share lineage
        for base in gguf.base_models[:1]:
            spelled = f"{base.organization}/{base.name}" if base.organization and base.name else ""
            if base.repo_url:
                _add(found, notes, base.repo_url, f"{gguf.file} {base.key}.repo_url")
            elif is_hub_repo_id(spelled):
                _add(found, notes, spelled, f"{gguf.file} {base.key}.organization/name")
            else:
                notes.append(
                    f"{gguf.file} {base.key} names {base.name or '?'} without a repo_url or a "
                    "Hub id; not used"
                )
    if info.config is not None:
        _add(found, notes, info.config.get("_name_or_path"), CONFIG)
    return found, notes


def _add(found: list[_Candidate], notes: list[str], value: Any, source: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    if not isinstance(value, str):
        notes.append(f"{source} is not a string; ignored")
        return
    found.append(_Candidate(value.strip(), source))


def _same_name(text: Any, hub_id: str) -> bool:
    if not isinstance(text, str) or not text.strip():
        return False
    written, wanted = text.strip().lower(), hub_id.lower()
    return written == wanted or written == wanted.rsplit("/", 1)[-1]


def identity(info: FolderFiles, hub_id: str, project_name: str) -> str | None:
    """How the folder's own README or name says it is `hub_id`, or None."""
    front = info.front_matter
    for key in ("model_id", "model_name"):
        if _same_name(front.get(key), hub_id):
            return f"its README.md front matter {key}: {front[key]}"
    index = front.get("model-index")
    if isinstance(index, list):
        for entry in index:
            if isinstance(entry, dict) and _same_name(entry.get("name"), hub_id):
                return f"its README.md model-index name: {entry['name']}"
    if _same_name(info.heading, hub_id):
        return f"its README.md heading '# {info.heading}'"
    name = folder_name(info, project_name)
    path = (project_name if info.path == "." else info.path).lower()
    if _same_name(name, hub_id) or path.endswith("/" + hub_id.lower()):
        return f"its folder name {name}"
    return None


def _own_card_bases(info: FolderFiles) -> set[str]:
    """Hub ids (lower case) the folder's adapter config or README names as its own base."""
    names = set()
    values = [info.adapter.get("base_model_name_or_path") if info.adapter else None]
    card = info.front_matter.get("base_model")
    values += card if isinstance(card, list) else [card]
    for value in values:
        named = classify_base_name(value) if isinstance(value, str) else None
        if named is not None and named.id is not None:
            names.add(named.id.lower())
    return names


def vendored_folder(
    hub_id: str, model: FolderFiles, others: list[FolderFiles], project_name: str
) -> tuple[FolderFiles, str, list[str]] | None:
    """The project folder holding the files of `hub_id`: (folder, why, other matches)."""
    strong: list[tuple[FolderFiles, str]] = []
    weak: list[tuple[FolderFiles, str]] = []
    for other in others:
        if other.path == model.path or hub_id.lower() in _own_card_bases(other):
            continue
        why = identity(other, hub_id, project_name)
        if why:
            strong.append((other, why))
            continue
        name = other.config.get("_name_or_path") if other.config else None
        if (
            isinstance(name, str)
            and name.strip().lower() == hub_id.lower()
            and not _own_card_bases(other)
            and not other.has_training_records
            and "README.md" in other.files  # a downloaded Hub model carries its card
        ):
            weak.append((other, f"its config.json _name_or_path: {name}"))
    if not strong and len(weak) > 1:
        return None  # several folders whose config names the id: none says it holds its files
    matches = sorted(strong or weak, key=lambda m: (m[0].path.count("/"), m[0].path))
    if not matches:
        return None
    return matches[0][0], matches[0][1], [m[0].path for m in matches[1:]]


def _is_model_dir(folder: Path) -> bool:
    try:
        return any((folder / marker).is_file() for marker in ("config.json", "adapter_config.json"))
    except (OSError, ValueError):
        return False  # a name too long for the file system, a NUL byte: not a folder here


def _resolve(root: Path, info: FolderFiles, candidate: _Candidate, project_name: str) -> _Resolved:
    value = candidate.value
    folder = (root if info.path == "." else root / info.path).resolve()
    if not any(ord(c) < 32 for c in value):
        for start in (folder, root):
            try:
                target = (start / value).resolve()
            except (OSError, ValueError, RuntimeError):
                continue
            if target == folder:
                return _Resolved(candidate, "self", why="this folder itself")
            if target.is_relative_to(root.resolve()) and _is_model_dir(target):
                relative = target.relative_to(root.resolve()).as_posix() or "."
                return _Resolved(candidate, "folder", folder=relative)
    named = classify_base_name(value)
    if named is None:
        return _Resolved(candidate, "invalid")
    if named.kind == "path":
        return _Resolved(candidate, "local", name=named)
    assert named.id is not None
    if candidate.source == CONFIG:
        why = identity(info, named.id, project_name)
        name = folder_name(info, project_name).lower()
        # an un-namespaced `_name_or_path` is mostly the folder it was saved from
        if (
            why is None
            and "/" not in named.id
            and any(name.endswith(sep + named.id.lower()) for sep in "-_.")
        ):
            why = f"its folder name {folder_name(info, project_name)} ends with it"
        if why:
            return _Resolved(candidate, "self", name=named, why=why)
    return _Resolved(candidate, "hub", name=named)


def hub_id_in_path(path: str) -> tuple[str, str | None] | None:
    """A Hub id a local path spells: a Hugging Face cache folder, or its last two parts."""
    parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", "")]
    for index, part in enumerate(parts):
        if part.startswith("models--"):
            repo_id = part[len("models--") :].replace("--", "/", 1)
            if is_hub_repo_id(repo_id):
                after = parts[index + 1 : index + 3]
                revision = after[1] if len(after) == 2 and after[0] == "snapshots" else None
                return repo_id, revision
    if len(parts) >= 2 and parts[-2].lower() not in GENERIC_DIRS:
        repo_id = f"{parts[-2]}/{parts[-1]}"
        if is_hub_repo_id(repo_id):
            return repo_id, None
    return None


def guess_base(
    root: Path, info: FolderFiles, others: list[FolderFiles], project_name: str
) -> BaseGuess:
    found, notes = candidates(info)
    resolved = [_resolve(root, info, c, project_name) for c in found]
    chosen = next((r for r in resolved if r.kind in ("folder", "hub")), None)
    evidence: list[str] = []
    base = BaseChoice("none")
    if chosen is not None:
        value, source = chosen.candidate.value, chosen.candidate.source
        if chosen.kind == "folder":
            base = BaseChoice("folder", path=chosen.folder)
            where = "" if chosen.folder == value else f", the folder {chosen.folder}"
            evidence.append(f"from {source} = {value}{where}")
        else:
            assert chosen.name is not None and chosen.name.id is not None
            hub_id, revision = chosen.name.id, chosen.name.revision
            spelled = (
                ""
                if chosen.name.reference == value
                else f" (normalised to {chosen.name.reference})"
            )
            vendored = vendored_folder(hub_id, info, others, project_name)
            if vendored is not None:
                other, why, more = vendored
                base = BaseChoice("vendored", path=other.path, id=hub_id, revision=revision)
                evidence.append(
                    f"from {source} = {value}{spelled}, whose files are in {other.path} ({why})"
                )
                if more:
                    evidence.append(f"also matching {hub_id}: {', '.join(more)}")
            else:
                base = BaseChoice("hub", id=hub_id, revision=revision)
                evidence.append(f"from {source} = {value}{spelled}")
                if "/" not in hub_id and source == CONFIG:
                    evidence.append(
                        f"{hub_id} has no namespace: a legacy Hub id (like gpt2) or the name of a "
                        "folder on the machine the model was saved on; check it"
                    )
        evidence += _disagreements(chosen, resolved)
    evidence += _unused(resolved, chosen, base)
    evidence += notes
    if not found:
        evidence.append(
            "no base named in adapter_config.json, README.md, a GGUF header or config.json"
        )
    return BaseGuess(base, evidence)


def _disagreements(chosen: _Resolved, resolved: list[_Resolved]) -> list[str]:
    others = [r for r in resolved if r.kind in ("folder", "hub") and r.key != chosen.key]
    if not others:
        return []
    named = [f"{chosen.candidate.file} names {chosen.candidate.value}"]
    named += [f"{r.candidate.file} names {r.candidate.value}" for r in others]
    why = ""
    if any(" general.base_model." in r.candidate.source for r in others):
        why = (
            " (a GGUF header's general.base_model is the lineage of the model that was "
            "converted; a quantization's own base is that converted model)"
        )
    return [
        "; ".join(named) + f": {chosen.candidate.file} is trusted most (adapter_config.json, "
        "then README.md, then a GGUF header, then config.json)" + why
    ]


def _short(value: str, limit: int = 100) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _unused(resolved: list[_Resolved], chosen: _Resolved | None, base: BaseChoice) -> list[str]:
    lines: list[str] = []
    locals_: dict[str, list[str]] = {}
    for r in resolved:
        if r.kind == "local":
            locals_.setdefault(r.candidate.value, []).append(r.candidate.source)
        elif r.kind == "invalid":
            lines.append(
                f"{r.candidate.source} = {_short(r.candidate.value)!r} is neither a Hub id nor a path"
            )
        elif r.kind == "self":
            line = f"{r.candidate.source} = {r.candidate.value} names this folder itself ({r.why}): not a base"
            if chosen is None and r.name is not None and r.name.id and "/" in r.name.id:
                line += f"; if this folder is a fine-tune of the Hub model {r.name.id}, write base: {r.name.id}"
            lines.append(line)
    for value, sources in locals_.items():
        where = sources[0] + (f" (also {', '.join(sources[1:])})" if sources[1:] else "")
        line = (
            f"{where} = {value}: a path on the machine it was trained on, outside this project; "
            "never written as the base"
        )
        if base.kind == "none":
            line += " (the card says the base is recorded only as a local path)"
        suggestion = hub_id_in_path(value)
        if suggestion is not None:
            ref = f"{suggestion[0]}@{suggestion[1]}" if suggestion[1] else suggestion[0]
            line += f"; if that is the Hub model {suggestion[0]}, write base: {ref}"
        lines.append(line)
    return lines
