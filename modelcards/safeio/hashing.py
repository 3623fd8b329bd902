"""Streamed sha256 of a file: fixed memory, large reads into one reused buffer."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from modelcards.safeio.progress import Progress

BLOCK_BYTES = 8 * 1024 * 1024


def sha256_file(
    path: str | Path, *, block_bytes: int = BLOCK_BYTES, progress: Progress | None = None
) -> str:
    """Hex sha256 of the file at `path`, reading `block_bytes` at a time (hashlib drops the GIL)."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        total = os.fstat(handle.fileno()).st_size
        # no bigger than the file: zeroing 8 MB for a 300-byte config costs more than hashing it
        buffer = bytearray(max(1, min(block_bytes, total)))
        view = memoryview(buffer)
        done = 0
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            digest.update(view[:count])
            done += count
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()
