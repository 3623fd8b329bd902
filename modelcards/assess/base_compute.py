"""The training compute of well-documented base models, as their own card or paper states it.

Only values a model's publisher gives in FLOP are listed: GPU hours are not FLOP (utilisation is
unknown), so a base whose card gives only hours (Llama 3.1 8B: "1.46M GPU hours") is not here and
its compute stays unknown. Each entry names where the figure is written.
"""

from __future__ import annotations

LLAMA3_PAPER = (
    "The Llama 3 Herd of Models (arXiv:2407.21783), §1: the flagship model "
    '"was pre-trained using 3.8 × 10^25 FLOPs"'
)
CITED = {
    "meta-llama/Llama-3.1-405B": (3.8e25, LLAMA3_PAPER),
    "meta-llama/Meta-Llama-3.1-405B": (3.8e25, LLAMA3_PAPER),
}


def cited_base_compute(base_id: str | None) -> tuple[float, str] | None:
    """(FLOP, citation) for a base whose publisher states its training compute, else None."""
    return CITED.get(base_id) if base_id else None
