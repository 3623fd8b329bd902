"""card.json's `base_check`: whether the weights derive from the named base, or why not known.

The verdict itself is the deep compare's (`compare/deep/origin.py`); what this adds is the reason
a model could not be checked, read from what the build saw: no base named or read, weights
absent or Git LFS pointers on either side, or the weights not compared (--deep not run).
"""

from __future__ import annotations

from typing import Any

from modelcards.compare.deep import DeepDiff
from modelcards.compare.deep.origin import base_check, low_rank, rank_label, weights_missing
from modelcards.inspect.facts import ModelFacts

__all__ = ["base_check_json", "deep_json", "why_not_checked"]


def why_not_checked(
    named: bool, tuned: ModelFacts, base: ModelFacts | None, unavailable: str | None
) -> str | None:
    """Why there is no deep compare to judge by (None: nothing stood in its way)."""
    if not named:
        return "no base is set for it in modelcards.yml"
    if base is None:
        return (
            f"the base could not be read ({unavailable})"
            if unavailable
            else "the base could not be read"
        )
    return weights_missing("the base", base) or weights_missing("the fine-tune", tuned)


def base_check_json(
    deep: DeepDiff | None,
    *,
    named: bool,
    tuned: ModelFacts,
    base: ModelFacts | None,
    unavailable: str | None,
) -> dict[str, Any]:
    why_not = None if deep is not None else why_not_checked(named, tuned, base, unavailable)
    return base_check(deep, why_not).as_json()


def deep_json(deep: DeepDiff, *, tensors: bool = False) -> dict[str, Any]:
    """The deep compare as card.json keeps it (no per-tensor rows) or `diff --format json` shows
    it (`tensors`, and the verdict beside the figures), with the merged-LoRA sentence's figures."""
    data = deep.as_json()
    for group in data["by_layer"]:
        group["delta_rank"] = rank_label([t for t in deep.tensors if t.layer == group["layer"]])
    if not tensors:
        del data["tensors"]
    found = low_rank(deep)
    data["low_rank"] = None if found is None else found.as_json()
    if tensors:
        data["base_check"] = base_check(deep).as_json()
    return data
