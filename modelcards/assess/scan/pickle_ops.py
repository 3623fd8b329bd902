"""Read pickle streams opcode by opcode, without unpickling, and judge every import they make.

A small stack machine follows what the unpickler would push, so that STACK_GLOBAL operands are
resolved through the memo (PUT/GET, MEMOIZE) like the real unpickler resolves them. Streams may
hold several pickles back to back (legacy torch files hold five); a stream that breaks after a
payload still reports the payload, and says the rest was not read.
"""

from __future__ import annotations

import io
import pickletools
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.policy import Verdict, classify, gadget_attr

PICKLE_EXTENSIONS = frozenset({
    ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill", ".pck", ".th",
})  # fmt: skip

UNKNOWN_SIZE = 2**62  # a stream's size when only reading to its end tells it (the reader stops)
MAX_UNVERIFIED_FINDINGS = 50  # per stream; dangerous imports are always listed in full
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


class _Unknown:
    __slots__ = ()


UNKNOWN = _Unknown()  # any stack value that is not a literal string


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    opcode: str
    offset: int
    pickle_index: int


@dataclass(frozen=True)
class Unresolved:
    opcode: str
    offset: int
    why: str


@dataclass
class StreamScan:
    """Everything one stream told us; `error`/`limit` say why reading stopped early."""

    imports: list[Import] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    opcodes: int = 0
    pickles: int = 0  # complete pickles (ended by STOP)
    error: str | None = None
    error_offset: int | None = None
    limit: str | None = None
    end: int = 0  # offset after the last complete pickle
    trailing: bool = False  # non-pickle bytes follow the last pickle

    @property
    def is_pickle(self) -> bool:
        """A complete pickle, or one that imports by name before it breaks.

        Unresolved STACK_GLOBAL and EXT alone do not count: without a named import before them
        the unpickler fails on them, and random bytes (tensor data) hit them by chance.
        """
        return self.pickles > 0 or bool(self.imports)

    @property
    def complete(self) -> bool:
        return self.error is None and self.limit is None


class ScanAbort(Exception):
    """Raised by a stream to stop the whole file's scan (e.g. its byte budget is spent)."""


class _LimitHit(Exception):
    pass


# BINBYTES, BINBYTES8, BYTEARRAY8: tensor payloads whose content the scan never needs
_SKIPPABLE = frozenset({b"B", b"\x8e", b"\x96"})
SKIP_THRESHOLD = 1024 * 1024


class _Skipped(bytes):
    """Stands in for a large byte payload that was seeked over, not read: only its length."""

    length: int

    def __new__(cls, length: int) -> _Skipped:
        obj = super().__new__(cls)
        obj.length = length
        return obj

    def __len__(self) -> int:
        return self.length


class _Capped:
    """A read-only view of a binary stream that parses at most `cap` bytes.

    Large BINBYTES payloads (arrays inside pickles) are seeked over when the stream allows it:
    they cannot import anything, and reading them would cost memory for nothing.
    """

    def __init__(self, raw: IO[bytes], size: int, cap: int, line_cap: int, can_skip: bool) -> None:
        self.raw = raw
        self.pos = 0  # bytes consumed from where `raw` stood
        self.size = size  # bytes available from there
        self.cap = cap  # bytes parsed, skipped payloads excluded
        self.skipped = 0
        self.line_cap = line_cap
        self.can_skip = can_skip
        self.recent: tuple[bytes, bytes] = (b"", b"")  # the last two reads (opcode, length)

    def tell(self) -> int:
        return self.pos

    def _over_cap(self, n: int) -> bool:
        return self.pos - self.skipped + n > self.cap

    def read(self, n: int = -1) -> bytes:
        pos = self.pos
        if 0 <= n <= 8 and pos + n <= self.size and not self._over_cap(n):
            data = self.raw.read(n)  # fast path: opcodes and their small fixed arguments
            self.pos = pos + len(data)
            self.recent = (self.recent[1], data)
            return data
        if n < 0:
            n = self.size - pos
        if pos + n > self.size:
            raise ValueError(
                f"truncated: needs {n:,} bytes at offset {pos:,}, {self.size - pos:,} left"
            )
        opcode, length = self.recent
        if self.can_skip and n > SKIP_THRESHOLD and opcode in _SKIPPABLE and len(length) in (4, 8):
            self.raw.seek(n, io.SEEK_CUR)
            self.pos += n
            self.skipped += n
            self.recent = (b"", b"")
            return _Skipped(n)
        if self._over_cap(n):
            raise _LimitHit(f"stream longer than {self.cap:,} bytes")
        data = self.raw.read(n)
        self.pos = pos + len(data)
        self.recent = (b"", b"")
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = max(min(self.line_cap, self.cap - (self.pos - self.skipped)), 0)
        line = self.raw.readline(limit)
        self.pos += len(line)
        self.recent = (b"", b"")
        if not line.endswith(b"\n") and len(line) >= limit:
            if len(line) >= self.line_cap:
                raise _LimitHit(f"text line longer than {self.line_cap:,} bytes")
            raise _LimitHit(f"stream longer than {self.cap:,} bytes")
        return line


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
    reader = _Capped(raw, size, limits.max_pickle_bytes, limits.max_line_bytes, can_skip)
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
                if opcode.name == "STOP":
                    break
        except _LimitHit as exc:
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


class _Malformed(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _genops(reader: _Capped) -> Iterator[tuple[pickletools.OpcodeInfo, object, int | None]]:
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
)


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
        self.result.imports.append(Import(module, name, opcode, self.base + pos, self.index))

    def step(self, op: pickletools.OpcodeInfo, arg: object, pos: int) -> None:
        result = self.result
        result.opcodes += 1
        if result.opcodes > self.limits.max_opcodes:
            raise _LimitHit(f"more than {self.limits.max_opcodes:,} opcodes")
        if not result.opcodes & 4095 and time.monotonic() > self.deadline:
            raise _LimitHit(f"took longer than {self.limits.max_pickle_seconds:g} s")
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
                raise _LimitHit(f"memo larger than {self.limits.max_memo:,} entries")
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
            self.stack.append(UNKNOWN)
        elif name == "STACK_GLOBAL":
            if len(stack) < 2:
                raise _Malformed("stack underflow", pos)
            below, top = stack[-2], stack[-1]
            del stack[-2:]
            if isinstance(below, str) and isinstance(top, str):
                self._import(below, top, name, pos)
            else:
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


def _int(arg: object) -> int:
    return arg if isinstance(arg, int) else int(str(arg))


def scan_bytes(data: bytes, limits: ScanLimits) -> StreamScan:
    return scan_stream(io.BytesIO(data), len(data), limits)


def stream_findings(
    scan: StreamScan, file: str, *, member: str | None = None, named_pickle: bool = True
) -> tuple[list[Finding], str | None]:
    """Turn one stream scan into findings; the second value is why the scan was partial."""
    if not named_pickle and not scan.is_pickle and scan.limit is None:
        return [], None  # content sniffed as a pickle turned out not to be one
    where: dict[str, EvidenceValue] = {"member": member} if member else {}
    findings: list[Finding] = []
    grouped: dict[tuple[str, str, str], list[Import]] = {}
    for imp in scan.imports:
        grouped.setdefault((imp.module, imp.name, imp.opcode), []).append(imp)
    unverified = 0
    for (module, name, opcode), hits in sorted(grouped.items()):
        verdict, target = classify(module, name)
        if verdict is Verdict.SAFE:
            continue
        if verdict is Verdict.UNVERIFIED:
            unverified += 1
            if unverified > MAX_UNVERIFIED_FINDINGS:
                continue
        evidence: dict[str, EvidenceValue] = {
            **where,
            "module": module,
            "name": name,
            "opcode": opcode,
            "offset": hits[0].offset,
            "count": len(hits),
            "pickle_index": hits[0].pickle_index,
        }
        if verdict is Verdict.DANGEROUS:
            resolved = f" (resolves to {target})" if target != f"{module}.{name}" else ""
            evidence["resolves_to"] = target
            how = "which can run code"
            gadget = gadget_attr(module, name)
            if gadget:
                evidence["gadget"] = gadget
                how = f"which walks through {gadget} to the interpreter: it can run code"
            findings.append(
                finding("MC101", file, f"pickle imports {module}.{name}{resolved}, {how}", evidence)
            )
        else:
            message = f"pickle imports {module}.{name}, which is not on the allowlist"
            findings.append(finding("MC102", file, message, evidence))
    if unverified > MAX_UNVERIFIED_FINDINGS:
        extra = unverified - MAX_UNVERIFIED_FINDINGS
        findings.append(
            finding(
                "MC102",
                file,
                f"{extra} more imports not on the allowlist",
                {**where, "more_imports": extra},
            )
        )
    for item in scan.unresolved[:20]:
        findings.append(
            finding(
                "MC107",
                file,
                f"{item.opcode} at offset {item.offset}: {item.why}",
                {**where, "opcode": item.opcode, "offset": item.offset},
            )
        )
    partial: str | None = None
    if scan.limit:
        partial = f"pickle scan stopped: {scan.limit}"
        findings.append(
            finding("MC104", file, partial, {**where, "opcodes": scan.opcodes, "limit": scan.limit})
        )
    elif scan.error and (scan.is_pickle or named_pickle):
        partial = f"pickle stream broken at offset {scan.error_offset}: {scan.error}"
        findings.append(
            finding(
                "MC103",
                file,
                partial,
                {
                    **where,
                    "offset": scan.error_offset or 0,
                    "error": scan.error,
                    "complete_pickles": scan.pickles,
                },
            )
        )
    if scan.is_pickle:
        evidence = {
            **where,
            "pickles": scan.pickles,
            "opcodes": scan.opcodes,
            "imports": len(scan.imports),
        }
        for key in ("reduce", "build", "newobj", "obj", "inst"):
            evidence[key] = scan.counts.get(key, 0)
        findings.append(finding("MC105", file, "pickle data: loading it can run code", evidence))
    return findings, partial
