"""The compiled fused pass for two narrow-float sides (`fused.c`), when it was built.

`pip install` compiles `fused.c` where a C compiler is present (`hatch_build.py`); without
one, or with `MODELCARDS_DEEP_KERNEL=numpy` set, `load()` returns None and `dense` keeps its
numpy path, which gives the same counts and the same sums to float32 rounding (tested). The
kernel reads both blocks once (numpy's path makes seven or eight passes over each: bench/
README.md). ctypes, not the Python C API: no interpreter-version coupling, and ctypes releases
the GIL for the call, so the compare's threads run side by side.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from modelcards.compare.deep.narrow import Narrow

__all__ = ["LIBRARY", "Kernel", "PairSums", "load"]

LIBRARY = Path(__file__).with_name("_fused_kernel.so")
_ABI = 2  # fused.c's mc_abi(): a library from another version of the source is not used


class _Sums(ctypes.Structure):
    _fields_ = [
        ("changed_value", ctypes.c_int64),
        ("changed_bits", ctypes.c_int64),
        ("base_sq", ctypes.c_double),
        ("delta_sq", ctypes.c_double),
        ("cross", ctypes.c_double),
        ("specials", ctypes.c_int32),
    ]


@dataclass(frozen=True)
class PairSums:
    """What one block of two sides adds (`fused.c`'s mc_sums)."""

    changed_value: int  # elements whose difference b − a has a set bit (−0.0 included)
    changed_bits: int  # elements whose stored bits differ
    base_sq: float
    delta_sq: float
    cross: float
    specials: bool  # an infinity or NaN pattern on either side: the sums are not to be used


class Kernel:
    """The library's two entry points (16- and 8-bit storage), typed for ctypes."""

    def __init__(self, library: ctypes.CDLL) -> None:
        # a, b, count, exponent bits, bias, special mask, delta (or NULL), the sums
        argtypes: list[Any] = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32,
                               ctypes.c_int32, ctypes.c_uint32, ctypes.c_void_p,
                               ctypes.POINTER(_Sums)]  # fmt: skip
        self._pairs = {16: library.mc_pair16, 8: library.mc_pair8}
        for function in self._pairs.values():
            function.argtypes = argtypes
            function.restype = None

    def pair(
        self, a: np.ndarray, b: np.ndarray, fmt: Narrow, delta: np.ndarray | None = None
    ) -> PairSums:
        """The sums of two blocks of stored values (`fmt.storage`, same length, contiguous);
        with `delta` (float32, same length), b − a in order is written there too."""
        assert a.dtype == b.dtype == fmt.storage and a.size == b.size
        assert a.flags.c_contiguous and b.flags.c_contiguous
        if delta is not None:
            assert delta.dtype == np.float32 and delta.size == a.size and delta.flags.c_contiguous
        sums = _Sums()
        self._pairs[fmt.bits](
            a.ctypes.data, b.ctypes.data, a.size, fmt.exponent_bits, fmt.bias, fmt.special_mask,
            None if delta is None else delta.ctypes.data, ctypes.byref(sums),
        )  # fmt: skip
        return PairSums(
            sums.changed_value, sums.changed_bits, sums.base_sq, sums.delta_sq, sums.cross,
            bool(sums.specials),
        )  # fmt: skip


@cache
def load() -> Kernel | None:
    """The kernel, or None: not built here, built from another version, or turned off."""
    if os.environ.get("MODELCARDS_DEEP_KERNEL", "").strip().lower() == "numpy":
        return None
    if sys.byteorder != "little" or not LIBRARY.is_file():  # safetensors is little-endian
        return None
    try:
        library = ctypes.CDLL(str(LIBRARY))
        abi = library.mc_abi
    except (OSError, AttributeError):
        return None
    abi.restype = ctypes.c_int32
    return Kernel(library) if abi() == _ABI else None
