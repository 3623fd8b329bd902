"""Compressed streams outside zips (gzip, zlib, bz2, xz, lzma): told by magic bytes, scanned inside.

`pandas.read_pickle("x.pkl.gz")`, `joblib.load` of a compressed dump and `tarfile`'s "r:*"
modes all decompress before they unpickle, so a scan of the compressed bytes sees nothing.
Nothing here is decompressed ahead of the reader, only what it has not read yet is kept, and
every byte counts against the file's budget (`ScanLimits.max_total_decompressed`): a bomb ends
as a finding after bounded work, never as a giant allocation. What is inside is handed back to
the caller's dispatcher (`inner`), which tells a pickle, a tar, a .npy or a zip by its bytes.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Protocol

from modelcards.assess.findings import EvidenceValue

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

_IN_CHUNK = 64 * 1024
_OUT_CHUNK = 1024 * 1024
# Suffixes a compressor adds; the name inside is the name without them (x.pkl.gz -> x.pkl).
SUFFIXES = {".gz": "", ".gzip": "", ".z": "", ".bz2": "", ".xz": "", ".lzma": "", ".tgz": ".tar",
            ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar"}  # fmt: skip


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


# The first byte of every magic `sniff` knows: a stream starting with any other is none of them.
FIRST_BYTES = frozenset(b"\x1f\xfdBx\x5d")


def sniff(head: bytes) -> str | None:
    """The compression of a stream starting with `head`, from its magic bytes (None: none)."""
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bz2"
    if head[:2] in (b"x\x01", b"x^", b"x\x9c", b"x\xda"):  # joblib's zlib (RFC 1950 header)
        return "zlib" if _decodes("zlib", head) else None
    if head[:1] == b"\x5d" and len(head) >= 13 and _lzma_dict_size(head[1:5]):
        return "lzma" if _decodes("lzma", head) else None  # lzma "alone", joblib's "lzma"
    return None


def _lzma_dict_size(raw: bytes) -> bool:
    """liblzma writes dictionary sizes of 2^n or 2^n + 2^(n-1), at least 4 KiB."""
    size = int.from_bytes(raw, "little")
    low = size & -size
    return size >= 4096 and size in (low, low * 3)


def _decodes(kind: str, head: bytes) -> bool:
    """Weak magics (one or two bytes) are confirmed: the first bytes must decompress."""
    try:
        _decoder(kind).decompress(head[:4096], _IN_CHUNK)
    except (zlib.error, lzma.LZMAError, ValueError):
        return False
    return True


def _decoder(kind: str) -> _Decoder:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "zlib":
        return zlib.decompressobj()
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)


class Inflating:
    """A read-only stream of decompressed bytes; it stops (like EOF) at the budget or an error.

    Concatenated streams of the same kind are read as one, as gzip, bz2 and lzma readers do.
    What ended it is kept (`capped`, `broken`, `trailing`) for the caller to report.
    """

    def __init__(self, kind: str, raw: IO[bytes], scan: FileScan) -> None:
        self.kind, self.raw, self.scan = kind, raw, scan
        self._dec = _decoder(kind)
        self._tail = b""  # compressed input not yet taken by the decoder
        self._buf = bytearray()  # decompressed, not yet read
        self.consumed = 0  # compressed bytes read from `raw`
        self.produced = 0
        self.pos = 0
        self.done = False
        self.capped = False
        self.ratio_reported = False
        self.broken: str | None = None
        self.trailing = 0
        self.streams = 1

    def _raw(self) -> bytes:
        chunk = self.raw.read(_IN_CHUNK)
        self.consumed += len(chunk)
        return chunk

    def _step(self) -> None:
        """Decompress one more piece into the buffer, or end the stream."""
        dec = self._dec
        if dec.eof:
            self._next_stream(dec.unused_data + self._tail)
            return
        needs = getattr(dec, "needs_input", True)
        data = self._tail
        self._tail = b""
        if not data and needs:
            data = self._raw()
            if not data:
                self.broken = "data ends before the end of the compressed stream"
                self.done = True
                return
        try:
            out = dec.decompress(data, _OUT_CHUNK)
        except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError) as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
            self.done = True
            return
        self._tail = getattr(dec, "unconsumed_tail", b"")
        self._account(out)

    def _next_stream(self, rest: bytes) -> None:
        while len(rest) < 8:  # enough to tell a magic from padding
            more = self._raw()
            if not more:
                break
            rest += more
        if self.kind == "gzip":
            rest = rest.lstrip(b"\x00")  # gzip readers skip zero padding between members
        if rest and sniff(rest) == self.kind:
            self._dec = _decoder(self.kind)
            self._tail = rest
            self.streams += 1
            return
        if rest:
            self.trailing = len(rest) + len(self.raw.read(1 << 20))
        self.done = True

    def _account(self, out: bytes) -> None:
        limits = self.scan.limits
        self.produced += len(out)
        self.scan.decompressed += len(out)
        if self.scan.decompressed > limits.max_total_decompressed:
            self.capped = True
            self.done = True
            out = out[: max(len(out) - (self.scan.decompressed - limits.max_total_decompressed), 0)]
        if (
            not self.ratio_reported
            and self.produced > limits.ratio_floor
            and self.produced > limits.max_ratio * max(self.consumed, 1)
        ):
            self.ratio_reported = True
        self._buf += out

    def _fill(self, n: int) -> None:
        while len(self._buf) < n and not self.done:
            self._step()

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self.scan.limits.max_total_decompressed
        self._fill(n)
        data = bytes(self._buf[:n])
        del self._buf[:n]
        self.pos += len(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        while True:
            newline = self._buf.find(b"\n")
            if newline >= 0 and (limit < 0 or newline < limit):
                return self.read(newline + 1)
            if (0 <= limit <= len(self._buf)) or self.done:
                return self.read(limit if limit >= 0 else len(self._buf))
            self._fill(len(self._buf) + _OUT_CHUNK)

    def tell(self) -> int:
        return self.pos


class Prefixed:
    """`head` (already read) followed by the rest of `stream`: a reader that never seeks back."""

    def __init__(self, head: bytes, stream: IO[bytes] | Inflating) -> None:
        self.head, self.stream, self.pos = head, stream, 0

    def read(self, n: int = -1) -> bytes:
        if self.pos >= len(self.head):
            data = self.stream.read(n)
        else:
            data = self.head[self.pos : self.pos + n] if n >= 0 else self.head[self.pos :]
            if n < 0 or len(data) < n:
                data += self.stream.read(n - len(data) if n >= 0 else -1)
        self.pos += len(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        if self.pos >= len(self.head):
            line = self.stream.readline(limit)
        else:
            rest = self.head[self.pos :]
            cut = rest.find(b"\n")
            line = rest[: cut + 1] if cut >= 0 else rest
            if 0 <= limit < len(line):
                line = line[:limit]
            elif cut < 0 and (limit < 0 or len(line) < limit):
                line += self.stream.readline(limit - len(line) if limit >= 0 else -1)
        self.pos += len(line)
        return line

    def tell(self) -> int:
        return self.pos


Inner = Callable[..., None]  # (scan, stream, head, *, name, label, depth) -> None


def inner_name(name: str, kind: str) -> str:
    """The name of what a compressed file holds: x.pkl.gz -> x.pkl, x.tgz -> x.tar."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    suffix = base[dot:].lower() if dot > 0 else ""
    if suffix in SUFFIXES:
        return base[:dot] + SUFFIXES[suffix]
    return base  # x.joblib stays x.joblib: joblib compresses without renaming


def scan_compressed(
    scan: FileScan,
    raw: IO[bytes],
    kind: str,
    *,
    name: str,
    label: str | None,
    depth: int,
    inner: Inner,
) -> None:
    """Scan what the compressed stream at `raw` holds.

    `label` is the member the stream is (None for a top-level file); what is inside is
    reported as `label!/name-inside` (or just the name inside, for a top-level file).
    """
    limits = scan.limits
    stream = Inflating(kind, raw, scan)
    head = stream.read(limits.sniff_bytes)  # the dispatcher gets it with the rest of `stream`
    inside = inner_name(name, kind)
    where = f"{label}!/{inside}" if label else inside
    if head:
        inner(scan, stream, head, name=inside, label=where, depth=depth + 1)
    evidence: dict[str, EvidenceValue] = {
        "compression": kind,
        "compressed_bytes_read": stream.consumed,
    }
    if stream.ratio_reported:
        scan.add(
            "MC110",
            f"{kind} stream expands more than {limits.max_ratio}:1 "
            f"({stream.produced:,} bytes from {stream.consumed:,})",
            {**evidence, "decompressed": stream.produced},
            label,
        )
    if stream.capped:
        scan.add(
            "MC110",
            f"{kind} stream decompresses past the {limits.max_total_decompressed:,}-byte budget",
            {**evidence, "budget": limits.max_total_decompressed},
            label,
        )
        scan.gap(f"{where}: decompression budget spent")
    if stream.broken:
        scan.add("MC113", f"{kind} stream is broken: {stream.broken}", evidence, label)
        scan.gap(f"{where}: {kind} stream broken")
    elif stream.trailing:
        scan.add(
            "MC113",
            f"{stream.trailing:,} bytes that are not {kind} data follow the compressed stream",
            {**evidence, "trailing_bytes": stream.trailing},
            label,
        )
