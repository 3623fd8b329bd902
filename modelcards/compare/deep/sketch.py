"""The effective rank of ΔW = W_tuned − W_base of a 2-D tensor, from a bounded random sketch.

A merged LoRA leaves ΔW = B·A of rank r; a full fine-tune leaves a full-rank ΔW whose
singular values decay smoothly. We never hold ΔW: each block of whole rows is multiplied by a
fixed Gaussian Ω (n × `COLUMNS`, float32, the same for every tensor of that width), Y_c = ΔW_c·Ω,
and only the Gram matrix Y_cᵀ·Y_c (`COLUMNS`², float64) is kept and summed, so memory is one
block and one small matrix per tensor in flight. Σ_c Y_cᵀY_c = YᵀY, whose eigenvalues are the
squared singular values of Y = ΔW·Ω; in exact arithmetic rank(Y) = rank(ΔW) for any rank below
`COLUMNS` (a Gaussian Ω has full rank on ΔW's row space with probability 1).

To keep the cost small next to the rest of the pass only every `stride`-th row is sketched, at
most `ROWS` of them per tensor: rank(S·ΔW) = rank(B·A) as long as the sampled rows of B span its
columns, which holds for a trained B (dense rows). It can miss a delta confined to rows that are
not sampled (a few new embedding rows): the rank is then unknown, never guessed.

`effective_rank` reads the sketch's singular values and takes the largest drop between two
neighbours among the first half of them: a drop of at least `GAP` (×10) at r means rank r
(float32 rounding sits ~10⁻⁶ below, the BF16 rounding of a merged weight ~10⁻² below a typical
LoRA); no such drop means the rank is at least what the sketch can see, `bound` =
min(`COLUMNS`, sampled rows, n), shown as "full". Measured on our pairs (tests/deep/
test_similarity.py, bench/similarity_pairs.py): merged LoRAs of rank 4, 8, 16 (64 × 64, F32), 6
(256 × 512, BF16), 5 (2,100 × 64, F16 and F32 against F16) and a trained rank-8 LoRA (256 × 256,
F32 and BF16) came out exactly, with drops of ×10⁵–10⁶ in F32; dense updates (numpy SGD,
re-initialisation, permutation, torch AdamW) showed drops of at most ×4 in the first half, a
BF16-stored trained LoRA ×44–350.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["COLUMNS", "GAP", "MAX_INPUT", "ROWS", "Sketch", "effective_rank"]

COLUMNS = 72  # sketch width: ranks up to 71 are seen (LoRA r = 64 included)
ROWS = 256  # rows sketched per tensor at most, evenly spaced (cost: bench/README.md)
MAX_INPUT = 32768  # widest ΔW row sketched (Ω is then 9 MB)
GAP = 10.0  # σ_r / σ_{r+1} at least this: rank r
_SEED = 0x6D63  # Ω is the same on every run: same input, same figures

_omegas: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
_lock = threading.Lock()


def _omega(cols: int, lanes: int) -> tuple[np.ndarray, ...]:
    """Ω's rows split by lane: part L holds rows L, L + lanes, … (a lane-ordered block's order)."""
    key = (cols, lanes)
    with _lock:
        found = _omegas.get(key)
        if found is None:
            if len(_omegas) >= 8:  # a model has a few row widths; bounds Ω's memory
                _omegas.clear()
            full = np.random.default_rng(_SEED + cols).standard_normal(
                (cols, COLUMNS), dtype=np.float32
            )
            found = _omegas[key] = tuple(
                np.ascontiguousarray(full[lane::lanes]) for lane in range(lanes)
            )
        return found


@dataclass(frozen=True)
class Sketch:
    """How one [rows, cols] tensor is sketched: which rows, and Ω."""

    rows: int
    cols: int

    @property
    def stride(self) -> int:
        return max(1, -(-self.rows // ROWS))

    @property
    def bound(self) -> int:
        """The largest rank the sketch can tell apart from "at least this"."""
        return min(COLUMNS, -(-self.rows // self.stride), self.cols)

    def gram(self, delta: np.ndarray, first_row: int, lanes: int = 1) -> np.ndarray | None:
        """Yᵀ·Y of the sampled rows in `delta`: whole rows from `first_row`, in order
        (`lanes` = 1) or lane-ordered as `narrow.widen_lanes` leaves them (cols % lanes == 0:
        part L of the block is then ΔW[rows, L::lanes], a [rows, cols / lanes] matrix)."""
        count = delta.size // self.cols
        skip = (-first_row) % self.stride
        if skip >= count:
            return None
        parts = delta.reshape(lanes, count, self.cols // lanes)
        omega = _omega(self.cols, lanes)
        y = np.matmul(parts[0, skip :: self.stride], omega[0])
        for lane in range(1, lanes):
            y += np.matmul(parts[lane, skip :: self.stride], omega[lane])
        wide = y.astype(np.float64)
        return wide.T @ wide


def effective_rank(gram: np.ndarray | None, bound: int) -> int | None:
    """The rank ΔW's sketch shows (`bound`: none below it), None if nothing changed in the
    sampled rows or the sums are not finite."""
    if gram is None or not np.all(np.isfinite(gram)):
        return None
    values = np.linalg.eigvalsh(gram)[::-1][:bound]
    sigma = np.sqrt(np.clip(values, 0.0, None))
    if not sigma.size or sigma[0] <= 0.0:
        return None
    floor = sigma[0] * 1e-9  # float64 eigenvalues of a float32 sketch resolve far less
    # drops past half the bound are not read: a small square ΔW's last singular value is often
    # tiny whatever its origin (a dense update of a 64 × 64 matrix showed drops of ×160 at 63)
    ratios = (sigma[:-1] / np.maximum(sigma[1:], floor))[: bound // 2]
    if not ratios.size:
        return bound
    drop = int(np.argmax(ratios))
    return drop + 1 if ratios[drop] >= GAP else bound
