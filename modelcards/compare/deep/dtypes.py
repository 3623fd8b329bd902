"""Stored values → floats: every safetensors dtype the deep compare reads, widened exactly.

Values are read in their unsigned storage type (bitwise equality needs no float), then widened
to float32/float64: the narrow floats (BF16, F16, F8) by bit moves (`narrow`), the rest by numpy.
Widened blocks land in per-thread scratch arrays, so a block costs no allocation.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from modelcards.compare.deep.narrow import NARROW, widen_ordered

__all__ = [
    "STORAGE",
    "SUPPORTED_DTYPES",
    "UINT",
    "as_float",
    "itemsize_of",
    "scratch",
    "sum_squares",
]


# storage (unsigned view used for bitwise equality), then the float type values are widened to
STORAGE = {
    "F64": ("<u8", "<f8", np.float64), "F32": ("<u4", "<f4", np.float32),
    "F16": ("<u2", None, np.float32), "BF16": ("<u2", None, np.float32),
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

    The result may be a per-thread scratch buffer that the next call with the same `slot`
    overwrites: copy it to keep it.
    """
    if dtype in NARROW:
        return widen_ordered(raw, NARROW[dtype], scratch(slot, np.uint32, raw.size))
    _storage, view, wide = STORAGE[dtype]
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
