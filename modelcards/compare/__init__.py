"""compare: `ModelFacts` × `ModelFacts` → `ModelDiff`, significant changes first."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from modelcards.compare.keys import config_area, describe, noise_reason
from modelcards.compare.model import AREAS, Change, ModelDiff, Relation, WeightsDiff
from modelcards.compare.tensors import compare_weights
from modelcards.inspect.facts import ModelFacts, TokenizerFacts

__all__ = ["Change", "ModelDiff", "compare"]

ADAPTER_KEYS = (
    "peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "target_modules",
    "modules_to_save", "bias", "use_dora", "use_rslora", "layers_to_transform",
    "trainable_token_indices",
)  # fmt: skip
ADAPTER_DEFAULTS = {"bias": "none", "use_dora": False, "use_rslora": False}
WHOLE_VALUE_KEYS = frozenset({"id2label", "label2id", "architectures", "target_modules"})


def compare(base: ModelFacts, tuned: ModelFacts) -> ModelDiff:
    changes: list[Change] = []
    # An adapter carries no config of its own: it runs with the base's, so nothing changed there.
    inherits = tuned.is_adapter and not base.is_adapter
    changes += _file_changes(base.config, tuned.config, "config.json", config_area, inherits)
    changes += _file_changes(
        base.generation,
        tuned.generation,
        "generation_config.json",
        lambda _k: "generation",
        inherits,
    )
    changes += _tokenizer_changes(base.tokenizer, tuned.tokenizer)
    changes += _adapter_changes(base.adapter, tuned.adapter)
    weights = compare_weights(base.weights, tuned.weights, tuned_is_adapter=inherits)
    changes += _weight_changes(weights, adapter_relation=inherits)
    changes += _card_changes(base, tuned)
    changes += _code_changes(base, tuned)
    changes += _training_changes(base, tuned)
    changes.sort(key=lambda c: (not c.significant, AREAS.index(c.area)))
    return ModelDiff(
        relation=relation(base, tuned),
        base=base.source,
        tuned=tuned.source,
        changes=tuple(changes),
        weights=weights,
        notes=tuple(f"base: {n}" for n in base.notes) + tuple(f"tuned: {n}" for n in tuned.notes),
    )


def relation(base: ModelFacts, tuned: ModelFacts) -> Relation:
    """The relation as the Hub names it, from the files first and the card's claim for merges."""
    if tuned.is_adapter and not base.is_adapter:
        return "adapter"
    if (tuned.config or {}).get("quantization_config") and not (base.config or {}).get(
        "quantization_config"
    ):
        return "quantized"
    claimed = tuned.card.metadata.get("base_model_relation") if tuned.card else None
    bases = tuned.card.metadata.get("base_model") if tuned.card else None
    if tuned.merge_config or claimed == "merge" or (isinstance(bases, list) and len(bases) > 1):
        return "merge"
    return "finetune"


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, where 1 and 1.0 are the same number but True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _flat_diff(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """(key path, before, after) for every difference; nested objects are walked when both sides have them."""
    rows = []
    for key in sorted(set(before) | set(after)):
        path = f"{prefix}{key}"
        b, a = before.get(key), after.get(key)
        if _same(b, a):
            continue
        if isinstance(b, dict) and isinstance(a, dict) and key not in WHOLE_VALUE_KEYS and b and a:
            rows += _flat_diff(b, a, path + ".")
        else:
            rows.append((path, b, a))
    return rows


def _json_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, file: str, area: Any
) -> list[Change]:
    changes = []
    for key, b, a in _flat_diff(before, after):
        reason = noise_reason(key, b, a)
        meaning = describe(key, b, a) + (f" ({reason})" if reason else "")
        changes.append(Change(area(key), key, b, a, reason is None, meaning, file))
    return changes


def _normalised(config: Mapping[str, Any]) -> dict[str, Any]:
    """`torch_dtype` and its newer spelling `dtype` are one key."""
    result = dict(config)
    dtype = result.pop("torch_dtype", None)
    if result.get("dtype") or dtype:
        result["dtype"] = result.get("dtype") or dtype
    return result


def _file_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    file: str,
    area: Any,
    inherited: bool,
) -> list[Change]:
    """Key-by-key changes of one JSON file; a file on one side only is a single change."""
    if before is None and after is None or (after is None and inherited):
        return []
    if before is None or after is None:
        present = _normalised(after or before or {})
        content = {k: v for k, v in present.items() if noise_reason(k, None, v) is None}
        meaning = f"{file} {'added' if before is None else 'removed'} ({len(content)} settings)"
        if file == "generation_config.json" and after is None:
            meaning += ": generation falls back to library defaults"
        return [
            Change(area(""), "(file)", before and content, after and content, True, meaning, file)
        ]
    return _json_changes(_normalised(before), _normalised(after), file=file, area=area)


def _tokenizer_changes(base: TokenizerFacts | None, tuned: TokenizerFacts | None) -> list[Change]:
    if base is None or tuned is None:
        if base is None and tuned is None:
            return []
        present = "tuned" if tuned else "base"
        return [
            Change(
                "tokenizer",
                "files",
                base and list(base.files),
                tuned and list(tuned.files),
                True,
                f"tokenizer files present only in the {present} model",
            )
        ]
    changes: list[Change] = []
    file = "tokenizer_config.json"
    for role in sorted(set(base.special_tokens) | set(tuned.special_tokens)):
        b, a = base.special_tokens.get(role), tuned.special_tokens.get(role)
        if b != a:
            changes.append(
                Change(
                    "tokenizer",
                    f"special_tokens.{role}",
                    b,
                    a,
                    True,
                    describe(role.replace("_", " "), b, a),
                    file,
                )
            )
    extra_b, extra_a = set(base.additional_special_tokens), set(tuned.additional_special_tokens)
    if extra_b != extra_a:
        added, removed = sorted(extra_a - extra_b), sorted(extra_b - extra_a)
        changes.append(
            Change(
                "tokenizer",
                "additional_special_tokens",
                sorted(extra_b),
                sorted(extra_a),
                True,
                _added_removed("additional special tokens", added, removed),
                file,
            )
        )
    tokens_b = {t.content: t for t in base.added_tokens}
    tokens_a = {t.content: t for t in tuned.added_tokens}
    added = [t for t in tokens_a if t not in tokens_b]
    removed = [t for t in tokens_b if t not in tokens_a]
    moved = [t for t in tokens_a if t in tokens_b and tokens_a[t].id != tokens_b[t].id]
    if added or removed:
        changes.append(
            Change(
                "tokenizer",
                "added_tokens",
                [f"{tokens_b[t].id}: {t}" for t in removed],
                [f"{tokens_a[t].id}: {t}" for t in added],
                True,
                _added_removed("tokens", added, removed),
                file,
            )
        )
    if moved:
        changes.append(
            Change(
                "tokenizer",
                "added_tokens.ids",
                {t: tokens_b[t].id for t in moved},
                {t: tokens_a[t].id for t in moved},
                True,
                f"{len(moved)} added tokens have new ids (embeddings no longer line up)",
                file,
            )
        )
    if base.model_max_length != tuned.model_max_length:
        changes.append(
            Change(
                "context",
                "model_max_length",
                base.model_max_length,
                tuned.model_max_length,
                True,
                describe("model_max_length", base.model_max_length, tuned.model_max_length),
                file,
            )
        )
    if base.tokenizer_class != tuned.tokenizer_class:
        reason = (
            None if base.tokenizer_class and tuned.tokenizer_class else "only one side names it"
        )
        changes.append(
            Change(
                "tokenizer",
                "tokenizer_class",
                base.tokenizer_class,
                tuned.tokenizer_class,
                reason is None,
                describe("tokenizer class", base.tokenizer_class, tuned.tokenizer_class),
                file,
            )
        )
    changes += _chat_template_changes(base, tuned)
    return changes


def _added_removed(what: str, added: list[str], removed: list[str]) -> str:
    parts = []
    if added:
        parts.append(
            f"{len(added)} {what} added: " + ", ".join(added[:8]) + (" …" if len(added) > 8 else "")
        )
    if removed:
        parts.append(
            f"{len(removed)} {what} removed: "
            + ", ".join(removed[:8])
            + (" …" if len(removed) > 8 else "")
        )
    return "; ".join(parts)


def _chat_template_changes(base: TokenizerFacts, tuned: TokenizerFacts) -> list[Change]:
    changes = []
    for name in sorted(set(base.chat_templates) | set(tuned.chat_templates)):
        b, a = base.chat_templates.get(name), tuned.chat_templates.get(name)
        key = "chat_template" if name == "default" else f"chat_template.{name}"
        file = tuned.chat_template_file if a is not None else base.chat_template_file
        if b == a:
            continue
        if b is None:
            lines = len(a.splitlines())  # type: ignore[union-attr]
            meaning = (
                f"chat template added ({lines} line{'s' if lines != 1 else ''}): conversation "
                "formatting and safety behaviour now follow it"
            )
        elif a is None:
            meaning = "chat template removed: callers fall back to their own formatting"
        else:
            ratio = difflib.SequenceMatcher(None, b, a).ratio()
            meaning = f"chat template rewritten ({100 * (1 - ratio):.0f}% of it differs)"
        diff = "".join(difflib.unified_diff(
            (b or "").splitlines(keepends=True), (a or "").splitlines(keepends=True),
            fromfile=f"base/{base.chat_template_file or file}", tofile=f"tuned/{file}",
        ))  # fmt: skip
        changes.append(Change("chat-template", key, b, a, True, meaning, file, detail=diff))
    if (
        base.chat_template_file
        and tuned.chat_template_file
        and base.chat_template_file != tuned.chat_template_file
        and not changes
    ):
        changes.append(
            Change(
                "chat-template",
                "chat_template.file",
                base.chat_template_file,
                tuned.chat_template_file,
                False,
                "chat template moved to another file, unchanged",
            )
        )
    return changes


def _adapter_changes(
    base: Mapping[str, Any] | None, tuned: Mapping[str, Any] | None
) -> list[Change]:
    if tuned is None and base is None:
        return []
    if base is None or tuned is None:
        present = tuned if tuned is not None else base
        assert present is not None
        changes = []
        for key in ADAPTER_KEYS:
            value = present.get(key)
            if value in (None, [], {}) or ADAPTER_DEFAULTS.get(key, object()) == value:
                continue
            b, a = (None, value) if tuned is not None else (value, None)
            changes.append(
                Change("adapter", key, b, a, True, describe(key, b, a), "adapter_config.json")
            )
        return changes
    return _json_changes(base, tuned, file="adapter_config.json", area=lambda _k: "adapter")


def _weight_changes(weights: WeightsDiff, *, adapter_relation: bool) -> list[Change]:
    """Weight changes as far as coverage lets us see: totals only from complete tensor lists."""
    changes: list[Change] = []
    file = "weights"
    base_cov, tuned_cov = weights.coverage
    if weights.adapter is not None and weights.adapter.adapter_tensors:
        adapter = weights.adapter
        share = (
            f" ({100 * adapter.trainable_params / weights.base_params:.2f}% of the base)"
            if weights.base_params
            else ""
        )
        changes.append(
            Change(
                "weights",
                "adapter.trainable_params",
                None,
                adapter.trainable_params,
                True,
                f"{adapter.trainable_params:,} trainable parameters in {adapter.adapter_tensors} adapter tensors{share}, "
                f"patching {len(adapter.targeted_base_tensors)} base tensors"
                + (
                    f" and replacing {len(adapter.replaced_base_tensors)}"
                    if adapter.replaced_base_tensors
                    else ""
                ),
                file,
            )
        )
    elif (
        not adapter_relation  # an adapter's tensors are not a model: no "parameter count"
        and base_cov.tensors_complete
        and tuned_cov.tensors_complete
        and weights.base_params != weights.tuned_params
    ):
        changes.append(
            Change(
                "weights",
                "parameters",
                weights.base_params,
                weights.tuned_params,
                True,
                f"parameter count {weights.base_params:,} → {weights.tuned_params:,} "
                f"({weights.tuned_params - weights.base_params:+,})",
                file,
            )
        )
    for delta in weights.reshaped:
        changes.append(
            Change(
                "weights",
                f"tensors.{delta.name}",
                delta.before,
                delta.after,
                True,
                f"tensor {delta.name} reshaped {delta.before} → {delta.after}",
                file,
            )
        )
    by_dtype: dict[tuple[str, str], int] = {}
    for delta in weights.retyped:
        pair = (delta.before.split("[")[0], delta.after.split("[")[0])
        by_dtype[pair] = by_dtype.get(pair, 0) + 1
    for (b, a), count in sorted(by_dtype.items()):
        changes.append(
            Change(
                "precision",
                "tensors.dtype",
                b,
                a,
                True,
                f"{count} tensors stored as {a} instead of {b}",
                file,
            )
        )
    for what, names in (("added", weights.added), ("removed", weights.removed)):
        if names:
            shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
            before, after = (None, list(names)) if what == "added" else (list(names), None)
            changes.append(
                Change(
                    "weights",
                    f"tensors.{what}",
                    before,
                    after,
                    True,
                    f"{len(names)} tensors {what}: {shown}",
                    file,
                )
            )
    for rename in weights.renames:
        changes.append(
            Change(
                "weights",
                "tensors.renamed",
                rename.base_prefix or "(none)",
                rename.tuned_prefix or "(none)",
                False,
                f"{rename.count} tensors matched across a rename: prefix "
                f"'{rename.base_prefix}' → '{rename.tuned_prefix}'",
                file,
            )
        )
    for row in weights.opaque_files:
        if row["status"] in {"changed", "added", "removed"}:
            size_b = row["before"] and row["before"]["size"]
            size_a = row["after"] and row["after"]["size"]
            changes.append(
                Change(
                    "weights",
                    f"files.{row['file']}",
                    row["before"],
                    row["after"],
                    True,
                    f"weight file {row['file']} {row['status']} (compared by size/sha256 only: "
                    f"{size_b or 0:,} → {size_a or 0:,} bytes)",
                    row["file"],
                )
            )
    return changes


def _card_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    changes = []
    own = tuned.own_license  # a licence build filled in from the base is no change of licence
    if own is not None and base.license is not None and own != base.license:
        changes.append(
            Change(
                "license",
                "license",
                base.license,
                own,
                True,
                f"licence {base.license} → {own}",
                "README.md",
            )
        )
    datasets_b = _as_list(base.card.metadata.get("datasets") if base.card else None)
    datasets_a = _as_list(tuned.card.metadata.get("datasets") if tuned.card else None)
    if datasets_a != datasets_b and datasets_a:
        changes.append(
            Change(
                "data",
                "datasets",
                datasets_b or None,
                datasets_a,
                True,
                "training data named in the card: " + ", ".join(datasets_a),
                "README.md",
            )
        )
    return changes


def _code_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    added = sorted(set(tuned.code_files) - set(base.code_files))
    removed = sorted(set(base.code_files) - set(tuned.code_files))
    if not added and not removed:
        return []
    return [
        Change(
            "remote-code",
            "files",
            sorted(base.code_files),
            sorted(tuned.code_files),
            True,
            _added_removed("Python files", added, removed),
        )
    ]


def _training_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    """The training run that produced the tuned model, when it is not the base's own record."""
    record = tuned.training
    if record is None or record == base.training:
        return []
    parts = []
    if record.global_step is not None:
        parts.append(f"{record.global_step:,} steps")
    if record.epochs is not None:
        parts.append(f"{record.epochs:.2f} epochs")
    if record.final_loss is not None:
        parts.append(f"final training loss {record.final_loss:g}")
    summary = ", ".join(parts) or "training results recorded"
    after = {
        "global_step": record.global_step,
        "epochs": record.epochs,
        "final_loss": record.final_loss,
    }
    return [
        Change(
            "training", "trainer_state", None, after, True, f"trained: {summary}", record.files[0]
        )
    ]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
