"""One work unit of a dense compare: a slice of a tensor against the same slice of its base.

It returns (changed elements, Σ base², Σ delta²). Within the slice, blocks of `block` elements
keep every numpy pass inside the CPU cache; BF16 against BF16, the common case, has a lean path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from modelcards.compare.deep.dtypes import UINT, as_float, itemsize_of, scratch, sum_squares
from modelcards.compare.deep.reading import Loc

__all__ = ["Dense"]


@dataclass(frozen=True)
class Dense:
    base: Loc
    tuned: Loc
    first: int  # element range
    count: int
    block: int  # elements per numpy pass

    @property
    def nbytes(self) -> int:
        return self.count * (itemsize_of(self.base.info.dtype) + itemsize_of(self.tuned.info.dtype))

    def run(self) -> tuple[int, float, float]:
        if self.base.info.dtype == self.tuned.info.dtype == "BF16":
            totals = self._run_bf16()
        else:
            totals = self._run_blocks(self.first, self.first + self.count)
        for loc in (self.base, self.tuned):
            size = itemsize_of(loc.info.dtype)
            loc.file.release(loc.offset + self.first * size, self.count * size)
        return totals

    def _run_bf16(self) -> tuple[int, float, float]:
        """The common case, kept lean. Read as uint32, each word holds two BF16 values:
        `word << 16` is the even one and `word & 0xFFFF0000` the odd one, both already float32
        bit patterns, which is cheaper than a uint16 → uint32 cast. The values come out in a
        fixed permutation (even elements, then odd), the same on both sides, which norms,
        differences and counts do not see. Per block: two reads, four uint32 passes, one
        subtraction, two dot products and an integer count."""
        file_a, file_b = self.base.file, self.tuned.file
        off_a, off_b = self.base.offset, self.tuned.offset
        block = max(2, self.block - self.block % 2)
        wide_a = scratch("a", np.uint32, block)
        wide_b = scratch("b", np.uint32, block)
        diff = scratch("d", np.float32, block)
        mask = np.uint32(0xFFFF0000)
        changed, base_sq, delta_sq = 0, 0.0, 0.0
        end = self.first + self.count
        for start in range(self.first, end, block):
            n = min(block, end - start)
            if n % 2:  # an odd tail: the general path
                more = self._run_blocks(start, start + n)
                changed, base_sq, delta_sq = (
                    changed + more[0],
                    base_sq + more[1],
                    delta_sq + more[2],
                )
                continue
            half = n // 2
            words_a = file_a.read(off_a + 2 * start, 2 * n, "ra").view(np.uint32)
            words_b = file_b.read(off_b + 2 * start, 2 * n, "rb").view(np.uint32)
            a, b, d = wide_a[:n], wide_b[:n], diff[:n]
            np.left_shift(words_a, 16, out=a[:half])
            np.bitwise_and(words_a, mask, out=a[half:])
            np.left_shift(words_b, 16, out=b[:half])
            np.bitwise_and(words_b, mask, out=b[half:])
            fa, fb = a.view(np.float32), b.view(np.float32)
            base_sq += float(np.dot(fa, fa))
            np.subtract(fb, fa, out=d)
            block_sq = float(np.dot(d, d))
            delta_sq += block_sq
            if math.isfinite(block_sq):  # b − a is +0.0 exactly when b == a: count set words
                changed += int(np.count_nonzero(d.view(np.uint32)))
            else:  # NaN or inf about: compare the stored bits
                raw_a, raw_b = words_a.view(np.uint16), words_b.view(np.uint16)
                changed += int(np.count_nonzero(raw_a != raw_b))
        return changed, base_sq, delta_sq

    def _run_blocks(self, first: int, end: int) -> tuple[int, float, float]:
        """Any pair of supported dtypes, elements [first, end), widened in order."""
        same_type = self.base.info.dtype == self.tuned.info.dtype
        changed, base_sq, delta_sq = 0, 0.0, 0.0
        for start in range(first, end, self.block):
            n = min(self.block, end - start)
            raw_a = self.base.read(start, n, "ra")
            raw_b = self.tuned.read(start, n, "rb")
            a = as_float(raw_a, self.base.info.dtype, "a")
            b = as_float(raw_b, self.tuned.info.dtype, "b")
            base_sq += sum_squares(a)
            wide = np.result_type(a.dtype, b.dtype)
            delta = np.subtract(b, a, out=scratch("d", wide, n), dtype=wide)
            block_sq = sum_squares(delta)
            delta_sq += block_sq
            if same_type and math.isfinite(block_sq):
                # finite values: b − a is +0.0 exactly when b == a, so the set bits of the
                # delta count the changed elements (an integer count is much cheaper than a
                # float one, and saves a separate comparison pass)
                changed += int(np.count_nonzero(delta.view(UINT[delta.dtype.itemsize])))
            elif same_type:  # NaN or inf about: compare the stored bits
                differ = np.not_equal(raw_a, raw_b, out=scratch("ne", np.bool_, n))
                changed += int(np.count_nonzero(differ))
            else:
                differ = np.not_equal(a, b, out=scratch("ne", np.bool_, n))
                changed += int(np.count_nonzero(differ))
        return changed, base_sq, delta_sq
