"""`modelcards init`: find model folders in a repository and guess each one's base from its files."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from modelcards.config import CONFIG_NAME
from modelcards.errors import ModelcardsError
from modelcards.inspect import inspect_snapshot
from modelcards.resolve import open_folder
from modelcards.resolve.hubid import classify_base_name, looks_like_local_path

SKIP_DIRS = re.compile(
    r"^(\..*|node_modules|site|__pycache__|venv|env|checkpoint-\d+|modelcards-site)$"
)
MODEL_MARKERS = ("config.json", "adapter_config.json")


@dataclass(frozen=True)
class Guess:
    path: str  # the model folder, relative to the root
    base: str | None  # a folder (relative to the root) or a Hub id
    base_is_path: bool
    evidence: str  # which file and key the guess came from


def find_model_folders(root: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not SKIP_DIRS.match(d))
        if any(m in filenames for m in MODEL_MARKERS):
            found.append(Path(dirpath).relative_to(root).as_posix())
    return found


def _base_candidates(root: Path, folder: str) -> list[tuple[str, str]]:
    """(value, evidence) in the order of trust: adapter config, card, config."""
    facts = inspect_snapshot(open_folder(root / folder, project_root=root))
    candidates = []
    if facts.adapter and isinstance(facts.adapter.get("base_model_name_or_path"), str):
        candidates.append(
            (
                facts.adapter["base_model_name_or_path"],
                "adapter_config.json base_model_name_or_path",
            )
        )
    card_base = facts.card.metadata.get("base_model") if facts.card else None
    if isinstance(card_base, list) and card_base:
        card_base = card_base[0]
    if isinstance(card_base, str):
        candidates.append((card_base, "README.md front matter base_model"))
    name = (facts.config or {}).get("_name_or_path")
    if isinstance(name, str) and name:
        candidates.append((name, "config.json _name_or_path"))
    return candidates


def guess_base(root: Path, folder: str, folders: list[str]) -> Guess:
    for value, evidence in _base_candidates(root, folder):
        for candidate in (root / folder / value, root / value):
            if candidate.is_dir() and candidate.resolve() != (root / folder).resolve():
                try:
                    rel = candidate.resolve().relative_to(root.resolve()).as_posix()
                except ValueError:
                    continue
                return Guess(folder, rel, True, evidence)
        if classify_base_name(value) is not None and not looks_like_local_path(value):
            local = _folder_naming(root, value, folders, folder)
            if local:
                return Guess(
                    folder, local, True, f"{evidence} = {value}, whose files are in {local}"
                )
            return Guess(folder, value, False, evidence)
    return Guess(
        folder, None, False, "no base named in adapter_config.json, README.md or config.json"
    )


def _folder_naming(root: Path, hub_id: str, folders: list[str], exclude: str) -> str | None:
    """A model folder in the repository that says it is `hub_id` (its card's model_name or path name)."""
    for other in folders:
        if other == exclude:
            continue
        if other.endswith(hub_id.split("/")[-1]) or other.replace("\\", "/").endswith(hub_id):
            return other
    return None


def render_config(guesses: list[Guess]) -> str:
    lines = [
        "# modelcards configuration (written by `modelcards init`; edit freely, comments are kept).",
        "# Each model: `path` is its folder; `base` is what it was made from: a folder, a Hub id",
        "# `org/name[@revision]`, or {path: FOLDER, id: HUB_ID} when the files of a Hub model are",
        "# vendored in the repository (the card then names the Hub id as base_model).",
        "models:",
    ]
    for guess in guesses:
        lines.append(f"  - path: {guess.path}")
        if guess.base is None:
            lines.append(f"    base: null  # {guess.evidence}: set a folder or a Hub id")
        else:
            lines.append(f"    base: {guess.base}  # from {guess.evidence}")
    lines += [
        "",
        "# site:",
        "#   dir: modelcards-site   # generated Markdown pages and mkdocs.yml",
        "#   output: site           # the built HTML",
        "#   title: Model cards",
        "# card:                    # front-matter defaults for every card",
        "#   license: apache-2.0",
        "#   language: [en]",
        "",
    ]
    return "\n".join(lines)


def init_project(root: Path, *, force: bool = False) -> tuple[Path, list[Guess]]:
    target = root / CONFIG_NAME
    if target.exists() and not force:
        raise ModelcardsError(
            f"{CONFIG_NAME} already exists (use --force to replace it)", file=str(target)
        )
    folders = find_model_folders(root)
    if not folders:
        raise ModelcardsError(
            "no model folders found (a model folder holds config.json or adapter_config.json)",
            file=str(root),
        )
    guesses = [guess_base(root, f, folders) for f in folders]
    used_as_base = {g.base for g in guesses if g.base_is_path}
    models = [g for g in guesses if g.path not in used_as_base]
    return target, models
