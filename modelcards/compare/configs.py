"""Changes in the JSON files, key by key: config.json, generation_config.json, adapter_config.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelcards.compare.keys import describe, noise_reason
from modelcards.compare.model import Change

__all__ = ["adapter_changes", "file_changes"]

ADAPTER_KEYS = (
    "peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "target_modules",
    "modules_to_save", "bias", "use_dora", "use_rslora", "layers_to_transform",
    "trainable_token_indices",
)  # fmt: skip
ADAPTER_DEFAULTS = {"bias": "none", "use_dora": False, "use_rslora": False}
WHOLE_VALUE_KEYS = frozenset({"id2label", "label2id", "architectures", "target_modules"})


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, where 1 and 1.0 are the same number but True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # exact, also for an int too large for a float (no OverflowError)
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


def file_changes(
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


def adapter_changes(
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
