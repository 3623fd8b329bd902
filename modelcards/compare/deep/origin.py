"""Is the fine-tune really made from the base it names? A verdict from the deep compare's figures.

Fine-tuning moves weights a little from where the base left them: a derived model keeps a cosine
similarity near 1 with its base on most tensors, even after full fine-tuning, while a model of the
same architecture trained from another initialisation sits near 0 (two independent matrices of n
elements: |cos| ≲ 4/√n). The verdict takes the median cosine over the compared matrices (2-D or
more, at least `MIN_ELEMENTS` elements: norms start at 1 and biases at 0 in every model, so
they would agree whatever the origin):

- `consistent`: median ≥ `CONSISTENT_FROM` (0.6);
- `not_derived`: median ≤ `UNRELATED_BELOW` (0.2): a finding (MC620, high);
- `inconclusive`: in between, or fewer than `MIN_TENSORS` matrices to judge by;
- `not_checked`: with the reason (no base weights, pointers only, --deep not run, no matched
  matrices).

The thresholds come from pairs we made (tests/deep/test_similarity.py, bench/similarity_pairs.py,
figures in bench/README.md "Is it a fine-tune"): derived models had medians of 0.78–1.0 — numpy
SGD on 8 × 64² matrices 0.84 (200 steps, ‖ΔW‖/‖W‖ 20 %) to 0.94 (20 steps), torch AdamW full
fine-tunes of a 6 × 256² MLP 0.90 (2,000 steps, 32 %) and 0.996, a trained LoRA of rank 8
merged at 58 % relative change 0.78, the bundled example 0.998 — while re-initialised,
independently trained and permuted models had |median| ≤ 0.02. Both thresholds leave a wide
margin to either side; a model in the band between is not accused, it is inconclusive.

What it does not detect: the base with its hidden units permuted (or any re-parametrisation that
computes the same function) reads as not derived, although it is the base; a model distilled from
the base, or trained from scratch on its outputs, reads as not derived (its weights are new); and
it says nothing about which data changed the weights. An adapter carries no copy of the base:
its LoRA modules are checked to fit the base's tensors by name and shape instead.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from modelcards.compare.deep.summary import DeepDiff, TensorChange
from modelcards.inspect.facts import ModelFacts

__all__ = [
    "CONSISTENT_FROM",
    "MIN_ELEMENTS",
    "MIN_TENSORS",
    "NOT_COMPARED",
    "UNRELATED_BELOW",
    "BaseCheck",
    "LowRank",
    "base_check",
    "low_rank",
    "rank_label",
    "weights_missing",
]

CONSISTENT_FROM = 0.6
UNRELATED_BELOW = 0.2
MIN_ELEMENTS = 1024
MIN_TENSORS = 3
NOT_COMPARED = "the weights were not compared (--deep)"
_STATES = {
    "absent": "has no weight files",
    "pointers": "has only Git LFS pointers, not weights",
    "partial": "has only part of its weight files",
}

Verdict = Literal["consistent", "not_derived", "inconclusive", "not_checked"]


@dataclass(frozen=True)
class BaseCheck:
    """The verdict with the figures it rests on."""

    verdict: Verdict
    median_similarity: float | None = None
    tensors: int = 0  # matrices the median is over (adapter: LoRA modules that fit)
    lowest: float | None = None
    below: int = 0  # of those, how many are below `unrelated_below`
    reason: str | None = None  # why not checked, or inconclusive
    consistent_from: float = CONSISTENT_FROM  # the thresholds judged by (a merge source's
    unrelated_below: float = UNRELATED_BELOW  # are lower: compare/deep/merge_check.py)

    @property
    def sentence(self) -> str:
        """The one sentence the card and the site show."""
        figures = (
            f"median similarity {self.median_similarity:.4g} over {self.tensors} tensors"
            if self.median_similarity is not None
            else ""
        )
        if self.verdict == "consistent" and self.median_similarity is None:
            return f"Weights consistent with the named base: {self.reason}."
        if self.verdict == "consistent":
            return f"Weights consistent with the named base ({figures})."
        if self.verdict == "not_derived":
            return (
                f"Weights are not derived from the named base ({figures}; "
                f"{self.below} of {self.tensors} below {self.unrelated_below:g})."
            )
        if self.verdict == "inconclusive":
            detail = f" ({figures})" if figures else ""
            return f"Whether the weights derive from the named base is inconclusive{detail}: {self.reason}."
        return (
            f"Whether the weights derive from the named base could not be checked: {self.reason}."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "median_similarity": self.median_similarity,
            "tensors": self.tensors,
            "lowest": self.lowest,
            "below_threshold": self.below,
            "thresholds": {
                "consistent_from": self.consistent_from,
                "unrelated_below": self.unrelated_below,
            },
            "reason": self.reason,
            "sentence": self.sentence,
        }


def _judged(row: TensorChange) -> bool:
    return (
        row.status != "skipped"
        and row.kind == "dense"
        and row.dims >= 2
        and row.numel >= MIN_ELEMENTS
        and row.similarity is not None
    )


def base_check(
    deep: DeepDiff | None,
    why_not: str | None = None,
    *,
    consistent_from: float = CONSISTENT_FROM,
    unrelated_below: float = UNRELATED_BELOW,
) -> BaseCheck:
    """The verdict for one model; `why_not` says why there is no deep compare to judge by."""
    if deep is None:
        return BaseCheck("not_checked", reason=why_not or NOT_COMPARED)
    if deep.kind == "adapter":
        return _adapter_check(deep)
    thresholds: dict[str, Any] = dict(
        consistent_from=consistent_from, unrelated_below=unrelated_below
    )
    values = sorted(r.similarity for r in deep.tensors if _judged(r) and r.similarity is not None)
    if not values:
        return BaseCheck(
            "not_checked",
            reason=f"no matched matrix of at least {MIN_ELEMENTS} elements was compared",
            **thresholds,
        )
    median = statistics.median(values)
    below = sum(v < unrelated_below for v in values)
    figures: dict[str, Any] = dict(
        median_similarity=median, tensors=len(values), lowest=values[0], below=below, **thresholds
    )
    if len(values) < MIN_TENSORS:
        reason = f"fewer than {MIN_TENSORS} matrices to judge by"
        return BaseCheck("inconclusive", reason=reason, **figures)
    if median >= consistent_from:
        return BaseCheck("consistent", **figures)
    if median <= unrelated_below:
        return BaseCheck("not_derived", **figures)
    reason = f"the median lies between {unrelated_below:g} and {consistent_from:g}"
    return BaseCheck("inconclusive", reason=reason, **figures)


def weights_missing(label: str, facts: ModelFacts) -> str | None:
    """Why `facts`' weights cannot be compared ("the base has only Git LFS pointers, not
    weights"), or None when they are there to read."""
    state = facts.weights.coverage.state
    return f"{label} {_STATES[state]}" if state in ("absent", "pointers") else None


def _adapter_check(deep: DeepDiff) -> BaseCheck:
    """An adapter: its LoRA modules fit the base tensors by name and shape (the plan's checks)."""
    modules = [r for r in deep.tensors if r.kind == "lora"]
    misfits = [
        r
        for r in modules
        if r.status == "skipped"
        and r.reason is not None
        and (r.reason == "no base tensor of that name" or r.reason.startswith("B·A is ["))
    ]
    fit = len([r for r in modules if r.status != "skipped"])
    if not modules:
        return BaseCheck("not_checked", reason="the adapter has no LoRA modules to check")
    if misfits:
        return BaseCheck(
            "inconclusive",
            tensors=fit,
            reason=f"{len(misfits)} of {len(modules)} adapter modules do not fit the base "
            f"(first: {misfits[0].name}: {misfits[0].reason})",
        )
    return BaseCheck(
        "consistent",
        tensors=fit,
        reason=f"all {fit} adapter modules fit the base's tensors by name and shape",
    )


@dataclass(frozen=True)
class LowRank:
    """Most changed matrices have a ΔW of one low effective rank: a merged LoRA, likely."""

    rank: int  # the most common effective rank
    highest: int  # the highest low rank seen (a LoRA of rank r leaves ranks ≤ r)
    tensors: int  # changed matrices with a low rank
    of: int  # changed matrices sketched
    layers: tuple[str, ...]

    @property
    def sentence(self) -> str:
        where = (
            f"layer {self.layers[0]}"
            if len(self.layers) == 1
            else f"{len(self.layers)} layers, {self.layers[0]} to {self.layers[-1]}"
            if self.layers
            else "outside the layers"
        )
        ranks = (
            f"≈ {self.rank}"
            if self.rank == self.highest
            else f"≈ {self.rank} (up to {self.highest})"
        )
        return (
            f"ΔW of {self.tensors} of {self.of} changed matrices ({where}) has effective rank "
            f"{ranks}: consistent with a merged LoRA of rank {self.highest}."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "highest": self.highest,
            "tensors": self.tensors,
            "of": self.of,
            "layers": list(self.layers),
            "sentence": self.sentence,
        }


def low_rank(deep: DeepDiff | None) -> LowRank | None:
    """A `LowRank` when more than half of the changed, sketched matrices have a rank at most a
    quarter of what their sketch can see, else None."""
    if deep is None:
        return None
    sketched = [r for r in deep.changed if r.rank_bound is not None and r.delta_rank is not None]
    low = [
        r
        for r in sketched
        if r.delta_rank is not None
        and r.rank_bound is not None
        and r.delta_rank * 4 <= r.rank_bound
    ]
    if not sketched or 2 * len(low) <= len(sketched):
        return None
    ranks = Counter(r.delta_rank for r in low if r.delta_rank is not None)
    common = max(ranks.items(), key=lambda item: (item[1], -item[0]))[0]
    in_low = {r.layer for r in low}
    layers = tuple(g.layer for g in deep.by_layer if g.layer is not None and g.layer in in_low)
    return LowRank(common, max(ranks), len(low), len(sketched), layers)


def rank_label(rows: list[TensorChange]) -> str | None:
    """The effective ranks of a group's changed matrices, as a table shows them: "8", "4–8",
    "full" (no drop within what the sketch sees), "8, full"; None when none was sketched."""
    ranks = [r for r in rows if r.status == "changed" and r.rank_bound is not None]
    if not ranks:
        return None
    low = sorted(
        {
            r.delta_rank
            for r in ranks
            if r.delta_rank is not None and r.delta_rank < (r.rank_bound or 0)
        }
    )
    full = any(r.delta_rank is not None and r.delta_rank >= (r.rank_bound or 0) for r in ranks)
    parts = [] if not low else [str(low[0]) if low[0] == low[-1] else f"{low[0]}–{low[-1]}"]
    if full:
        parts.append("full")
    return ", ".join(parts) or "unknown"
