"""The files a recipe is read from, one reader each, in the order their settings are trusted.

Every file is optional: one that is only a Git-LFS pointer, too large, malformed or hostile is a
note naming it, and its settings are left out. A file missing at the top level is looked for in
the latest `checkpoint-N/` folder (the Trainer writes training_args.bin and trainer_state.json
there). Nothing is unpickled or run: training_args.bin goes through `pickled_args`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from modelcards.inspect.recipe_keys import (
    RecipeValue,
    flag,
    local_name,
    number,
    settings_values,
    text,
)
from modelcards.resolve.model_files import RECIPE_FILES
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import InspectError, ModelcardsError
from modelcards.safeio.jsonfile import loads_strict
from modelcards.safeio.yamlsafe import load_yaml

MAX_CONFIG_BYTES = 1024 * 1024
MAX_STATE_BYTES = 16 * 1024 * 1024
LOG_TAIL_BYTES = 64 * 1024  # trainer_log.jsonl: only its last line is read
CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)/")
KNOWN_YAML = frozenset(n for n in RECIPE_FILES if n.endswith((".yml", ".yaml")))
AXOLOTL_KEYS = frozenset({"micro_batch_size", "sequence_len", "adapter", "lora_r",
                          "num_epochs", "sample_packing", "lora_target_linear"})  # fmt: skip
BASE_KEYS = ("model_name_or_path", "base_model", "model", "model_id_or_path")
TRAINER_STATE_KEYS = ("total_flos", "train_batch_size", "max_steps", "num_train_epochs")
README_SOURCE = "README.md (Training hyperparameters)"
TRAINER_LIST = "hyperparameters were used during training"
ST_HEADINGS = ("#### Non-Default Hyperparameters", "#### All Hyperparameters")
_TRAINER_ITEM = re.compile(r"^- ([A-Za-z0-9_ ]+): (.*)$")
_ST_ITEM = re.compile(r"^- `([^`]+)`: ?(.*)$")


class SourceReader:
    """Bounded reads of the recipe files of one snapshot; what could not be read is a note."""

    def __init__(self, snapshot: Snapshot, present: set[str]) -> None:
        self.snapshot = snapshot
        self.present = present
        self.pointers = {e.path for e in snapshot.files() if e.lfs_pointer}
        self.notes: list[str] = []

    def locate(self, name: str) -> str | None:
        """`name` at the top level, else in the latest checkpoint-N folder that has it."""
        if name in self.present or name in self.pointers:
            return name
        found = [
            (int(m.group(1)), p)
            for p in self.present | self.pointers
            if (m := CHECKPOINT_DIR.match(p)) and p[m.end() :] == name
        ]
        return max(found)[1] if found else None

    def data(self, path: str, max_bytes: int = MAX_CONFIG_BYTES) -> bytes | None:
        if path in self.pointers:
            self.notes.append(f"{path}: only a Git-LFS pointer is present; the training "
                              "settings in it were not read")  # fmt: skip
            return None
        try:
            return self.snapshot.read_bytes(path, max_bytes=max_bytes)
        except ModelcardsError as exc:
            self.notes.append(f"{path}: not read ({exc.reason})")
            return None

    def mapping(self, path: str, *, yaml: bool, max_bytes: int = MAX_CONFIG_BYTES) -> dict | None:
        data = self.data(path, max_bytes)
        if data is None:
            return None
        try:
            value = (
                load_yaml(data.decode("utf-8"), file=path, error=InspectError)
                if yaml
                else loads_strict(data, file=path, allow_nonfinite=True)
            )
        except UnicodeDecodeError:
            self.notes.append(f"{path}: not read (not UTF-8 text)")
            return None
        except ModelcardsError as exc:
            self.notes.append(f"{path}: not read ({exc.reason})")
            return None
        if not isinstance(value, dict):
            self.notes.append(f"{path}: not read (not a mapping of settings)")
            return None
        return value

    def tail_line(self, path: str) -> str | None:
        """The last non-empty line of a (possibly long) JSON-lines log."""
        if path in self.pointers:
            self.data(path)  # notes that only a pointer is there
            return None
        entry = self.snapshot.entry(path)
        if entry is None:
            return None
        start = max(0, entry.size - LOG_TAIL_BYTES)
        try:
            chunk = self.snapshot.read_range(path, start, entry.size - start)
        except ModelcardsError as exc:
            self.notes.append(f"{path}: not read ({exc.reason})")
            return None
        lines = [line for line in chunk.decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1] if lines and (start == 0 or len(lines) > 1) else None


def recipe_sources(
    reader: SourceReader,
    *,
    adapter: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    card_metadata: Mapping[str, Any] | None,
    card_body: str | None,
    state_file: str | None,
) -> tuple[list[RecipeValue], list[RecipeValue]]:
    """(every value found, in trust order; the bases the training configs name)."""
    found: list[RecipeValue] = []
    claims: list[RecipeValue] = []
    if adapter:
        found += adapter_values(adapter)
    quantization = (config or {}).get("quantization_config")
    if isinstance(quantization, dict):
        found += quantization_values(quantization, "config.json:quantization_config.")
    if (path := reader.locate("quantize_config.json")) and (q := reader.mapping(path, yaml=False)):
        found += quantization_values(q, f"{path}:")
    if (path := reader.locate("mergekit_config.yml")) and (m := reader.mapping(path, yaml=True)):
        found += merge_values(m, path)
        claims += _claims(m, path, ("base_model",))
    if path := reader.locate("training_args.bin"):
        found += _pickled(reader, path)
    for name, yaml in (("training_args.json", False), ("training_args.yaml", True),
                       ("args.json", False)):  # fmt: skip
        if (path := reader.locate(name)) and (settings := reader.mapping(path, yaml=yaml)):
            found += settings_values(settings, path)
            claims += _claims(settings, path, BASE_KEYS)
    for path in _axolotl_candidates(reader):
        settings = reader.mapping(path, yaml=True)
        if settings and "base_model" in settings and AXOLOTL_KEYS & settings.keys():
            found += settings_values(settings, path)
            claims += _claims(settings, path, ("base_model",))
    if (path := reader.locate("llamaboard_config.yaml")) and (
        board := reader.mapping(path, yaml=True)
    ):
        found += settings_values(_board(board), path)
    if state_file and (state := reader.mapping(state_file, yaml=False, max_bytes=MAX_STATE_BYTES)):
        found += settings_values(
            {k: state[k] for k in TRAINER_STATE_KEYS if k in state}, state_file
        )
    if path := reader.locate("trainer_log.jsonl"):
        found += _trainer_log(reader, path)
    found += readme_values(card_metadata, card_body)
    return found, claims


def adapter_values(adapter: Mapping[str, Any]) -> list[RecipeValue]:
    """What peft saved: the method, rank, alpha (and so the scaling), dropout, targets."""
    file = "adapter_config.json"
    peft = text(adapter.get("peft_type"))
    found: list[RecipeValue] = []
    if peft:
        method = peft
        if peft.upper() == "LORA":
            method = "DoRA" if flag(adapter.get("use_dora")) else "LoRA"
            method = "rsLoRA" if flag(adapter.get("use_rslora")) and method == "LoRA" else method
        found.append(RecipeValue("method", method, f"{file}:peft_type"))
    r, alpha = number(adapter.get("r")), number(adapter.get("lora_alpha"))
    if r is not None and r > 0:
        found.append(RecipeValue("lora_r", r, f"{file}:r"))
    if alpha is not None:
        found.append(RecipeValue("lora_alpha", alpha, f"{file}:lora_alpha"))
    if r and r > 0 and alpha is not None:
        if flag(adapter.get("use_rslora")):
            found.append(RecipeValue("lora_scaling", round(alpha / math.sqrt(r), 6),
                                     f"{file}:lora_alpha / sqrt(r) (use_rslora)"))  # fmt: skip
        else:
            found.append(RecipeValue("lora_scaling", round(alpha / r, 6),
                                     f"{file}:lora_alpha / r"))  # fmt: skip
    settings = {k: adapter[k] for k in ("lora_dropout", "target_modules") if k in adapter}
    if "modules_to_save" in adapter:
        settings["modules_to_save"] = adapter["modules_to_save"]
    return found + settings_values(settings, file)


def quantization_values(q: Mapping[str, Any], prefix: str) -> list[RecipeValue]:
    """GPTQ/AWQ (bits, group_size, desc_act, damp_percent, sym) and bitsandbytes settings."""
    found: list[RecipeValue] = []
    method = text(q.get("quant_method"))
    if method:
        found.append(RecipeValue("method", f"quantization ({method})", f"{prefix}quant_method"))
    for key, name in (("quant_bits", "bits"), ("quant_bits", "w_bit")):
        if number(q.get(name)) is not None:
            found.append(RecipeValue(key, number(q[name]), f"{prefix}{name}"))
            break
    for name in ("group_size", "q_group_size"):
        size = number(q.get(name))
        if size is not None:
            shown = "none (-1)" if size == -1 else size
            found.append(RecipeValue("quant_group_size", shown, f"{prefix}{name}"))
            break
    for key, name in (("quant_desc_act", "desc_act"), ("quant_sym", "sym")):
        if flag(q.get(name)) is not None:
            found.append(RecipeValue(key, flag(q[name]), f"{prefix}{name}"))
    if number(q.get("damp_percent")) is not None:
        found.append(RecipeValue("quant_damp", number(q["damp_percent"]), f"{prefix}damp_percent"))
    for bits in ("load_in_4bit", "load_in_8bit"):
        if q.get(bits) is True:
            found.append(RecipeValue("precision", bits, f"{prefix}{bits}"))
    if text(q.get("bnb_4bit_quant_type")) and q.get("load_in_4bit") is True:
        found.append(RecipeValue("quant_type", text(q["bnb_4bit_quant_type"]),
                                 f"{prefix}bnb_4bit_quant_type"))  # fmt: skip
    if text(q.get("bnb_4bit_compute_dtype")) and q.get("load_in_4bit") is True:
        found.append(RecipeValue("quant_compute_dtype", text(q["bnb_4bit_compute_dtype"]),
                                 f"{prefix}bnb_4bit_compute_dtype"))  # fmt: skip
    return found


def merge_values(m: Mapping[str, Any], path: str) -> list[RecipeValue]:
    """mergekit: the method, the models (with their layer ranges), base, parameters, dtype."""
    found: list[RecipeValue] = []
    if text(m.get("merge_method")):
        found.append(RecipeValue("method", f"merge ({text(m['merge_method'])})",
                                 f"{path}:merge_method"))  # fmt: skip
    sources: dict[str, list[str]] = {}
    per_model: list[str] = []
    entries: list[tuple[Any, str]] = [(e, "models") for e in _list(m.get("models"))]
    for piece in _list(m.get("slices")):
        if isinstance(piece, dict):
            entries += [(e, "slices") for e in _list(piece.get("sources"))]
    for entry, _kind in entries:
        if not isinstance(entry, dict) or not text(entry.get("model")):
            continue
        model = local_name(str(text(entry["model"])))
        layers = entry.get("layer_range")
        ranges = sources.setdefault(model, [])
        if (
            isinstance(layers, list)
            and len(layers) == 2
            and all(number(x) is not None for x in layers)
        ):
            ranges.append(f"layers {layers[0]}–{layers[1]}")
        if isinstance(entry.get("parameters"), dict):
            per_model.append(f"{model}: {_params(entry['parameters'])}")
    if sources:
        shown = tuple(f"{m}" + (f" ({', '.join(r)})" if r else "") for m, r in sources.items())
        key = "slices" if any(k == "slices" for _, k in entries) else "models"
        found.append(RecipeValue("merge_sources", shown, f"{path}:{key}"))
    if text(m.get("base_model")):
        found.append(RecipeValue("merge_base", local_name(str(text(m["base_model"]))),
                                 f"{path}:base_model"))  # fmt: skip
    described = [_params(m["parameters"])] if isinstance(m.get("parameters"), dict) else []
    described += per_model
    if described:
        found.append(RecipeValue("merge_parameters", tuple(described), f"{path}:parameters"))
    if text(m.get("dtype")):
        found.append(RecipeValue("precision", text(m["dtype"]), f"{path}:dtype"))
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _params(params: Mapping[str, Any]) -> str:
    """`t: self_attn [0, 0.5, 1]; mlp [1, 0.5, 0]; otherwise 0.5` — mergekit's per-filter curves."""
    parts = []
    for name, value in list(params.items())[:16]:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            curves = [
                f"{text(v.get('filter')) or 'otherwise'} {_short(v.get('value'))}" for v in value
            ]
            parts.append(f"{name}: " + "; ".join(curves))
        else:
            parts.append(f"{name}: {_short(value)}")
    return ", ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value[:32]) + "]"
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "none"
    return str(number(value) if number(value) is not None else text(value))


def _pickled(reader: SourceReader, path: str) -> list[RecipeValue]:
    data = reader.data(path)
    if data is None:
        return []
    # only a folder with a training_args.bin pays for pickletools and zipfile
    from modelcards.inspect.pickled_args import RefusedPickle, read_pickled_args

    try:
        args = read_pickled_args(data)
    except RefusedPickle as exc:
        reader.notes.append(f"{path}: not read ({exc}); nothing in it was unpickled or run")
        return []
    if args is None:
        reader.notes.append(f"{path}: no pickled object with settings found")
        return []
    return settings_values(args.values, path)


def _claims(settings: Mapping[str, Any], path: str, keys: tuple[str, ...]) -> list[RecipeValue]:
    for key in keys:
        value = text(settings.get(key))
        if value and not value.startswith("custom text"):
            return [RecipeValue("base_model", value, f"{path}:{key}")]
    return []


def _axolotl_candidates(reader: SourceReader) -> list[str]:
    """YAML files beside the model (top level) or in its configs/ folder, but the known ones."""
    paths = []
    for path in sorted(reader.present):
        folder, _, name = path.rpartition("/")
        if folder not in ("", "configs") or name in KNOWN_YAML:
            continue
        if name.endswith((".yml", ".yaml")):
            paths.append(path)
    return paths[:8]


def _board(board: Mapping[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory's board settings (`top.x`, `train.x`) as one flat mapping."""
    flat: dict[str, Any] = {}
    for key, value in board.items():
        scope, _, name = str(key).partition(".")
        if scope in ("top", "train") and name and value not in ("", [], None, "none"):
            flat.setdefault(name, value)
    return flat


def _trainer_log(reader: SourceReader, path: str) -> list[RecipeValue]:
    line = reader.tail_line(path)
    if line is None:
        return []
    try:
        entry = loads_strict(line, file=path, allow_nonfinite=True)
    except ModelcardsError as exc:
        reader.notes.append(f"{path}: last line not read ({exc.reason})")
        return []
    if not isinstance(entry, dict):
        return []
    return settings_values({k: entry[k] for k in ("total_steps",) if k in entry}, path)


def _readme_value(raw: str) -> Any:
    raw = raw.strip()
    if raw in ("True", "False"):
        return raw == "True"
    if raw in ("None", ""):
        return None
    parsed = number(raw)
    return parsed if parsed is not None else raw


def readme_lists(body: str) -> dict[str, Any]:
    """The Trainer card's "- key: value" hyperparameter list, or sentence-transformers'
    "#### Non-Default / All Hyperparameters" lists ("- `key`: value")."""
    settings: dict[str, Any] = {}
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if TRAINER_LIST in line:
            for item in lines[i + 1 : i + 200]:
                match = _TRAINER_ITEM.match(item.strip())
                if not match:
                    break
                settings.setdefault(match.group(1).strip(), _readme_value(match.group(2)))
        elif line.strip() in ST_HEADINGS:
            for item in lines[i + 1 : i + 400]:
                if item.startswith("#"):
                    break
                match = _ST_ITEM.match(item.strip())
                if match:
                    settings.setdefault(match.group(1), _readme_value(match.group(2)))
    return settings


def readme_values(meta: Mapping[str, Any] | None, body: str | None) -> list[RecipeValue]:
    found: list[RecipeValue] = []
    if body:
        settings = readme_lists(body)
        if settings:
            found += settings_values(settings, README_SOURCE, source=README_SOURCE)
    tags = (meta or {}).get("tags")
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and tag.startswith("loss:") and text(tag[5:]):
            found.append(RecipeValue("loss", text(tag[5:]), "README.md:tags"))
            break
    return found
