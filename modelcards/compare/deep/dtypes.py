"""Stored values → floats: every safetensors dtype the deep compare reads, widened exactly.

Values are read in their unsigned storage type (bitwise equality needs no float), then widened
to float32/float64: BF16 by a shift, float8 through a 256-entry table. Widened blocks land in
per-thread scratch arrays, so a block costs no allocation.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

__all__ = [
    "F8_TABLES",
    "STORAGE",
    "SUPPORTED_DTYPES",
    "UINT",
    "as_float",
    "itemsize_of",
    "scratch",
    "sum_squares",
]


def _f8_table(exponent_bits: int, mantissa_bits: int, *, ieee_specials: bool) -> np.ndarray:
    """Value of every byte of an 8-bit float (E4M3 'fn': no infinities, S.1111.111 is NaN)."""
    bias = (1 << (exponent_bits - 1)) - 1
    table = np.empty(256, dtype=np.float32)
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exponent = (byte >> mantissa_bits) & ((1 << exponent_bits) - 1)
        mantissa = byte & ((1 << mantissa_bits) - 1)
        top = (1 << exponent_bits) - 1
        if ieee_specials and exponent == top:
            value = math.inf if mantissa == 0 else math.nan
        elif not ieee_specials and exponent == top and mantissa == (1 << mantissa_bits) - 1:
            value = math.nan
        elif exponent == 0:
            value = mantissa / (1 << mantissa_bits) * 2.0 ** (1 - bias)
        else:
            value = (1 + mantissa / (1 << mantissa_bits)) * 2.0 ** (exponent - bias)
        table[byte] = sign * value
    return table


F8_TABLES = {
    "F8_E4M3": _f8_table(4, 3, ieee_specials=False),
    "F8_E5M2": _f8_table(5, 2, ieee_specials=True),
}
# storage (unsigned view used for bitwise equality), then the float type values are widened to
STORAGE = {
    "F64": ("<u8", "<f8", np.float64), "F32": ("<u4", "<f4", np.float32),
    "F16": ("<u2", "<f2", np.float32), "BF16": ("<u2", None, np.float32),
    "F8_E4M3": ("u1", None, np.float32), "F8_E5M2": ("u1", None, np.float32),
    "I64": ("<u8", "<i8", np.float64), "U64": ("<u8", "<u8", np.float64),
    "I32": ("<u4", "<i4", np.float64), "U32": ("<u4", "<u4", np.float64),
    "I16": ("<u2", "<i2", np.float32), "U16": ("<u2", "<u2", np.float32),
    "I8": ("u1", "i1", np.float32), "U8": ("u1", "u1", np.float32),
    "BOOL": ("u1", "u1", np.float32),
}  # fmt: skip
SUPPORTED_DTYPES = frozenset(STORAGE)


UINT = {4: np.uint32, 8: np.uint64}
_ITEMSIZE = {dtype: np.dtype(spec[0]).itemsize for dtype, spec in STORAGE.items()}


def itemsize_of(dtype: str) -> int:
    return _ITEMSIZE[dtype]


_local = threading.local()


def scratch(slot: str, dtype: Any, count: int) -> np.ndarray:
    """A per-thread reusable array: no allocation per block (big mallocs fault pages each time)."""
    pool: dict[tuple[str, Any], np.ndarray] | None = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (slot, dtype)
    array = pool.get(key)
    if array is None or array.size < count:
        array = pool[key] = np.empty(max(count, 1), dtype=dtype)
    return array[:count]


def as_float(raw: np.ndarray, dtype: str, slot: str = "x") -> np.ndarray:
    """Widen the stored values (`raw`: the unsigned storage view) to float32/float64.

    BF16 is the top half of a float32: widen to uint32, shift left 16, view as float32 (exact).
    The result may be a per-thread scratch buffer that the next call with the same `slot`
    overwrites: copy it to keep it.
    """
    storage, view, wide = STORAGE[dtype]
    if dtype == "BF16":
        out = scratch(slot, np.uint32, raw.size)
        np.left_shift(raw, 16, out=out, dtype=np.uint32)
        return out.view(np.float32)
    if dtype in F8_TABLES:
        out = scratch(slot, np.float32, raw.size)
        return F8_TABLES[dtype].take(raw, out=out)
    assert view is not None
    values = raw.view(view)
    if values.dtype == wide:
        return values
    out = scratch(slot, wide, raw.size)
    np.copyto(out, values, casting="unsafe")
    return out


def sum_squares(values: np.ndarray) -> float:
    """Σx² of one block: a BLAS dot in the block's precision, returned as a Python float."""
    flat = values.reshape(-1)
    return float(np.dot(flat, flat))
