"""Which folders of a project are models, and why the others are not.

A folder is looked at when it holds config.json or adapter_config.json, or top-level weight
files in a format that holds only a model (`.gguf`, `.safetensors`: a llama.cpp repository has
no config.json; `inspect.MODEL_WEIGHT_SUFFIXES` says why not `.bin`/`.pt`/`.ckpt` or `.onnx`).
It is not a model of its own when it is a sentence-transformers module listed in a modules.json,
a training checkpoint inside a model folder, a lone copy of a config.json inside a model folder,
a folder of weights only inside a model folder (an export, a copy), or when its config.json is
not a transformers config and no adapter_config.json is beside it.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcards.inspect import is_model_weight
from modelcards.project.discover.files import FolderFiles, read_folder

SKIP_DIRS = re.compile(
    r"^(\..*|node_modules|site|__pycache__|venv|env|modelcards-site|modelcards-releases)$"
)
CHECKPOINT = re.compile(r"^(?:checkpoint-(\d+)|last-checkpoint)$")
MARKERS = ("config.json", "adapter_config.json")
# keys a config.json written before transformers recorded model_type still has
LEGACY_SHAPE = ("hidden_size", "n_embd", "d_model", "dim")


@dataclass(frozen=True)
class Skipped:
    """A folder that holds model files but is not taken as a model."""

    path: str
    kind: str  # module, checkpoint, config-copy, weights-copy, not-a-model, base
    reason: str


def shown(path: str) -> str:
    """A folder as messages name it."""
    return "the project root (.)" if path == "." else path


def ancestors(path: str) -> list[str]:
    """The folders above `path` inside the project, nearest first; "." is the root."""
    if path == ".":
        return []
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)] + ["."]


def is_transformers_config(config: dict[str, Any]) -> bool:
    if "model_type" in config or "architectures" in config:
        return True
    return "vocab_size" in config and any(key in config for key in LEGACY_SHAPE)


def walk(root: Path) -> dict[str, FolderFiles]:
    """Every folder with a marker file or model weights (and every checkpoint folder with a
    trainer_state.json)."""
    found: dict[str, FolderFiles] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not SKIP_DIRS.match(d))
        relative = Path(dirpath).relative_to(root).as_posix()
        name = posixpath.basename(relative)
        if (
            any(m in filenames for m in MARKERS)
            or (CHECKPOINT.match(name) and "trainer_state.json" in filenames)
            or any(is_model_weight(f) for f in filenames)
        ):
            found[relative] = read_folder(root, relative, sorted(filenames), list(dirnames))
    return found


def _has_marker(info: FolderFiles) -> bool:
    return any(m in info.files for m in MARKERS)


def weights_only(info: FolderFiles) -> bool:
    """A model by its weight files alone: no config.json or adapter_config.json beside them."""
    return bool(info.weights) and not _has_marker(info)


def _modules(found: dict[str, FolderFiles]) -> dict[str, tuple[str, str]]:
    """Module folder → (the folder whose modules.json lists it, the module's type)."""
    listed: dict[str, tuple[str, str]] = {}
    for holder in found.values():
        for entry in holder.modules or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue
            module = entry["path"].strip().replace("\\", "/")
            if module in ("", "."):
                continue
            target = posixpath.normpath(posixpath.join(holder.path, module))
            if target.startswith("../") or target in ("..", "."):
                continue
            kind = entry.get("type")
            listed[target] = (holder.path, kind.rsplit(".", 1)[-1] if isinstance(kind, str) else "")
    return listed


def _module_reason(
    info: FolderFiles, found: dict[str, FolderFiles], listed: dict[str, tuple[str, str]]
) -> str | None:
    for folder in [info.path, *ancestors(info.path)]:
        if folder not in listed:
            continue
        holder, kind = listed[folder]
        holder_info = found.get(holder)
        is_model_module = (
            kind == "Transformer"
            and folder == info.path
            and info.config is not None
            and is_transformers_config(info.config)
        )
        if is_model_module and (holder_info is None or not _has_marker(holder_info)):
            return None  # the old layout: the transformer's own files live in 0_Transformer/
        what = (
            f"a sentence-transformers {kind} module" if kind else "a sentence-transformers module"
        )
        return f"{what} of the model in {shown(holder)}, listed in its modules.json; not a model"
    return None


def classify(root: Path, found: dict[str, FolderFiles]) -> tuple[list[FolderFiles], list[Skipped]]:
    """(model candidates in path order, skipped folders with their reasons)."""
    listed = _modules(found)
    skipped: list[Skipped] = []
    candidates: list[FolderFiles] = []
    checkpoints: list[FolderFiles] = []
    marker_folders = {p for p, info in found.items() if _has_marker(info)}
    model_folders = marker_folders | {p for p, info in found.items() if weights_only(info)}
    for path in sorted(found, key=lambda p: (p != ".", p)):
        info = found[path]
        inside = next((a for a in ancestors(path) if a in marker_folders), None)
        holder = next((a for a in ancestors(path) if a in model_folders), None)
        module = _module_reason(info, found, listed)
        if module:
            skipped.append(Skipped(path, "module", module))
        elif weights_only(info) and CHECKPOINT.match(posixpath.basename(path)):
            checkpoints.append(info)
        elif weights_only(info) and holder is not None:
            skipped.append(Skipped(
                path, "weights-copy",
                f"holds weight files only ({_listed(info.weights)}, no config.json) inside the "
                f"folder of the model in {shown(holder)}: an export or copy of its weights; "
                "not a model",
            ))  # fmt: skip
        elif CHECKPOINT.match(posixpath.basename(path)):
            checkpoints.append(info)
        elif inside is not None and info.files == {"config.json"} and not info.subdirs:
            skipped.append(Skipped(
                path, "config-copy",
                f"holds nothing but a config.json (a copy, e.g. an older version) inside the "
                f"folder of the model in {shown(inside)}; not a model",
            ))  # fmt: skip
        elif (
            info.config is not None
            and not is_transformers_config(info.config)
            and "adapter_config.json" not in info.files
        ):
            skipped.append(Skipped(
                path, "not-a-model",
                "config.json is not a transformers config (no model_type or architectures) and "
                "there is no adapter_config.json; not a model",
            ))  # fmt: skip
        else:
            candidates.append(info)
    models = {c.path for c in candidates}
    standalone: dict[str, list[FolderFiles]] = {}
    for info in checkpoints:
        parent = next((a for a in ancestors(info.path) if a in models), None)
        if parent is not None:
            skipped.append(
                Skipped(info.path, "checkpoint", _checkpoint_reason(root, info, found[parent]))
            )
        elif _has_marker(info):
            standalone.setdefault(posixpath.dirname(info.path) or ".", []).append(info)
        else:
            skipped.append(Skipped(
                info.path, "checkpoint",
                "a training checkpoint without config.json or adapter_config.json, and no model "
                "folder above it; not a model",
            ))  # fmt: skip
    for group in standalone.values():
        latest = max(group, key=_checkpoint_order)
        candidates.append(latest)
        for info in group:
            if info is not latest:
                skipped.append(Skipped(
                    info.path, "checkpoint",
                    f"an earlier training checkpoint of the same run as {latest.path} (no model "
                    f"folder above them: the latest checkpoint is taken as the model)",
                ))  # fmt: skip
    candidates.sort(key=lambda c: (c.path != ".", c.path))
    skipped.sort(key=lambda s: s.path)
    return candidates, skipped


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _checkpoint_order(info: FolderFiles) -> tuple[int, int]:
    match = CHECKPOINT.match(posixpath.basename(info.path))
    number = match.group(1) if match else None
    return (1, 0) if number is None else (0, int(number))  # last-checkpoint is the latest


def _checkpoint_reason(root: Path, info: FolderFiles, parent: FolderFiles) -> str:
    reason = f"a training checkpoint of {shown(parent.path)}; not a model of its own"
    name = posixpath.basename(info.path)
    direct = posixpath.dirname(info.path) == (parent.path if parent.path != "." else "")
    if "trainer_state.json" in parent.files or not direct:
        return reason
    folder = root if parent.path == "." else root / parent.path
    numbered = []
    for sub in parent.subdirs:
        match = CHECKPOINT.match(sub)
        if match and match.group(1) and (folder / sub / "trainer_state.json").is_file():
            numbered.append((int(match.group(1)), sub))
    if numbered and max(numbered)[1] == name:
        return (
            f"a training checkpoint of {shown(parent.path)}; its trainer_state.json is read into that "
            "model's card"
        )
    return reason
