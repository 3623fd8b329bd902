"""Config differences that only say which library version wrote the file, judged with what the
other side's files show: a default written out, or a dtype the base's weights already have.

Key-level noise (a key's own library default) lives in `keys`; these need the model's type or
the base's safetensors headers, so they are judged here, after the key-by-key diff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from modelcards.compare.model import Change
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.model_family import same_family

__all__ = ["judge_noise"]

# tie_word_embeddings when a config omits it: PretrainedConfig's True, unless the model's own
# config class documents another default. Only the types listed here are judged (conservative).
TIE_DEFAULTS: dict[str, bool] = {
    **dict.fromkeys(("bert", "roberta", "distilbert", "albert", "electra", "xlm-roberta",
                     "mpnet", "deberta", "deberta-v2", "gpt2", "gpt_neo", "opt", "bloom", "t5",
                     "mt5", "bart", "mbart", "whisper", "gemma", "gemma2", "falcon"), True),
    **dict.fromkeys(("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3",
                     "qwen3_moe", "phi3", "gpt_neox", "gptj", "stablelm", "olmo"), False),
}  # fmt: skip
# config.json's dtype names → safetensors dtype codes
DTYPE_CODES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64"}


def _base_weights_dtype(base: ModelFacts) -> tuple[str, str] | None:
    """(dtype code, file) when every floating tensor of the base's read headers has one dtype."""
    floating = {t.dtype for t in base.weights.tensors.values() if t.dtype.startswith(("F", "BF"))}
    if len(floating) != 1 or not base.weights.files:
        return None
    return floating.pop(), base.weights.files[0]


def _reason(change: Change, base: ModelFacts, tuned: ModelFacts) -> str | None:
    if change.file != "config.json" or change.before is not None and change.after is not None:
        return None
    present = change.after if change.before is None else change.before
    config: Mapping[str, Any] = (tuned.config if change.before is None else base.config) or {}
    if change.key == "tie_word_embeddings":
        default = TIE_DEFAULTS.get(str(config.get("model_type")))
        if default is not None and present is default:
            return f"{present}: the default of {config.get('model_type')} configs, written out"
    if change.key == "dtype" and change.before is None and isinstance(present, str):
        found = _base_weights_dtype(base)
        if found and DTYPE_CODES.get(present) == found[0]:
            return f"what the base's weights already are ({found[0]} in {found[1]})"
        if present == "float32":
            return "float32: what transformers 4 loads a model in when its config names no dtype"
    return None


def _other_family(change: Change) -> bool:
    b, a = change.before, change.after
    return (
        change.key == "_name_or_path"
        and isinstance(b, str)
        and isinstance(a, str)
        and same_family(b, a) is False
    )


def judge_noise(changes: list[Change], base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    """The same changes, with serializer noise marked not significant and its reason said."""
    judged = []
    for change in changes:
        if _other_family(change):
            change = replace(change, meaning=f"_name_or_path {change.before} → {change.after}: "
                             "another model family, evidence of what the weights were loaded "
                             "from (written by the library; see rule MC624)")  # fmt: skip
        reason = _reason(change, base, tuned) if change.significant else None
        if reason:
            change = replace(change, significant=False, meaning=f"{change.meaning} ({reason})")
        judged.append(change)
    return judged
