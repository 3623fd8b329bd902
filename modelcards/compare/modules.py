"""Changes in what a model computes outside config.json: a sentence-transformers pipeline
compared module by module (pooling, normalisation, sequence length, similarity), the change
from an embedding model to a plain transformers classifier, and a GPTQ branch's settings.

Sentence-transformers writes its own defaults out in newer versions (explicit pooling keys,
`prompts: {}`); a key that appears with the value the library uses when it is absent is noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from modelcards.compare.configs import _flat_diff
from modelcards.compare.keys import describe
from modelcards.compare.model import Change
from modelcards.inspect.facts import ModelFacts

__all__ = ["module_changes"]

# sentence_transformers' values when a key is absent (Pooling.__init__, SentenceTransformer)
ST_DEFAULTS: dict[str, Any] = {
    "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
    "pooling_mode_mean_tokens": True, "pooling_mode_mean_sqrt_len_tokens": False,
    "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
    "include_prompt": True, "prompts": {}, "default_prompt_name": None,
    "similarity_fn_name": "cosine", "model_type": "SentenceTransformer", "do_lower_case": False,
}  # fmt: skip
SERIALIZER = frozenset({"__version__"})
POOLING_MODES = ("cls_token", "max_tokens", "mean_tokens", "mean_sqrt_len_tokens",
                 "weightedmean_tokens", "lasttoken")  # fmt: skip


def _pipeline(modules: Any) -> list[tuple[str, str]]:
    """(module type's last name, folder) in order: [("Transformer", ""), ("Pooling", "1_Pooling")]."""
    rows = []
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and isinstance(module.get("type"), str):
            rows.append((module["type"].rsplit(".", 1)[-1], str(module.get("path") or "")))
    return rows


def _pooling_mode(config: Mapping[str, Any]) -> str | None:
    modes = [
        m
        for m in POOLING_MODES
        if config.get(f"pooling_mode_{m}", ST_DEFAULTS.get(f"pooling_mode_{m}"))
    ]
    return "+".join(modes) or None


def _json_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], file: str, area: str
) -> list[Change]:
    changes = []
    for key, b, a in _flat_diff(before, after):
        root = key.split(".", 1)[0]
        one_sided = root not in before or root not in after
        present = a if root not in before else b
        noise = (
            "written by the library, not part of the model"
            if root in SERIALIZER
            else "the library's default value, written out by a newer version"
            if one_sided and root in ST_DEFAULTS and ST_DEFAULTS[root] == present
            else "null and absent mean the same"
            if one_sided and present is None
            else None
        )
        leaf_area = "context" if key == "max_seq_length" else area
        meaning = describe(key, b, a) + (f" ({noise})" if noise else "")
        changes.append(Change(leaf_area, key, b, a, noise is None, meaning, file))
    return changes


def _sentence_transformers(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    before, after = base.module_configs, tuned.module_configs
    pipe_b, pipe_a = _pipeline(before.get("modules.json")), _pipeline(after.get("modules.json"))
    if not pipe_b and not pipe_a:
        return []
    if not pipe_a or not pipe_b:
        names = " → ".join(t for t, _ in pipe_b or pipe_a)
        arch = ", ".join(map(str, ((tuned.config or {}).get("architectures") or [])))
        if pipe_b and not tuned.is_adapter:
            meaning = f"no longer a sentence-transformers model (modules.json gone; was {names})"
            if "ForSequenceClassification" in arch:
                meaning += f": now a plain transformers classifier ({arch}) that outputs labels, not embeddings"
        elif pipe_a:
            meaning = f"now a sentence-transformers model: {names}"
        else:
            return []
        return [Change("architecture", "modules", names if pipe_b else None,
                       names if pipe_a else None, True, meaning, "modules.json")]  # fmt: skip
    changes: list[Change] = []
    types_b, types_a = [t for t, _ in pipe_b], [t for t, _ in pipe_a]
    if types_b != types_a:
        meaning = (
            f"sentence-transformers pipeline {' → '.join(types_b)} → now {' → '.join(types_a)}"
        )
        if "Normalize" in types_b and "Normalize" not in types_a:
            meaning += ": embeddings are no longer normalised to unit length (dot product and cosine now differ)"
        elif "Normalize" in types_a and "Normalize" not in types_b:
            meaning += ": embeddings are now normalised to unit length"
        changes.append(
            Change("architecture", "modules", types_b, types_a, True, meaning, "modules.json")
        )
    folders_b = {t: f for t, f in pipe_b}
    for kind, folder in pipe_a:
        old = folders_b.get(kind)
        if old is None or not folder:
            continue
        file_b, file_a = f"{old}/config.json", f"{folder}/config.json"
        conf_b, conf_a = before.get(file_b), after.get(file_a)
        if not isinstance(conf_b, dict) or not isinstance(conf_a, dict):
            continue
        if kind == "Pooling" and _pooling_mode(conf_b) != _pooling_mode(conf_a):
            changes.append(Change("architecture", "pooling_mode", _pooling_mode(conf_b),
                                  _pooling_mode(conf_a), True,
                                  f"pooling {_pooling_mode(conf_b)} → {_pooling_mode(conf_a)}: "
                                  "every embedding is computed differently", file_a))  # fmt: skip
        changes += _json_changes(conf_b, conf_a, file_a, "architecture")
    for file in ("sentence_bert_config.json", "config_sentence_transformers.json"):
        conf_b, conf_a = before.get(file), after.get(file)
        if isinstance(conf_b, dict) and isinstance(conf_a, dict):
            changes += _json_changes(conf_b, conf_a, file, "architecture")
    return changes


def _gptq(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    conf_b = base.module_configs.get("quantize_config.json")
    conf_a = tuned.module_configs.get("quantize_config.json")
    if not isinstance(conf_a, dict):
        return []
    if not isinstance(conf_b, dict):
        bits, group = conf_a.get("bits"), conf_a.get("group_size")
        return [Change("quantization", "(file)", None, dict(conf_a), True,
                       f"quantized (quantize_config.json): {bits}-bit, group size {group}",
                       "quantize_config.json")]  # fmt: skip
    changes = _json_changes(conf_b, conf_a, "quantize_config.json", "quantization")
    qc_b = (base.config or {}).get("quantization_config") or {}
    qc_a = (tuned.config or {}).get("quantization_config") or {}
    said = [  # config.json's quantization_config already says it: once is enough
        replace(c, significant=False, meaning=f"{c.meaning} (also in config.json quantization_config)")
        if isinstance(qc_b, dict) and isinstance(qc_a, dict) and c.significant
        and qc_b.get(c.key) == c.before and qc_a.get(c.key) == c.after
        else c
        for c in changes
    ]  # fmt: skip
    return said


def module_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    return _sentence_transformers(base, tuned) + _gptq(base, tuned)
