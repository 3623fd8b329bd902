"""`modelcards init`: find the models of a repository, guess each one's base, write modelcards.yml.

Only small files are read (config.json, adapter_config.json, modules.json, the README front
matter); nothing a folder holds can stop init: an unreadable file is reported for its folder.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from modelcards.project.config import CONFIG_NAME
from modelcards.project.discover.bases import BaseChoice, guess_base
from modelcards.project.discover.files import FolderFiles
from modelcards.project.discover.folders import Skipped, classify, walk, weights_only
from modelcards.project.discover.render import render_config, summary_json, summary_text
from modelcards.safeio.errors import ModelcardsError

__all__ = [
    "BaseChoice",
    "Discovery",
    "Guess",
    "Skipped",
    "discover",
    "init_project",
    "render_config",
    "summary_json",
    "summary_text",
]


@dataclass
class Guess:
    """One model init will write: its folder, a unique name, its base and why."""

    path: str
    name: str
    base: BaseChoice
    evidence: list[str] = field(default_factory=list)
    name_is_default: bool = True  # the config's default (the folder's last part) is this name


@dataclass
class Discovery:
    root: Path
    models: list[Guess]
    skipped: list[Skipped]


def project_name(root: Path) -> str:
    return _clean_name(root.resolve().name) or "model"


def _clean_name(text: str) -> str:
    return re.sub(r"\s+", " ", "".join(c if c.isprintable() else "-" for c in text)).strip()


def unique_names(paths: list[str], root_name: str) -> list[str]:
    """A non-empty name per model folder, none twice: the folder's last part, else more parts."""
    parts = [
        [root_name] if p == "." else [_clean_name(x) or "-" for x in p.split("/")] for p in paths
    ]
    depth = [1] * len(paths)

    def name(i: int) -> str:
        return "-".join(parts[i][-depth[i] :])

    while True:
        seen: dict[str, list[int]] = {}
        for i in range(len(paths)):
            seen.setdefault(name(i).lower(), []).append(i)
        clashes = [group for group in seen.values() if len(group) > 1]
        grew = False
        for group in clashes:
            for i in group:
                if depth[i] < len(parts[i]):
                    depth[i] += 1
                    grew = True
        if not clashes or not grew:
            break
    names = [name(i) for i in range(len(paths))]
    taken: set[str] = set()
    for i, candidate in enumerate(names):
        unique, n = candidate, 2
        while unique.lower() in taken:
            unique, n = f"{candidate}-{n}", n + 1
        taken.add(unique.lower())
        names[i] = unique
    return names


def discover(root: Path) -> Discovery:
    """The models of the project at `root` and the folders not taken as models, with reasons."""
    if not root.is_dir():
        raise ModelcardsError("no such folder", file=str(root))
    found = walk(root)
    candidates, skipped = classify(root, found)
    name = project_name(root)
    guesses = {c.path: guess_base(root, c, candidates, name) for c in candidates}
    for info in candidates:
        if weights_only(info):
            guesses[info.path].evidence.insert(0, _weights_evidence(info))
        for problem in info.problems:
            guesses[info.path].evidence.append(f"skipped: {problem}")
    users: dict[str, list[str]] = {}
    for path, guess in guesses.items():
        if guess.base.path is not None and guess.base.path != path:
            users.setdefault(guess.base.path, []).append(path)
    model_paths = [c.path for c in candidates if c.path not in users] or [
        c.path for c in candidates
    ]
    for base_path, using in users.items():
        if base_path not in model_paths and base_path in guesses:
            base = guesses[using[0]].base
            what = f" (the files of {base.id})" if base.kind == "vendored" else ""
            skipped.append(Skipped(base_path, "base", f"the base of {', '.join(using)}{what}"))
    for info in found.values():
        if info.path not in guesses:
            for problem in info.problems:
                skipped.append(Skipped(info.path, "unread", f"skipped: {problem}"))
    skipped.sort(key=lambda s: (s.path, s.kind == "unread"))
    names = unique_names(model_paths, name)
    models = [
        Guess(
            path=path,
            name=model_name,
            base=guesses[path].base,
            evidence=guesses[path].evidence,
            name_is_default=path != "." and model_name == posixpath.basename(path),
        )
        for path, model_name in zip(model_paths, names, strict=True)
    ]
    return Discovery(root, models, skipped)


def _weights_evidence(info: FolderFiles) -> str:
    """Why a folder without config.json was taken as a model."""
    shown = ", ".join(info.weights[:3]) + (
        f" and {len(info.weights) - 3} more" if len(info.weights) > 3 else ""
    )
    read = f"; the GGUF header of {info.gguf[0].file} read" if info.gguf else ""
    return (
        f"taken as a model by its weight files ({shown}): no config.json or "
        f"adapter_config.json{read}"
    )


def init_project(root: Path, *, force: bool = False) -> tuple[Path, Discovery]:
    target = root / CONFIG_NAME
    if target.exists() and not force:
        raise ModelcardsError(
            f"{CONFIG_NAME} already exists (use --force to replace it)", file=str(target)
        )
    found = discover(root)
    if not found.models:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in found.skipped[:3])
        raise ModelcardsError(
            "no model folders found (a model folder holds config.json, adapter_config.json or "
            "top-level .gguf/.safetensors weight files)"
            + (f"; not taken: {detail}" if detail else ""),
            file=str(root),
        )
    return target, found
