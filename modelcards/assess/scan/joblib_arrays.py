"""joblib's inline arrays: where the array bytes inside a joblib pickle start and end.

`joblib.dump` pickles each ndarray as a `NumpyArrayWrapper` and, right after the wrapper's
BUILD, writes the array's raw bytes (or, for object arrays, a nested pickle) into the middle of
the pickle stream; `joblib.load` reads them there and goes on unpickling. An opcode walk that
does not know this stops at the first array, and a payload after it goes unseen. The stack
machine records just enough literal values (ints, tuples, small dicts, the dtype) to say how
many bytes follow, as joblib's `read_array` computes them; anything it cannot tell keeps the
old outcome (a broken stream, reported as partial).
"""

from __future__ import annotations

from dataclasses import dataclass

WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
DTYPE = frozenset({("numpy", "dtype"), ("numpy.core.multiarray", "dtype")})
MAX_DICT = 64  # keys kept per tracked dict: a wrapper's state has six
# Opcodes whose values the stack machine keeps (or combines) instead of pushing "unknown".
TRACKED_OPS = (
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "NONE", "NEWTRUE",
    "NEWFALSE", "EMPTY_TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "TUPLE", "EMPTY_DICT", "SETITEM",
    "SETITEMS", "REDUCE", "NEWOBJ", "BUILD",
)  # fmt: skip


@dataclass(frozen=True)
class Ref:
    """A value that is an imported name (what GLOBAL / STACK_GLOBAL pushed)."""

    module: str
    name: str


class Dtype:
    """`numpy.dtype(name, ...)` rebuilt by the pickle; BUILD may set its element size."""

    __slots__ = ("name", "elsize")

    def __init__(self, name: str) -> None:
        self.name, self.elsize = name, -1

    def build(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) > 5 and isinstance(state[5], int):
            self.elsize = state[5]  # flexible dtypes (U, S, V) carry their size here


class Wrapper:
    """A `NumpyArrayWrapper` instance, before its BUILD."""

    __slots__ = ()


@dataclass(frozen=True)
class Inline:
    """What joblib reads after a wrapper's BUILD: `size` raw bytes, or a nested pickle."""

    size: int
    aligned: bool  # a padding-length byte and that many padding bytes come first
    nested_pickle: bool


def reduce_value(func: object, args: object) -> object | None:
    """The tracked result of REDUCE, or None when it is nothing the scan follows."""
    if (
        isinstance(func, Ref)
        and (func.module, func.name) in DTYPE
        and isinstance(args, tuple)
        and args
        and isinstance(args[0], str)
    ):
        return Dtype(args[0])
    return None


def newobj_value(cls: object) -> object | None:
    return Wrapper() if isinstance(cls, Ref) and (cls.module, cls.name) == WRAPPER else None


def inline_after_build(obj: object, state: object) -> Inline | None:
    """Applies BUILD to a tracked value; for a wrapper, what follows it in the stream."""
    if isinstance(obj, Dtype):
        obj.build(state)
        return None
    if not isinstance(obj, Wrapper) or not isinstance(state, dict):
        return None
    shape, dtype = state.get("shape"), state.get("dtype")
    if not isinstance(dtype, Dtype) or not isinstance(shape, tuple) or len(dtype.name) > 64:
        return None  # real dtype names are short ("f8", "V24", "U5"); long ones parse slowly
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        return None
    import numpy as np  # only when a joblib array is read

    try:
        real = np.dtype(dtype.name)  # a dtype name, parsed by numpy: no code runs
    except (TypeError, ValueError):
        return None
    if real.hasobject:
        return Inline(0, False, True)
    itemsize = dtype.elsize if dtype.elsize >= 0 else real.itemsize
    count = 1
    for n in shape:
        count *= n
    aligned = isinstance(state.get("numpy_array_alignment_bytes"), int)
    return Inline(count * itemsize, aligned, False)


def set_items(target: object, items: list[object]) -> None:
    """SETITEM(S) into a tracked dict: string keys only, at most MAX_DICT of them."""
    if not isinstance(target, dict):
        return
    for key, value in zip(items[::2], items[1::2], strict=False):
        if isinstance(key, str) and (key in target or len(target) < MAX_DICT):
            target[key] = value
