"""A view of an open file that reads exactly the bytes asked for, where asked (`os.pread`).

A buffered reader refills its whole buffer after a seek out of it: in a zip checkpoint of
thousands of tensors, every member's 30-byte local header then costs a buffer of tensor data
the scan never looks at (525 MB read to check 8 MB). The zip reader seeks to each header and
reads only what it checks, so it reads through this view instead: no read-ahead, its own
position, and the descriptor's offset never moved, so the buffered reader of the same file
(which the pickle and header scanners read through) stays right.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import IO, cast


class ExactReader:
    """Read-only, seekable, unbuffered; the file's size is the one it had when opened."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self._size, self._pos = fd, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if target < 0:
            raise OSError(22, "Invalid argument: negative seek position")  # as FileIO says it
        self._pos = target
        return target

    def read(self, n: int | None = -1) -> bytes:
        """At most `n` bytes (all to the end when negative), fewer only at the end of the file."""
        left = max(self._size - self._pos, 0)
        want = left if n is None or n < 0 else min(n, left)  # never allocates past the end
        parts: list[bytes] = []
        while want > 0:
            data = os.pread(self.fd, want, self._pos)
            if not data:  # the file shrank since it was opened
                break
            parts.append(data)
            self._pos += len(data)
            want -= len(data)
        return b"".join(parts)


def will_need(fh: IO[bytes], spans: Iterable[tuple[int, int]]) -> None:
    """Ask the kernel for these (offset, length) spans of `fh` now, all at once: read one
    after the other from a cold disk, a checkpoint's 2,000 member headers are 2,000 waits in
    a row. Only a hint (nothing is read into Python); a no-op for any other file object."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None or not isinstance(fh, ExactReader):
        return
    for offset, length in spans:
        if offset >= 0:  # a hostile central directory can say anything
            try:
                advise(fh.fd, offset, length, os.POSIX_FADV_WILLNEED)
            except (OSError, OverflowError):
                return  # a hint the kernel does not take costs nothing to skip


def exact_view(fh: IO[bytes], size: int) -> IO[bytes]:
    """`fh` read through an `ExactReader` where it is a real file and `os.pread` exists, else
    `fh` itself (an in-memory archive has no read-ahead to avoid)."""
    if not hasattr(os, "pread"):
        return fh
    try:
        fd = fh.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return fh
    return cast(IO[bytes], ExactReader(fd, size))
