"""Read a .npy header in full, within a bound, and scan the object pickle that follows it.

`numpy.load(allow_pickle=True)` reads a header of any length (numpy skips its own header-size
check once pickles are allowed), so a header padded far past what a scanner sniffs must not
hide the pickle behind it: the whole header is read, up to the format's own 4-byte length but
never past `ScanLimits.max_npy_header_bytes`, and a header longer than that is a finding.
The dtype is judged by numpy's own reader of header literals, so "objects or not" agrees with
what `numpy.load` decides.
"""

from __future__ import annotations

import ast
import struct
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from modelcards.assess.findings import EvidenceValue
from modelcards.assess.scan.pickle_findings import stream_findings
from modelcards.assess.scan.pickle_ops import UNKNOWN_SIZE, scan_stream

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

NPY_MAGIC = b"\x93NUMPY"
# Header text, padding excluded, that is parsed as a literal: numpy writes a few hundred bytes;
# a 1 MiB literal costs seconds and hundreds of MB in ast, so longer text is not evaluated.
MAX_HEADER_TEXT = 64 * 1024
_PADDING = b" \t\r\n\x0b\x0c"


@dataclass(frozen=True)
class NpyHeader:
    """A header read in full; `has_objects` is None when its dtype could not be judged."""

    descr: object
    data_offset: int
    has_objects: bool | None


@dataclass(frozen=True)
class NpyProblem:
    rule: str  # MC116 malformed, MC124 longer than the bound
    message: str
    evidence: dict[str, EvidenceValue]
    data_offset: int | None = None  # where the data starts, when the length was still known


def read_npy_header(read: IO[bytes], max_header: int) -> NpyHeader | NpyProblem:
    """Read the preamble and header from `read`'s position (which is left at the data)."""
    pre = read.read(10)
    if len(pre) < 10 or not pre.startswith(NPY_MAGIC):
        return NpyProblem("MC116", "numpy header: shorter than the .npy preamble", {})
    major = pre[6]
    if major == 1:
        (length,) = struct.unpack("<H", pre[8:10])
        start = 10
    elif major in (2, 3):
        more = read.read(2)
        if len(more) < 2:
            return NpyProblem("MC116", "numpy header: shorter than the .npy preamble", {})
        (length,) = struct.unpack("<I", pre[8:10] + more)
        start = 12
    else:
        return NpyProblem(
            "MC116", f"numpy header: unknown .npy format version {major}.{pre[7]}", {}
        )
    if length > max_header:
        return NpyProblem(
            "MC124",
            f"numpy header declares {length:,} bytes, more than the {max_header:,}-byte bound",
            {"header_length": length, "bound": max_header},
        )
    raw = read.read(length)
    if len(raw) < length:
        return NpyProblem(
            "MC116",
            f"numpy header: file ends inside its {length:,}-byte header",
            {"header_length": length},
        )
    return _parse(raw, major, start + length)


def _parse(raw: bytes, major: int, data_offset: int) -> NpyHeader | NpyProblem:
    text_bytes = len(raw.translate(None, _PADDING))
    if text_bytes > MAX_HEADER_TEXT:
        return NpyProblem(
            "MC116",
            f"numpy header holds {text_bytes:,} bytes of text besides padding, too large to "
            "parse; what follows it was scanned as a possible pickle",
            {"header_text_bytes": text_bytes},
            data_offset,
        )
    try:
        text = raw.decode("latin-1" if major < 3 else "utf-8")
        value = ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        return NpyProblem("MC116", f"numpy header: not a Python literal: {type(exc).__name__}", {})
    if not isinstance(value, dict) or set(value) != {"descr", "fortran_order", "shape"}:
        return NpyProblem(
            "MC116", "numpy header: not a dict of exactly descr, fortran_order and shape", {}
        )
    return NpyHeader(value["descr"], data_offset, _has_objects(value["descr"]))


def _has_objects(descr: object) -> bool | None:
    """What numpy.load decides: it builds the dtype from the literal, then asks `hasobject`."""
    from numpy.lib.format import descr_to_dtype  # numpy: only when a .npy header is read

    try:
        return bool(descr_to_dtype(descr).hasobject)  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError, IndexError, RecursionError, MemoryError):
        return None  # numpy refuses this dtype too


def scan_npy(
    scan: FileScan,
    stream: IO[bytes],
    *,
    size: int | None,
    member: str | None = None,
    can_skip: bool = False,
) -> None:
    """Scan a .npy read from `stream`'s position; `size` is the bytes left, None if unknown."""
    limits = scan.limits
    header = read_npy_header(stream, limits.max_npy_header_bytes)
    if isinstance(header, NpyProblem):
        scan.add(header.rule, header.message, header.evidence, member)
        if header.rule == "MC124":
            scan.gap(f"{member or 'numpy header'}: header longer than the bound, data not read")
        if header.data_offset is None:
            return
        offset, objects = header.data_offset, None
    else:
        offset, objects = header.data_offset, header.has_objects
        if objects is False:
            return
        if objects is None:
            scan.add(
                "MC116", f"numpy header: dtype {header.descr!r} is not one numpy reads", {}, member
            )
            return
        scan.add(
            "MC114",
            f"array of Python objects (dtype {header.descr!r})",
            {"dtype": str(header.descr)},
            member,
        )
    remaining = UNKNOWN_SIZE if size is None else size - offset
    result = scan_stream(stream, remaining, limits, base_offset=offset, can_skip=can_skip)
    findings, why = stream_findings(result, scan.file, member=member, named_pickle=bool(objects))
    scan.findings.extend(findings)
    if why:
        scan.gap(f"{member}: {why}" if member else why)
