"""Read pickle streams opcode by opcode, without unpickling, and judge every import they make.

A small stack machine follows what the unpickler would push, so that STACK_GLOBAL operands are
resolved through the memo (PUT/GET, MEMOIZE) like the real unpickler resolves them. Streams may
hold several pickles back to back (legacy torch files hold five); a stream that breaks after a
payload still reports the payload, and says the rest was not read. joblib's array bytes inside
a pickle are stepped over as joblib.load reads them, and followed as pickle.load would read
them (joblib_arrays.py). Findings are made in pickle_findings.py.
"""

from __future__ import annotations

import io
import pickletools
import time
import warnings
from collections.abc import Iterator
from typing import IO

from modelcards.assess.scan import joblib_arrays as jl
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.pickle_reader import Capped, LimitHit, Truncated
from modelcards.assess.scan.pickle_values import (
    UNKNOWN,
    Import,
    ScanAbort,
    StreamScan,
    Unresolved,
)
from modelcards.assess.scan.policy import Verdict, classify

PICKLE_EXTENSIONS = frozenset({
    ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill", ".pck", ".th",
})  # fmt: skip

UNKNOWN_SIZE = 2**62  # a stream's size when only reading to its end tells it (the reader stops)
_STRING_OPS = frozenset({
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
    "BINUNICODE8",
})  # fmt: skip
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_CALL_OPS = {
    "REDUCE": "reduce",
    "BUILD": "build",
    "NEWOBJ": "newobj",
    "NEWOBJ_EX": "newobj",
    "OBJ": "obj",
    "INST": "inst",
}


def scan_stream(
    raw: IO[bytes],
    size: int,
    limits: ScanLimits,
    *,
    base_offset: int = 0,
    can_skip: bool = True,
) -> StreamScan:
    """Scan the pickles in `raw` from its current position; `size` bytes are available.

    `can_skip`: `raw` can seek forward cheaply, so large byte payloads are not read.
    """
    with warnings.catch_warnings():
        # pickletools warns on odd escapes in STRING operands; hostile bytes are not our bug,
        # and under -W error a warning would end the scan where the unpickler goes on
        warnings.simplefilter("ignore")
        return _scan_stream(raw, size, limits, base_offset, can_skip)


def _scan_stream(
    raw: IO[bytes], size: int, limits: ScanLimits, base_offset: int, can_skip: bool
) -> StreamScan:
    result = StreamScan()
    reader = Capped(raw, size, limits.max_pickle_bytes, limits.max_line_bytes, can_skip)
    deadline = time.monotonic() + limits.max_pickle_seconds
    while reader.tell() < size:
        if result.pickles >= limits.max_pickles_per_stream:
            result.limit = f"more than {limits.max_pickles_per_stream} pickles in one stream"
            break
        start = reader.tell()
        one = _OnePickle(result, result.pickles, base_offset, limits, deadline)
        try:
            for opcode, arg, pos in _genops(reader):
                one.step(opcode, arg, (pos or 0))
                if one.inline is not None:
                    _read_inline(one, reader, limits, deadline)
                if opcode.name == "STOP":
                    break
        except LimitHit as exc:
            result.limit = str(exc)
            result.unresolved += one.unresolved
            break
        except (ScanAbort, OSError):
            raise  # not the pickle's fault: a spent budget or a failing disk
        except Exception as exc:  # noqa: BLE001 - any failure to parse hostile bytes is a finding
            if result.pickles > 0 and not one.imports_seen:
                # bytes after a complete pickle that are not a pickle (torch legacy tensor data)
                result.trailing = True
            elif isinstance(exc, _Malformed):
                result.error, result.error_offset = str(exc), base_offset + exc.offset
            else:
                result.error = f"{type(exc).__name__}: {exc}"
                result.error_offset = base_offset + reader.tell()
            if not result.trailing:
                result.unresolved += one.unresolved
            break
        result.unresolved += one.unresolved
        if not one.stopped:
            result.error, result.error_offset = "no STOP opcode", base_offset + reader.tell()
            break
        result.pickles += 1
        result.end = reader.tell()
        if reader.tell() == start:  # cannot happen (STOP is one byte), guard against loops
            break
    return result


PROBE_BYTES = 4096  # of each joblib array, read as opcodes the way pickle.load would


def _read_inline(one: _OnePickle, reader: Capped, limits: ScanLimits, deadline: float) -> None:
    """Step over the array data joblib wrote after a wrapper, as joblib.load reads it.

    pickle.load (not joblib.load) reads the same bytes as opcodes, with the same stack and memo:
    a copy of the machine follows that reading too, so data crafted to be opcodes is no hiding
    place. Real array data breaks that reading within bytes; still parsing after
    PROBE_BYTES of it is a finding.
    """
    inline, one.inline = one.inline, None
    assert inline is not None
    plain = one.fork()
    try:
        _follow_inline(one, inline, plain, reader, limits, deadline)
    finally:  # what the plain reading imports is kept when it runs code: its other imports
        # are mostly array bytes or joblib's memo read the wrong way, which fail to import
        one.result.imports += [
            i for i in plain.sink if classify(i.module, i.name)[0] is Verdict.DANGEROUS
        ]


def _follow_inline(
    one: _OnePickle,
    inline: jl.Inline,
    fork: _OnePickle,
    reader: Capped,
    limits: ScanLimits,
    deadline: float,
) -> None:
    plain: _OnePickle | None = fork
    start = reader.tell()
    if inline.nested_pickle:  # an object array: a whole pickle of its own, scanned like one
        nested = _OnePickle(one.result, one.index, one.base, limits, deadline)
        for opcode, arg, pos in _genops(reader):
            nested.step(opcode, arg, pos or 0)
            plain = _follow(plain, opcode, arg, pos or 0)
            if nested.inline is not None:
                raise _Malformed("array wrapper inside a joblib object array", reader.tell())
            if opcode.name == "STOP":
                break
        one.unresolved += nested.unresolved
        one.imports_seen = one.imports_seen or nested.imports_seen
        if not nested.stopped:
            raise _Malformed("joblib object array without a STOP", reader.tell())
        return
    prefix = b""
    if inline.aligned:
        prefix = reader.take(1)
        if not prefix:
            raise _Malformed("joblib array data missing", reader.tell())
        prefix += reader.take(prefix[0])
    head = reader.take(min(inline.size, PROBE_BYTES))
    region = prefix + head
    probe = Capped(io.BytesIO(region), len(region), len(region), limits.max_line_bytes, False)
    try:
        for opcode, arg, pos in _genops(probe):
            plain = _follow(plain, opcode, arg, (pos or 0) + start)
            if plain is None or opcode.name == "STOP":
                break
    except Truncated:
        if plain is not None:
            one.unresolved.append(
                Unresolved(
                    "BUILD",
                    one.base + start,
                    f"joblib array data also parses as pickle opcodes for {len(region):,} bytes "
                    "(what pickle.load would do next is not known)",
                )
            )
    except (LimitHit, ScanAbort, OSError):
        raise
    except Exception:  # noqa: BLE001 - array bytes that are not opcodes: pickle.load stops here
        pass
    reader.skip(inline.size - len(head))


def _follow(
    machine: _OnePickle | None, opcode: pickletools.OpcodeInfo, arg: object, pos: int
) -> _OnePickle | None:
    """One more opcode for a machine that may already have failed (None: it stopped)."""
    if machine is None or machine.stopped:
        return None
    try:
        machine.step(opcode, arg, pos)
    except (LimitHit, ScanAbort):
        raise
    except Exception:  # noqa: BLE001 - that reading of the bytes ends here, as its loader's would
        return None
    return machine


class _Malformed(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _genops(reader: Capped) -> Iterator[tuple[pickletools.OpcodeInfo, object, int | None]]:
    return pickletools.genops(reader)  # type: ignore[arg-type]


# Stack effect of every opcode the machine does not handle specially: (items popped above the
# mark or from the top, items pushed, pops the whole frame down to its MARK).
_PLAN: dict[str, tuple[int, int, bool]] = {
    op.name: (
        op.stack_before.index(pickletools.markobject)
        if pickletools.markobject in op.stack_before
        else len(op.stack_before),
        len(op.stack_after),
        pickletools.markobject in op.stack_before,
    )
    for op in pickletools.opcodes
}
_SPECIAL = (
    frozenset(
        {
            "GLOBAL",
            "INST",
            "STACK_GLOBAL",
            "EXT1",
            "EXT2",
            "EXT4",
            "MARK",
            "PUT",
            "BINPUT",
            "LONG_BINPUT",
            "MEMOIZE",
            "GET",
            "BINGET",
            "LONG_BINGET",
            "DUP",
            "POP",
            "STOP",
        }
    )
    | _STRING_OPS
    | frozenset(jl.TRACKED_OPS)
)
_INT_OPS = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"})
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_TUPLE": ()}
_TUPLES = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}


FORK_BUDGET = 2_000_000  # stack items copied per stream for joblib arrays (real files: tens)


class _LayeredMemo(dict[int, object]):
    """A fork's memo: its own writes over the parent's entries, without copying them."""

    def __init__(self, parent: dict[int, object]) -> None:
        super().__init__()
        self.parent, self.inherited = parent, len(parent)

    def __missing__(self, key: int) -> object:
        return self.parent[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.parent

    def __len__(self) -> int:
        return self.inherited + dict.__len__(self)


class _OnePickle:
    """The stack machine for one pickle; it records into the shared `StreamScan`.

    Like the unpickler, MARK starts a new frame (the old one goes on a metastack), so popping
    to a mark is one step and popping past it is an underflow.
    """

    def __init__(
        self, result: StreamScan, index: int, base: int, limits: ScanLimits, deadline: float
    ) -> None:
        self.result = result
        self.index = index
        self.base = base
        self.limits = limits
        self.deadline = deadline
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.imports_seen = False
        self.stopped = False
        self.unresolved: list[Unresolved] = []
        self.inline: jl.Inline | None = None  # joblib array data that follows this opcode
        self.sink = result.imports  # where imports go (a fork keeps its own)

    def _pop(self, pos: int, count: int = 1) -> None:
        if count > len(self.stack):
            raise _Malformed("stack underflow", pos)
        del self.stack[len(self.stack) - count :]

    def _pop_mark(self, pos: int) -> None:
        if not self.metastack:
            raise _Malformed("no MARK on the stack", pos)
        self.stack = self.metastack.pop()

    def _import(self, module: str, name: str, opcode: str, pos: int) -> None:
        self.imports_seen = True
        self.sink.append(Import(module, name, opcode, self.base + pos, self.index))

    def step(self, op: pickletools.OpcodeInfo, arg: object, pos: int) -> None:
        result = self.result
        result.opcodes += 1
        if result.opcodes > self.limits.max_opcodes:
            raise LimitHit(f"more than {self.limits.max_opcodes:,} opcodes")
        if not result.opcodes & 4095 and time.monotonic() > self.deadline:
            raise LimitHit(f"took longer than {self.limits.max_pickle_seconds:g} s")
        name = op.name
        if name in _CALL_OPS:
            kind = _CALL_OPS[name]
            result.counts[kind] = result.counts.get(kind, 0) + 1
        if name not in _SPECIAL:
            pops, pushes, marked = _PLAN[name]
            if marked:
                self._pop_mark(pos)
            if pops:
                self._pop(pos, pops)
            if pushes == 1:
                self.stack.append(UNKNOWN)
            elif pushes:
                self.stack.extend([UNKNOWN] * pushes)
            return
        self._special(name, arg, pos)

    def _special(self, name: str, arg: object, pos: int) -> None:
        stack = self.stack
        if name in _STRING_OPS:
            stack.append(arg if isinstance(arg, str) else UNKNOWN)
        elif name in _PUT_OPS or name == "MEMOIZE":
            if not stack:
                raise _Malformed("memoize with an empty stack", pos)
            key = len(self.memo) if name == "MEMOIZE" else _int(arg)
            self.memo[key] = stack[-1]
            if len(self.memo) > self.limits.max_memo:
                raise LimitHit(f"memo larger than {self.limits.max_memo:,} entries")
        elif name in _GET_OPS:
            key = _int(arg)
            if key not in self.memo:
                raise _Malformed(f"memo key {key} not found", pos)
            stack.append(self.memo[key])
        elif name == "MARK":
            self.metastack.append(stack)
            self.stack = []
        elif name == "GLOBAL" or name == "INST":
            module, _, attr = str(arg).partition(" ")
            self._import(module, attr, name, pos)
            if name == "INST":
                self._pop_mark(pos)
            self.stack.append(UNKNOWN if name == "INST" else jl.Ref(module, attr))
        elif name == "STACK_GLOBAL":
            if len(stack) < 2:
                raise _Malformed("stack underflow", pos)
            below, top = stack[-2], stack[-1]
            del stack[-2:]
            if isinstance(below, str) and isinstance(top, str):
                self._import(below, top, name, pos)
                stack.append(jl.Ref(below, top))
                return
            self.unresolved.append(
                Unresolved(
                    name, self.base + pos, "operands are not plain strings (computed import)"
                )
            )
            stack.append(UNKNOWN)
        elif name in ("EXT1", "EXT2", "EXT4"):
            self.unresolved.append(
                Unresolved(name, self.base + pos, f"extension registry code {arg!r} (copyreg)")
            )
            stack.append(UNKNOWN)
        elif name == "DUP":
            if not stack:
                raise _Malformed("DUP on an empty stack", pos)
            stack.append(stack[-1])
        elif name == "POP":
            if stack:
                stack.pop()
            else:
                self._pop_mark(pos)  # POP on a bare MARK discards the mark
        elif name == "STOP":
            self._pop(pos)
            self.stopped = True
        else:
            self._tracked(name, arg, pos)

    def _tracked(self, name: str, arg: object, pos: int) -> None:
        """Opcodes whose values are kept: what a joblib array wrapper's size is made of."""
        if name in _INT_OPS:
            self.stack.append(arg if isinstance(arg, int) else UNKNOWN)
        elif name in _CONSTANTS:
            self.stack.append(_CONSTANTS[name])
        elif name == "EMPTY_DICT":
            self.stack.append({})
        elif name in _TUPLES:
            count = _TUPLES[name]
            self._need(count, pos)
            items = tuple(self.stack[-count:])
            del self.stack[-count:]
            self.stack.append(items)
        elif name == "TUPLE":
            frame = self.stack
            self._pop_mark(pos)
            self.stack.append(tuple(frame))
        elif name == "SETITEMS":
            frame = self.stack
            self._pop_mark(pos)
            self._need(1, pos)
            jl.set_items(self.stack[-1], frame)
        elif name == "SETITEM":
            self._need(3, pos)
            jl.set_items(self.stack[-3], self.stack[-2:])
            del self.stack[-2:]
        else:  # REDUCE, NEWOBJ, BUILD: two values in, one out
            self._need(2, pos)
            first, second = self.stack[-2:]
            del self.stack[-2:]
            if name == "REDUCE":
                value = jl.reduce_value(first, second)
            elif name == "NEWOBJ":
                value = jl.newobj_value(first)
            else:
                self.inline = jl.inline_after_build(first, second)
                value = first if self.inline is None else UNKNOWN  # joblib puts the array there
            self.stack.append(UNKNOWN if value is None else value)

    def fork(self) -> _OnePickle:
        """A copy that reads on by itself from here: stack and frames copied, memo layered."""
        self.result.forked += len(self.stack) + sum(len(f) + 1 for f in self.metastack)
        if self.result.forked > FORK_BUDGET:
            raise LimitHit(f"joblib arrays: more than {FORK_BUDGET:,} stack items copied")
        twin = _OnePickle(self.result, self.index, self.base, self.limits, self.deadline)
        twin.stack = list(self.stack)
        twin.metastack = [list(frame) for frame in self.metastack]
        twin.memo = _LayeredMemo(self.memo)
        twin.sink = []
        return twin

    def _need(self, count: int, pos: int) -> None:
        if len(self.stack) < count:
            raise _Malformed("stack underflow", pos)


def _int(arg: object) -> int:
    return arg if isinstance(arg, int) else int(str(arg))


def scan_bytes(data: bytes, limits: ScanLimits) -> StreamScan:
    return scan_stream(io.BytesIO(data), len(data), limits)
