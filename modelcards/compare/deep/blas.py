"""One BLAS thread per deep-compare worker while the pass runs.

The pass already spreads its work over threads of its own; OpenBLAS would start its own threads
inside each of them for every matrix product (the rank sketch's), and on a shared 2-core machine
those spin against each other: a (128 × 1024)·(1024 × 72) product ran at 2.4 GFLOP/s so, 74 with
one BLAS thread. numpy has no switch for it, so the OpenBLAS that numpy's wheel bundles is asked
through its own `set_num_threads`, and put back afterwards. Any other BLAS is left as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Iterator

__all__ = ["single_threaded_blas"]

_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("openblas_get_num_threads", "openblas_set_num_threads"))  # fmt: skip


def _controls() -> tuple[object, object] | None:
    import numpy

    folder = os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "lib*openblas*.so*"))):
        try:
            library = ctypes.CDLL(path)  # already loaded by numpy: the same handle
        except OSError:
            continue
        for get, put in _NAMES:
            if hasattr(library, get) and hasattr(library, put):
                return getattr(library, get), getattr(library, put)
    return None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    controls = _controls()
    if controls is None:
        yield
        return
    get, put = controls
    before = int(get())  # type: ignore[operator]
    put(1)  # type: ignore[operator]
    try:
        yield
    finally:
        put(before)  # type: ignore[operator]
