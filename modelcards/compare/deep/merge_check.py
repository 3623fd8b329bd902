"""Is each model a mergekit config names really in the merge? The base verdict, per source.

A merge is no fine-tune of one model: each layer is a blend of its sources. For a linear or
SLERP merge M = Σ wᵢ·Sᵢ of sources that share nothing, cos(M, Sᵢ) = wᵢ / √Σwⱼ² — 0.71 for two
equal weights, 0.58 for three, 0.24 for a 0.2 share against 0.8 — while a model of the same
architecture that is not in the merge sits near 0 (|cos| ≲ 4/√n per matrix, and the median of
many much closer). Sources that are fine-tunes of one base (the usual case) are near 1 with the
merge, each of them, because they are near 1 with each other. So for a merge source:

- `consistent` ("its weights are in the merge"): median ≥ `MERGE_CONSISTENT_FROM` (0.25);
- `not_derived` ("not in the merge"): median ≤ `MERGE_UNRELATED_BELOW` (0.1): a finding
  (MC626, high), naming the source;
- `inconclusive` in between (a small share among unrelated sources), or fewer than 3 matrices;
- `not_checked` with the reason: the source is not local (no folder in the project, not in the
  Hugging Face cache), only Git LFS pointers, no matched matrices, its layers moved by slices,
  or --deep not run.

Measured (bench/merge_sources.py, 8 × 256² matrices and an embedding, F32; figures in
bench/README.md "Merge sources"; tests/deep/test_merge_sources.py on 8 × 64²): sources that
share nothing gave 0.707 with each in a 50/50 linear merge and in a SLERP at t = 0.5, 0.577
each of three, 0.50 each of four, 0.949 / 0.317 at 0.75 / 0.25, 0.951 / 0.310 for SLERP at
t = 0.2, and 0.994 / 0.112 at 0.9 / 0.1 (that last share reads as inconclusive); fine-tunes
of one base merged linearly or TIES-like gave 0.98–0.996 with each and with the base; a model
of the same shapes that is not in the merge gave −0.001 (lowest −0.005). So a share of about
a tenth or less among unrelated sources cannot be told from absence: it is inconclusive, and
a share under ~0.09 would read as not in the merge — with sources that share a base (the usual
merge) every source sits near 1. What the base check does not detect (compare/deep/origin.py:
permuted units, distillation) holds here too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from modelcards.compare.deep.names import layer_of
from modelcards.compare.deep.origin import BaseCheck, base_check
from modelcards.compare.deep.summary import DeepDiff

__all__ = [
    "MERGE_CONSISTENT_FROM",
    "MERGE_UNRELATED_BELOW",
    "SourceCheck",
    "not_checked",
    "source_verdict",
]

MERGE_CONSISTENT_FROM = 0.25
MERGE_UNRELATED_BELOW = 0.1


@dataclass(frozen=True)
class SourceCheck:
    """One merge source: what the config calls it, where its files were read, the verdict."""

    reference: str  # as the config writes it
    roles: tuple[str, ...]  # "models", "slices", "base_model"
    location: str | None  # project path or Hub id its files were read from; None: not read
    check: BaseCheck
    outside: bool = False  # a path leading outside the project, refused
    deep: bool = True  # checked in a --deep build (False: listed only, nothing read)

    @property
    def sentence(self) -> str:
        c = self.check
        figures = (
            f"median similarity {c.median_similarity:.4g} over {c.tensors} tensors"
            if c.median_similarity is not None
            else ""
        )
        name = f"Merge source {self.reference}"
        if c.verdict == "consistent":
            return f"{name}: its weights are in the merge ({figures})."
        if c.verdict == "not_derived":
            return (
                f"{name}: its weights are not in the merge ({figures}; {c.below} of "
                f"{c.tensors} below {c.unrelated_below:g})."
            )
        if c.verdict == "inconclusive":
            detail = f" ({figures})" if figures else ""
            return (
                f"{name}: whether its weights are in the merge is inconclusive{detail}: {c.reason}."
            )
        return f"{name}: could not be checked: {c.reason}."

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "roles": list(self.roles),
            "location": self.location,
            "outside_project": self.outside,
            "deep": self.deep,
            **{k: v for k, v in self.check.as_json().items() if k != "sentence"},
            "sentence": self.sentence,
        }


def source_verdict(deep: DeepDiff, aligned_layers: frozenset[int] | None = None) -> BaseCheck:
    """The verdict for one source from its deep compare with the merge; with `aligned_layers`
    (slices moved some of its layers) only the tensors of those layers are judged."""
    if aligned_layers is not None:
        kept = tuple(
            row
            for row in deep.tensors
            if (place := layer_of(row.base_name)) is not None and place[1] in aligned_layers
        )
        deep = dataclasses.replace(deep, tensors=kept)
    return base_check(
        deep, consistent_from=MERGE_CONSISTENT_FROM, unrelated_below=MERGE_UNRELATED_BELOW
    )


def not_checked(reason: str) -> BaseCheck:
    """A source that could not be compared, with the merge thresholds it would be judged by."""
    return BaseCheck(
        "not_checked",
        reason=reason,
        consistent_from=MERGE_CONSISTENT_FROM,
        unrelated_below=MERGE_UNRELATED_BELOW,
    )
