"""One work unit of a dense compare: a slice of a tensor against the same slice of its base.

It returns its `Sums`: changed elements, Σ base², Σ delta², Σ base·delta (the cosine between
base and tuned follows from these three, `summary`), and for a 2-D tensor the Gram matrix of its
rank sketch (`sketch`). Within the slice, blocks of `block` elements keep every numpy pass inside
the CPU cache; two sides in one narrow float format (BF16, F16, F8), the common case, have a
lean path: one compiled pass per block where `kernel` was built, else a lean numpy path. A
sketched tensor's slices and blocks are whole rows (`planning`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from modelcards.compare.deep import kernel
from modelcards.compare.deep.dtypes import UINT, as_float, itemsize_of, scratch, sum_squares
from modelcards.compare.deep.narrow import NARROW, Narrow, has_specials, widen_lanes
from modelcards.compare.deep.reading import Loc
from modelcards.compare.deep.sketch import Sketch

__all__ = ["Dense", "Sums"]


@dataclass
class Sums:
    """What a unit adds to its tensor's row (float64 sums of per-block float32 dot products)."""

    changed: int = 0
    base_sq: float = 0.0  # Σ a²
    delta_sq: float = 0.0  # Σ (b − a)²
    cross: float = 0.0  # Σ a·(b − a): with the two above, Σ a·b and Σ b² without cancellation
    gram: np.ndarray | None = field(default=None, repr=False)  # the rank sketch's Yᵀ·Y

    def add(self, other: Sums) -> None:
        self.changed += other.changed
        self.base_sq += other.base_sq
        self.delta_sq += other.delta_sq
        self.cross += other.cross
        self.add_gram(other.gram)

    def add_gram(self, gram: np.ndarray | None) -> None:
        if gram is not None:
            self.gram = gram if self.gram is None else self.gram + gram


@dataclass(frozen=True)
class Dense:
    base: Loc
    tuned: Loc
    first: int  # element range
    count: int
    block: int  # elements per numpy pass
    sketch: Sketch | None = None  # a 2-D tensor's rank sketch: `first` and `block` are whole rows

    @property
    def nbytes(self) -> int:
        return self.count * (itemsize_of(self.base.info.dtype) + itemsize_of(self.tuned.info.dtype))

    def run(self) -> Sums:
        dtype = self.base.info.dtype
        if dtype == self.tuned.info.dtype and dtype in NARROW:
            fused = kernel.load()
            if fused is not None:
                totals = self._run_fused(NARROW[dtype], fused)
            else:
                totals = self._run_lanes(NARROW[dtype])
        else:
            totals = self._run_blocks(self.first, self.first + self.count)
        for loc in (self.base, self.tuned):
            size = itemsize_of(loc.info.dtype)
            loc.file.release(loc.offset + self.first * size, self.count * size)
        return totals

    def _run_fused(self, fmt: Narrow, fused: kernel.Kernel) -> Sums:
        """Both sides in one narrow float format, one compiled pass per block (`kernel`): the
        sums, both counts, and b − a in order where the sketch needs it. A block holding an
        infinity or NaN pattern (F16, F8) is redone in order through `as_float`."""
        sums = Sums()
        end = self.first + self.count
        for start in range(self.first, end, self.block):
            n = min(self.block, end - start)
            raw_a = self.base.read(start, n, "ra")
            raw_b = self.tuned.read(start, n, "rb")
            delta = scratch("d", np.float32, n) if self.sketch is not None else None
            block = fused.pair(raw_a, raw_b, fmt, delta)
            if block.specials:
                sums.add(self._run_blocks(start, start + n))
                continue
            sums.base_sq += block.base_sq
            sums.delta_sq += block.delta_sq
            sums.cross += block.cross
            if delta is not None:  # (set exactly when there is a sketch)
                assert self.sketch is not None
                sums.add_gram(self.sketch.gram(delta, start // self.sketch.cols))
            # b − a is +0.0 exactly when b == a, unless an inf or NaN (BF16) is about
            finite = math.isfinite(block.delta_sq)
            sums.changed += block.changed_value if finite else block.changed_bits
        return sums

    def _run_lanes(self, fmt: Narrow) -> Sums:
        """The common case, kept lean: both sides in one narrow float format (BF16, F16, F8).
        Read as uint32 words, widened lane by lane (`narrow.widen_lanes`): the values come out
        in a fixed permutation, the same on both sides, which norms, differences and counts do
        not see. Per block: two reads, two or three integer passes per lane and side, a
        multiply (not for BF16), a subtraction into the tuned side's buffer, three dot products
        and an integer count (and the sketch's product, for a 2-D tensor). A block whose sums could hide an infinity or NaN (`Narrow.
        may_hold_specials`) and holds one is redone in order through `as_float`."""
        file_a, file_b = self.base.file, self.tuned.file
        size = fmt.bits // 8
        off_a, off_b = self.base.offset, self.tuned.offset
        block = max(fmt.lanes, self.block - self.block % fmt.lanes)
        wide_a = scratch("a", np.uint32, block)
        wide_b = scratch("b", np.uint32, block)
        sums = Sums()
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
            block_cross = float(np.dot(a, d))  # before the check below, which reuses a's buffer
            if not block_base + block_sq < fmt.may_hold_specials and (
                has_specials(words_a, fmt, work=a) or has_specials(words_b, fmt, work=a)
            ):  # (a is spent: its buffer is the check's work space)
                sums.add(self._run_blocks(start, start + n))
                continue
            sums.base_sq += block_base
            sums.delta_sq += block_sq
            sums.cross += block_cross
            if self.sketch is not None:
                sums.add_gram(self.sketch.gram(d, start // self.sketch.cols, fmt.lanes))
            if math.isfinite(block_sq):  # b − a is +0.0 exactly when b == a: count set words
                sums.changed += int(np.count_nonzero(d.view(np.uint32)))
            else:  # NaN or inf about (BF16): compare the stored bits
                stored_a, stored_b = words_a.view(fmt.storage), words_b.view(fmt.storage)
                sums.changed += int(np.count_nonzero(stored_a != stored_b))
        if lanes_end < end:
            sums.add(self._run_blocks(lanes_end, end))
        return sums

    def _run_blocks(self, first: int, end: int) -> Sums:
        """Any pair of supported dtypes, elements [first, end), widened in order."""
        same_type = self.base.info.dtype == self.tuned.info.dtype
        sums = Sums()
        for start in range(first, end, self.block):
            n = min(self.block, end - start)
            raw_a = self.base.read(start, n, "ra")
            raw_b = self.tuned.read(start, n, "rb")
            a = as_float(raw_a, self.base.info.dtype, "a")
            b = as_float(raw_b, self.tuned.info.dtype, "b")
            sums.base_sq += sum_squares(a)
            wide = np.result_type(a.dtype, b.dtype)
            delta = np.subtract(b, a, out=scratch("d", wide, n), dtype=wide)
            block_sq = sum_squares(delta)
            sums.delta_sq += block_sq
            sums.cross += float(np.dot(a.astype(wide, copy=False), delta))
            if self.sketch is not None:
                sums.add_gram(self.sketch.gram(delta, start // self.sketch.cols))
            changed = 0
            if same_type and math.isfinite(block_sq):
                # finite values: b − a is +0.0 exactly when b == a, so the set bits of the
                # delta count the changed elements (an integer count is much cheaper than a
                # float one, and saves a separate comparison pass)
                changed = int(np.count_nonzero(delta.view(UINT[delta.dtype.itemsize])))
            elif same_type:  # NaN or inf about: compare the stored bits
                differ = np.not_equal(raw_a, raw_b, out=scratch("ne", np.bool_, n))
                changed = int(np.count_nonzero(differ))
            else:
                differ = np.not_equal(a, b, out=scratch("ne", np.bool_, n))
                changed = int(np.count_nonzero(differ))
            sums.changed += changed
        return sums
