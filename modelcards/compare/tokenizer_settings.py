"""How the tokenizer is called by default (max_length, padding and truncation sides), compared.

Newer transformers and sentence-transformers write these keys out with the library's values;
a key that appears with exactly that value changes nothing, any other value is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelcards.compare.keys import describe
from modelcards.compare.model import Change

__all__ = ["setting_changes"]

# PreTrainedTokenizerBase's values when a key is absent
SETTING_DEFAULTS: dict[str, Any] = {
    "padding_side": "right", "truncation_side": "right", "stride": 0,
    "truncation_strategy": "longest_first", "pad_to_multiple_of": None, "pad_token_type_id": 0,
}  # fmt: skip
MEANINGS = {
    "max_length": "saved call length: callers that pass the saved arguments pad or truncate to it",
    "padding_side": "which side padding goes to in a batch",
    "truncation_side": "which side truncation cuts from",
    "add_bos_token": "whether a BOS token is prepended",
    "add_eos_token": "whether an EOS token is appended",
    "do_lower_case": "whether text is lower-cased before tokenizing",
}


def setting_changes(before: Mapping[str, Any], after: Mapping[str, Any], file: str) -> list[Change]:
    changes = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b == a and (key in before) == (key in after):
            continue
        present = a if key not in before else b if key not in after else None
        one_sided = (key in before) != (key in after)
        noise = one_sided and (
            present is None or (key in SETTING_DEFAULTS and SETTING_DEFAULTS[key] == present)
        )
        meaning = describe(f"tokenizer {key}", b, a)
        if noise:
            meaning += " (the library's default value, written out by a newer version)"
        elif key in MEANINGS:
            meaning += f" ({MEANINGS[key]})"
        area = "context" if key == "max_length" else "tokenizer"
        changes.append(Change(area, f"settings.{key}", b, a, not noise, meaning, file))
    return changes
