"""Narrow floats (BF16, F16, F8_E4M3, F8_E5M2) widened to float32 exactly, by integer bit moves.

numpy's float16 → float32 cast runs under 1 GB/s (it does not use the CPU's F16C), and numpy
has no float8 at all. Each of these formats is a sign, an exponent and a mantissa that float32
holds exactly, so three integer passes and one multiply widen it: put the value's sign at bit
31, shift right arithmetically by the difference in exponent width (the sign is copied), mask
the copies off, and multiply by 2^(127 − bias), a power of two, hence exact (subnormals come out
normal). Infinities and NaN come out as magnitudes no finite value of the format reaches (at
least `special_floor`); `fix_specials` gives them the float32 all-ones exponent, payload kept.

Two layouts: `widen_ordered` keeps the elements in order; `widen_lanes` reads whole uint32 words
and writes lane 0 of every word, then lane 1, …: a fixed permutation, the same on both sides of
a compare, that norms, differences and counts do not see, and cheaper (no 8/16 → 32-bit cast).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NARROW", "Narrow", "fix_specials", "has_specials", "widen_lanes", "widen_ordered"]

_EXPONENT = np.uint32(0x7F800000)


@dataclass(frozen=True)
class Narrow:
    """One narrow float format as float32 sees it."""

    bits: int  # storage width, 16 or 8
    exponent_bits: int
    bias: int
    special_mask: int  # the stored bits under this mask all set ⇔ infinity or NaN (0: none)
    special_floor: float  # |widened value| ≥ this before `fix_specials` ⇔ infinity or NaN

    @property
    def storage(self) -> type[np.unsignedinteger]:
        return np.uint16 if self.bits == 16 else np.uint8

    @property
    def lanes(self) -> int:
        return 32 // self.bits

    @property
    def shift(self) -> int:
        """Arithmetic right shift from "sign at bit 31" to float32's exponent position."""
        return 8 - self.exponent_bits

    @property
    def mask(self) -> np.uint32:
        """Keeps the sign and the shifted exponent and mantissa, drops the copied sign bits."""
        return np.uint32(0x80000000 | ((1 << (self.bits - 1)) - 1) << (32 - self.bits - self.shift))

    @property
    def scale(self) -> np.float32:
        return np.float32(2.0 ** (127 - self.bias))

    @property
    def may_hold_specials(self) -> float:
        """A block whose Σa² + Σ(b − a)² stays below this holds no infinity or NaN on either
        side: one would add at least special_floor² / 2 (a quarter, for rounding's sake)."""
        return self.special_floor**2 / 4


NARROW = {
    # BF16 is the top half of a float32: nothing to shift, scale or fix
    "BF16": Narrow(16, 8, 127, special_mask=0, special_floor=float("inf")),
    "F16": Narrow(16, 5, 15, special_mask=0x7C00, special_floor=65536.0),  # max finite 65504
    "F8_E5M2": Narrow(8, 5, 15, special_mask=0x7C, special_floor=65536.0),  # max finite 57344
    # E4M3 "fn": no infinities, S.1111.111 is NaN (widened to ±480); max finite 448
    "F8_E4M3": Narrow(8, 4, 7, special_mask=0x7F, special_floor=480.0),
}


def _place(source: np.ndarray, left: int, fmt: Narrow, out: np.ndarray) -> None:
    """out = the format's value bits of `source << left` (uint32 words) at float32's places."""
    if left:
        np.left_shift(source, left, out=out)
        source = out
    if fmt.shift:
        np.right_shift(source.view(np.int32), fmt.shift, out=out.view(np.int32))
        source = out
    if fmt.shift or left < 32 - fmt.bits:  # bits of other lanes or sign copies to drop
        np.bitwise_and(source, fmt.mask, out=out)


def _finish(out: np.ndarray, fmt: Narrow) -> np.ndarray:
    values = out.view(np.float32)
    if fmt.bias != 127:
        np.multiply(values, fmt.scale, out=values)
    return values


def widen_lanes(words: np.ndarray, fmt: Narrow, out: np.ndarray) -> np.ndarray:
    """uint32 `words` of packed values → float32 in lane order, in `out` (uint32, lanes × words
    long). Infinity and NaN are not fixed: see `Narrow.may_hold_specials` and `has_specials`."""
    count = words.size
    for lane in range(fmt.lanes):
        left = 32 - fmt.bits * (lane + 1)
        _place(words, left, fmt, out[lane * count : (lane + 1) * count])
    return _finish(out, fmt)


def widen_ordered(raw: np.ndarray, fmt: Narrow, out: np.ndarray) -> np.ndarray:
    """Stored values (uint16 or uint8) → float32 in order, in `out` (uint32, same length),
    infinities and NaN included (two reductions look for them first)."""
    np.left_shift(raw, 32 - fmt.bits, out=out, dtype=np.uint32)
    if fmt.shift:
        _place(out, 0, fmt, out)
    values = _finish(out, fmt)
    floor = fmt.special_floor
    if fmt.special_mask and values.size and (values.max() >= floor or values.min() <= -floor):
        fix_specials(values, fmt)
    return values


def fix_specials(values: np.ndarray, fmt: Narrow) -> None:
    """Give the widened infinities and NaN float32's all-ones exponent (mantissa kept)."""
    special = np.abs(values) >= fmt.special_floor
    bits = values.view(np.uint32)
    np.bitwise_or(bits, _EXPONENT, out=bits, where=special)


def has_specials(raw: np.ndarray, fmt: Narrow, work: np.ndarray | None = None) -> bool:
    """Whether stored values (any unsigned view of them) hold an infinity or NaN. `work`, if
    given, is a spare array of at least raw.nbytes + (number of values) bytes, used instead of
    two temporaries (the masked values, then one bool per value)."""
    if not fmt.special_mask:
        return False
    stored = raw.view(fmt.storage)
    mask = fmt.storage(fmt.special_mask)
    if work is None:
        return bool(np.any(np.bitwise_and(stored, mask) == mask))
    spare = work.view(np.uint8)
    masked = spare[: stored.nbytes].view(fmt.storage)
    np.bitwise_and(stored, mask, out=masked)
    equal = spare[stored.nbytes : stored.nbytes + stored.size].view(np.bool_)
    return bool(np.any(np.equal(masked, mask, out=equal)))
