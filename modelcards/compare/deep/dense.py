"""One work unit of a dense compare: a slice of a tensor against the same slice of its base.

It returns (changed elements, Σ base², Σ delta²). Within the slice, blocks of `block` elements
keep every numpy pass inside the CPU cache; two sides in one narrow float format (BF16, F16, F8),
the common case, have a lean path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from modelcards.compare.deep.dtypes import UINT, as_float, itemsize_of, scratch, sum_squares
from modelcards.compare.deep.narrow import NARROW, Narrow, has_specials, widen_lanes
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
        dtype = self.base.info.dtype
        if dtype == self.tuned.info.dtype and dtype in NARROW:
            totals = self._run_lanes(NARROW[dtype])
        else:
            totals = self._run_blocks(self.first, self.first + self.count)
        for loc in (self.base, self.tuned):
            size = itemsize_of(loc.info.dtype)
            loc.file.release(loc.offset + self.first * size, self.count * size)
        return totals

    def _run_lanes(self, fmt: Narrow) -> tuple[int, float, float]:
        """The common case, kept lean: both sides in one narrow float format (BF16, F16, F8).
        Read as uint32 words, widened lane by lane (`narrow.widen_lanes`): the values come out
        in a fixed permutation, the same on both sides, which norms, differences and counts do
        not see. Per block: two reads, two or three integer passes per lane and side, a
        multiply (not for BF16), a subtraction into the tuned side's buffer, two dot products
        and an integer count. A block whose sums could hide an infinity or NaN (`Narrow.
        may_hold_specials`) and holds one is redone in order through `as_float`."""
        file_a, file_b = self.base.file, self.tuned.file
        size = fmt.bits // 8
        off_a, off_b = self.base.offset, self.tuned.offset
        block = max(fmt.lanes, self.block - self.block % fmt.lanes)
        wide_a = scratch("a", np.uint32, block)
        wide_b = scratch("b", np.uint32, block)
        changed, base_sq, delta_sq = 0, 0.0, 0.0
        end = self.first + self.count
        lanes_end = end - self.count % fmt.lanes  # a ragged tail takes the general path
        for start in range(self.first, lanes_end, block):
            n = min(block, lanes_end - start)
            words_a = file_a.read(off_a + size * start, size * n, "ra").view(np.uint32)
            words_b = file_b.read(off_b + size * start, size * n, "rb").view(np.uint32)
            a = widen_lanes(words_a, fmt, wide_a[:n])
            d = widen_lanes(words_b, fmt, wide_b[:n])
            block_base = float(np.dot(a, a))
            np.subtract(d, a, out=d)  # b − a, in b's buffer
            block_sq = float(np.dot(d, d))
            if not block_base + block_sq < fmt.may_hold_specials and (
                has_specials(words_a, fmt, work=a) or has_specials(words_b, fmt, work=a)
            ):  # (a is spent: its buffer is the check's work space)
                more = self._run_blocks(start, start + n)
                changed, base_sq, delta_sq = _add((changed, base_sq, delta_sq), more)
                continue
            base_sq += block_base
            delta_sq += block_sq
            if math.isfinite(block_sq):  # b − a is +0.0 exactly when b == a: count set words
                changed += int(np.count_nonzero(d.view(np.uint32)))
            else:  # NaN or inf about (BF16): compare the stored bits
                stored_a, stored_b = words_a.view(fmt.storage), words_b.view(fmt.storage)
                changed += int(np.count_nonzero(stored_a != stored_b))
        if lanes_end < end:
            return _add((changed, base_sq, delta_sq), self._run_blocks(lanes_end, end))
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


def _add(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]
