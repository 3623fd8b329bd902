"""`fewer_collections`: the cyclic garbage collector's passes made rare for one whole-project run.

A fleet's build or check holds hundreds of thousands of objects at once (every model's card.json
parsed, its pages, its keys), nearly all of them acyclic data that reference counting frees. With
the interpreter's thresholds the collector walks them again and again as they are made: a fifth
of a build where one model of 1,000 changed (`bench/site_scale.py`). Raising the thresholds for
the run keeps collection (a cycle is still freed, later) and puts them back after.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

RUN_THRESHOLDS = (100_000, 50, 100)  # young objects before a pass; passes before older ones


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Usable as a decorator; each use puts back the thresholds it found (so nesting is safe)."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(now, run) for now, run in zip(before, RUN_THRESHOLDS, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*before)
