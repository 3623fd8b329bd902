"""One work unit of an adapter compare: rows of W_base against the LoRA delta ΔW = scale · B·A.

The factors are held whole as float32 (up to `MAX_FACTOR_BYTES` each) and the product is
formed a few rows at a time, so ΔW is never held whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelcards.compare.deep.dense import Sums
from modelcards.compare.deep.dtypes import as_float, itemsize_of, scratch, sum_squares
from modelcards.compare.deep.reading import Loc

__all__ = ["MAX_FACTOR_BYTES", "Lora"]

MAX_FACTOR_BYTES = 256 * 1024 * 1024  # a LoRA A or B factor is held whole, as float32


@dataclass(frozen=True)
class Lora:
    """Rows [first, first + count) of W_base against ΔW = scale · B·A (or its transpose)."""

    base: Loc  # [out, in], or [in, out] when `transposed`
    a: Loc  # lora_A [r, in]
    b: Loc  # lora_B [out, r]
    scale: float
    transposed: bool
    first: int
    count: int
    block: int

    @property
    def nbytes(self) -> int:
        row = self.base.info.shape[1] * itemsize_of(self.base.info.dtype)
        return self.count * row + self.a.nbytes + self.b.nbytes

    def _factor(self, loc: Loc, slot: str) -> np.ndarray:
        values = as_float(loc.read(0, loc.info.numel, "r" + slot), loc.info.dtype, slot)
        return np.array(values, dtype=np.float32).reshape(loc.info.shape)  # small; owned copy

    def run(self) -> Sums:
        a = self._factor(self.a, "fa")  # [r, in]
        b = self._factor(self.b, "fb")  # [out, r]
        if self.transposed:  # rows of ΔWᵀ are columns of A: ΔWᵀ[i0:i1] = A[:, i0:i1]ᵀ · Bᵀ
            a, b = b.T.copy(), a.T.copy()  # now ΔW' = b' · a' with b' [in, r], a' [r, out]
        cols = self.base.info.shape[1]
        rows_per_block = max(1, self.block // max(cols, 1))
        sums = Sums()
        end = self.first + self.count
        for row in range(self.first, end, rows_per_block):
            rows = min(rows_per_block, end - row)
            raw = self.base.read(row * cols, rows * cols, "ra")
            base = as_float(raw, self.base.info.dtype, "a")
            sums.base_sq += sum_squares(base)
            delta = np.matmul(
                b[row : row + rows],
                a,
                out=scratch("d", np.float32, rows * cols).reshape(rows, cols),
            )
            if self.scale != 1.0:
                delta *= np.float32(self.scale)
            sums.changed += int(np.count_nonzero(delta))
            sums.delta_sq += sum_squares(delta)
            sums.cross += float(np.dot(base.astype(np.float32, copy=False), delta.reshape(-1)))
        itemsize = itemsize_of(self.base.info.dtype)
        self.base.file.release(
            self.base.offset + self.first * cols * itemsize, self.count * cols * itemsize
        )
        return sums
