"""The bounded byte source the opcode walker reads from: a cap on bytes parsed, one on text
lines, and large tensor payloads passed over without reading them when the stream can seek.
"""

from __future__ import annotations

import io
from typing import IO


class LimitHit(Exception):
    """A scan bound was reached: what follows is not checked."""


# BINBYTES, BINBYTES8, BYTEARRAY8: tensor payloads whose content the scan never needs
_SKIPPABLE = frozenset({b"B", b"\x8e", b"\x96"})
SKIP_THRESHOLD = 1024 * 1024


class Skipped(bytes):
    """Stands in for a large byte payload that was seeked over, not read: only its length."""

    length: int

    def __new__(cls, length: int) -> Skipped:
        obj = super().__new__(cls)
        obj.length = length
        return obj

    def __len__(self) -> int:
        return self.length


class Truncated(ValueError):
    """The stream ends before what the pickle says it holds."""


class Capped:
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
            raise Truncated(
                f"truncated: needs {n:,} bytes at offset {pos:,}, {self.size - pos:,} left"
            )
        opcode, length = self.recent
        if self.can_skip and n > SKIP_THRESHOLD and opcode in _SKIPPABLE and len(length) in (4, 8):
            self.raw.seek(n, io.SEEK_CUR)
            self.pos += n
            self.skipped += n
            self.recent = (b"", b"")
            return Skipped(n)
        if self._over_cap(n):
            raise LimitHit(f"stream longer than {self.cap:,} bytes")
        data = self.raw.read(n)
        self.pos = pos + len(data)
        self.recent = (b"", b"")
        return data

    def skip(self, n: int) -> None:
        """Pass over `n` bytes that are data, not opcodes (they do not count against the cap)."""
        if self.pos + n > self.size:
            raise Truncated(f"truncated: {n:,} bytes of array data at offset {self.pos:,}")
        if self.can_skip:
            self.raw.seek(n, io.SEEK_CUR)
        else:
            left = n
            while left:
                chunk = self.raw.read(min(left, 1024 * 1024))
                if not chunk:
                    raise Truncated(f"truncated: array data ends at offset {self.pos:,}")
                left -= len(chunk)
        self.pos += n
        self.skipped += n
        self.recent = (b"", b"")

    def take(self, n: int) -> bytes:
        """Read up to `n` bytes of data (not opcodes: they do not count against the cap)."""
        data = self.raw.read(max(min(n, self.size - self.pos), 0))
        self.pos += len(data)
        self.skipped += len(data)
        self.recent = (b"", b"")
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = max(min(self.line_cap, self.cap - (self.pos - self.skipped)), 0)
        line = self.raw.readline(limit)
        self.pos += len(line)
        self.recent = (b"", b"")
        if not line.endswith(b"\n") and len(line) >= limit:
            if len(line) >= self.line_cap:
                raise LimitHit(f"text line longer than {self.line_cap:,} bytes")
            raise LimitHit(f"stream longer than {self.cap:,} bytes")
        return line
