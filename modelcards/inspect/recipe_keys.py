"""One vocabulary for the training settings every stack spells its own way.

The Trainer writes `per_device_train_batch_size`, axolotl `micro_batch_size`, LLaMA-Factory's
board `batch_size`; all are the recipe's `per_device_batch`. `settings_values` maps one flat
mapping of settings (a pickled TrainingArguments, a YAML or JSON config, a README list) onto the
canonical keys, each value with the file and key it came from. Values are kept as written
(numbers as numbers), except that a path on the training machine becomes its file name, marked
local, so it is never mistaken for a published dataset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelcards.resolve.hubid import looks_like_local_path

Value = str | int | float | bool | tuple[str, ...] | None

KEY_LABELS = (
    ("method", "Method"),
    ("stage", "Training stage"),
    ("loss", "Loss"),
    ("learning_rate", "Learning rate"),
    ("lr_scheduler", "Learning-rate schedule"),
    ("warmup", "Warm-up"),
    ("per_device_batch", "Batch size per device"),
    ("gradient_accumulation", "Gradient accumulation steps"),
    ("devices", "Devices"),
    ("total_batch", "Total batch size"),
    ("epochs", "Epochs"),
    ("max_steps", "Steps planned"),
    ("sequence_length", "Sequence length"),
    ("packing", "Packing"),
    ("precision", "Precision"),
    ("optimizer", "Optimizer"),
    ("weight_decay", "Weight decay"),
    ("max_grad_norm", "Max gradient norm"),
    ("seed", "Seed"),
    ("lora_r", "LoRA rank (r)"),
    ("lora_alpha", "LoRA alpha"),
    ("lora_scaling", "LoRA scaling"),
    ("lora_dropout", "LoRA dropout"),
    ("lora_targets", "LoRA target modules"),
    ("modules_to_save", "Modules trained in full"),
    ("merge_sources", "Merged models"),
    ("merge_base", "Merge base"),
    ("merge_parameters", "Merge parameters"),
    ("quant_bits", "Quantization bits"),
    ("quant_group_size", "Quantization group size"),
    ("quant_desc_act", "Act-order (desc_act)"),
    ("quant_damp", "Dampening (damp_percent)"),
    ("quant_sym", "Symmetric quantization"),
    ("quant_type", "4-bit quantization type"),
    ("quant_compute_dtype", "Compute dtype"),
    ("datasets", "Datasets"),
    ("template", "Prompt template"),
    ("total_flos", "Total FLOs (Trainer)"),
)
KEY_ORDER = {key: i for i, (key, _) in enumerate(KEY_LABELS)}
LABELS = dict(KEY_LABELS)
MAX_VALUE_CHARS = 300  # a setting's text in the card; a template or prompt is summarised
LOCAL = " (local)"


@dataclass(frozen=True)
class RecipeValue:
    key: str  # a canonical key (KEY_LABELS)
    value: Value  # None: the file states "none" (e.g. modules_to_save null)
    source: str  # "file:key" (or "file (section)")


def number(value: Any) -> int | float | None:
    """An int or float, also from a numeric string (boards and READMEs write '5e-5')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**18 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if (
        isinstance(value, str)
        and len(value) < 40
        and re.fullmatch(r"\s*-?\d+(\.\d*)?([eE][-+]?\d+)?\s*", value)
    ):
        text = value.strip()
        parsed = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        return parsed if isinstance(parsed, int) or math.isfinite(parsed) else None
    return None


def flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def text(value: Any) -> str | None:
    """A short plain string; a long one (a template body) is summarised, not copied."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_VALUE_CHARS or "{%" in value or "\n" in value:
        return f"custom text ({len(value):,} characters)"
    return value


def local_name(value: str) -> str:
    """A path on the training machine as its file name, marked local; anything else as is."""
    if looks_like_local_path(value):
        name = value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or value
        return name + LOCAL
    return value


def names(value: Any) -> tuple[str, ...] | None:
    """A list of names, or a comma-separated string of them."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, (list, tuple)):
        parts = [t for t in (text(v) for v in value) if t]
    else:
        return None
    parts = [p for p in parts if p]
    return tuple(parts[:64]) if parts else None


# -- the table: canonical key <- (source keys, converter) -------------------------------------


def _positive(value: Any) -> int | float | None:
    n = number(value)
    return n if n is not None and n > 0 else None


def _targets(value: Any) -> Value:
    found = names(value)
    if found and len(found) == 1 and found[0].lower() in ("all", "all-linear", "all_linear"):
        return "all linear modules"
    return found


def _modules_to_save(value: Any) -> Value:
    if value is None or value == "" or value == []:
        return None
    return names(value)


STAGES = {
    "supervised fine-tuning": "sft",
    "reward modeling": "rm",
    "pre-training": "pt",
    "ppo": "ppo",
    "dpo": "dpo",
    "kto": "kto",
}


def _stage(value: Any) -> Value:
    found = text(value)
    return STAGES.get(found.lower(), found) if found else None


Converter = Callable[[Any], Value]
SIMPLE: tuple[tuple[str, tuple[str, ...], Converter], ...] = (
    ("stage", ("stage", "training_stage", "rlhf_type"), _stage),
    ("learning_rate", ("learning_rate",), _positive),
    ("lr_scheduler", ("lr_scheduler_type", "lr_scheduler"), text),
    ("per_device_batch",
     ("per_device_train_batch_size", "micro_batch_size", "train_batch_size", "batch_size"),
     _positive),
    ("gradient_accumulation", ("gradient_accumulation_steps",), _positive),
    ("devices", ("num_devices",), _positive),
    ("total_batch", ("total_train_batch_size",), _positive),
    ("epochs", ("num_train_epochs", "num_epochs"), _positive),
    ("max_steps", ("max_steps", "training_steps", "total_steps"), _positive),
    ("sequence_length", ("cutoff_len", "sequence_len", "max_seq_length", "max_length"), _positive),
    ("packing", ("packing", "sample_packing"), flag),
    ("optimizer", ("optim", "optimizer"), text),
    ("weight_decay", ("weight_decay",), number),
    ("max_grad_norm", ("max_grad_norm",), number),
    ("seed", ("seed",), number),
    ("lora_r", ("lora_rank", "lora_r"), _positive),
    ("lora_alpha", ("lora_alpha",), number),
    ("lora_dropout", ("lora_dropout",), number),
    ("lora_targets", ("lora_target_modules", "target_modules", "lora_target"), _targets),
    ("modules_to_save", ("modules_to_save", "lora_modules_to_save", "additional_target"),
     _modules_to_save),
    ("template", ("template", "chat_template"), text),
    ("total_flos", ("total_flos",), _positive),
)  # fmt: skip


def settings_values(
    settings: Mapping[str, Any], file: str, *, source: str | None = None
) -> list[RecipeValue]:
    """The recipe values of one flat mapping of settings read from `file`; each names
    `file:key`, or `source` when given (a README section has no keys of its own)."""
    found = [
        RecipeValue(v.key, v.value, source) if source else v
        for v in _settings_values(settings, file)
    ]
    return found


def _settings_values(settings: Mapping[str, Any], file: str) -> list[RecipeValue]:
    found: list[RecipeValue] = []
    for key, keys, convert in SIMPLE:
        for name in keys:
            if name in settings:
                value = convert(settings[name])
                if value is not None or convert is _modules_to_save:
                    found.append(RecipeValue(key, value, f"{file}:{name}"))
                    break
    if settings.get("lora_target_linear") is True and not any(
        v.key == "lora_targets" for v in found
    ):
        found.append(RecipeValue("lora_targets", "all linear modules",
                                 f"{file}:lora_target_linear"))  # fmt: skip
    found += _method(settings, file)
    found += _warmup(settings, file)
    found += _precision(settings, file)
    found += _datasets(settings, file)
    return found


def _method(settings: Mapping[str, Any], file: str) -> list[RecipeValue]:
    """The method a training config states: LLaMA-Factory finetuning_type, ms-swift train_type,
    axolotl adapter; with its rsLoRA/DoRA and 4-bit switches."""
    for name in ("finetuning_type", "train_type", "adapter"):
        if name not in settings:
            continue
        kind = text(settings[name])
        if kind is None:
            return (
                [RecipeValue("method", "full fine-tune", f"{file}:{name}")]
                if (name == "adapter" and "base_model" in settings)
                else []
            )
        lowered = kind.lower()
        quant = number(settings.get("quantization_bit")) or number(settings.get("quant_bits"))
        if lowered == "qlora" or (
            lowered == "lora" and (quant in (4, 8) or settings.get("load_in_4bit") is True)
        ):
            method = "QLoRA"
        elif lowered == "lora":
            method = "LoRA"
            for switch, label in (
                ("use_rslora", "rsLoRA"),
                ("peft_use_rslora", "rsLoRA"),
                ("use_dora", "DoRA"),
                ("peft_use_dora", "DoRA"),
            ):
                if flag(settings.get(switch)):
                    method = label
        elif lowered == "full":
            method = "full fine-tune"
        else:
            method = kind
        return [RecipeValue("method", method, f"{file}:{name}")]
    return []


def _warmup(settings: Mapping[str, Any], file: str) -> list[RecipeValue]:
    stated = [
        (name, number(settings[name]))
        for name in ("warmup_steps", "lr_scheduler_warmup_steps", "warmup_ratio",
                     "lr_scheduler_warmup_ratio")
        if name in settings and number(settings[name]) is not None
    ]  # fmt: skip
    for name, value in stated:
        if value:
            shown = f"{value} steps" if name.endswith("steps") else f"ratio {value}"
            return [RecipeValue("warmup", shown, f"{file}:{name}")]
    return [RecipeValue("warmup", "none", f"{file}:{stated[0][0]}")] if stated else []


def _precision(settings: Mapping[str, Any], file: str) -> list[RecipeValue]:
    """bf16/fp16/tf32 and 4/8-bit loading, as the switches that are on."""
    on: list[str] = []
    read: list[str] = []
    for name in ("bf16", "fp16", "tf32", "load_in_4bit", "load_in_8bit"):
        value = settings.get(name)
        if name in settings and value is not None and value != "":
            read.append(name)
            if value is True or (isinstance(value, str) and value.lower() == "true"):
                on.append(name)
            elif isinstance(value, str) and value.lower() == "auto":
                on.append(f"{name} auto")
    quant = number(settings.get("quantization_bit"))
    if quant in (4, 8):
        read.append("quantization_bit")
        on.append(f"load_in_{quant}bit")
    for name in ("compute_type", "mixed_precision_training", "torch_dtype"):
        if not on and text(settings.get(name)):
            read.append(name)
            on.append(str(text(settings[name])))
    if not read:
        return []
    if not on:
        if not any(n in read for n in ("bf16", "fp16")):
            return []
        value = "no mixed precision (bf16, fp16 off)"
    else:
        value = ", ".join(dict.fromkeys(on))
    return [RecipeValue("precision", value, f"{file}:{','.join(read)}")]


def _datasets(settings: Mapping[str, Any], file: str) -> list[RecipeValue]:
    """LLaMA-Factory names (entries of its local dataset_info.json), axolotl path/type
    entries, ms-swift ids or paths; a path on the training machine as its file name, local."""
    for name in ("datasets", "dataset"):
        value = settings.get(name)
        if value is None:
            continue
        items: list[str] = []
        registry = "dataset_dir" in settings  # LLaMA-Factory: names in its local registry
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, dict):
                path = text(entry.get("path"))
                kind = text(entry.get("type")) if not isinstance(entry.get("type"), dict) else None
                if path:
                    items.append(local_name(path) + (f" ({kind})" if kind else ""))
            else:
                for item in names(entry) or ():
                    named = local_name(item)
                    items.append(item + LOCAL if registry and named == item else named)
        if items:
            return [RecipeValue("datasets", tuple(items[:64]), f"{file}:{name}")]
    return []


# -- agreement: is a second source's value the same setting written another way? ---------------


def _words(value: str) -> list[str]:
    return re.findall(r"[a-z0-9_.]+", value.lower())


def agrees(a: Value, b: Value) -> bool:
    """Same value, allowing for spelling: 3 and 3.0, '5e-5' and 5e-05, a list in another order,
    'all linear modules' and the list, a name inside a sentence ('adamw_torch' in 'Use
    adamw_torch with betas=...')."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)):
            return "all linear modules" in (a, b)
        return {s.lower() for s in a} == {s.lower() for s in b}
    na, nb = number(a), number(b)
    if na is not None and nb is not None:
        return math.isclose(na, nb, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, str) and isinstance(b, str):
        if {a.lower(), b.lower()} == {"lora", "qlora"}:
            return True  # QLoRA is LoRA on a 4-bit base: the adapter cannot tell them apart
        wa, wb = _words(a), _words(b)
        if wa == wb:
            return True
        short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
        return len(short) == 1 and short[0] in long
    return a == b
