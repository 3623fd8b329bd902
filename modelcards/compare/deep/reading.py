"""Reading tensor bytes from weight files: memory-mapped, `pread` into buffers, or the snapshot.

The files are memory-mapped and read at the offsets the safetensors header gives, and the pages
of each finished chunk are dropped from the resident set (`MADV_DONTNEED`; they stay in the page
cache), so memory stays flat whatever the model size. `read_mode="pread"` copies blocks into
reused buffers instead; a snapshot without a local file is read through its own bounded reads.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from modelcards.compare.deep.dtypes import STORAGE, itemsize_of, scratch
from modelcards.inspect.facts import ModelFacts, TensorInfo
from modelcards.inspect.safetensors_header import read_safetensors_header
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import InspectError

__all__ = ["File", "Files", "Loc", "ReadMode"]

ReadMode = Literal["pread", "mmap"]


class File:
    """Byte ranges of one weights file: `pread` or `mmap` on a local file, else the snapshot."""

    def __init__(self, snapshot: Snapshot, path: str, mode: ReadMode) -> None:
        self.snapshot = snapshot
        self.path = path
        self.mode = mode
        self.fd: int | None = None
        self.map: mmap.mmap | None = None
        self.lock = threading.Lock()
        local = snapshot.local_file(path)
        if local is not None:
            self.fd = os.open(local, os.O_RDONLY)
            if mode == "mmap" and os.fstat(self.fd).st_size > 0:
                self.map = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)

    def read(self, offset: int, count: int, slot: str) -> np.ndarray:
        """`count` bytes at `offset` as a uint8 array (valid until this thread's next read)."""
        if self.map is not None:
            return np.frombuffer(self.map, dtype=np.uint8, count=count, offset=offset)
        out = scratch(slot, np.uint8, count)
        if self.fd is not None:
            view = memoryview(out)  # type: ignore[arg-type]
            done = 0
            while done < count:
                got = os.preadv(self.fd, [view[done:]], offset + done)
                if got <= 0:
                    raise InspectError(
                        f"file ends inside tensor data at byte {offset + done:,}", file=self.path
                    )
                done += got
            return out
        with self.lock:  # snapshots other than folders are not promised to be thread-safe
            data = self.snapshot.read_range(self.path, offset, count)
        if len(data) != count:
            raise InspectError(
                f"file ends inside tensor data at byte {offset + len(data):,}", file=self.path
            )
        out[:] = np.frombuffer(data, dtype=np.uint8)
        return out

    def release(self, offset: int, count: int) -> None:
        """Drop mapped pages of a finished chunk from our resident set (they stay in page cache)."""
        if self.map is None or count <= 0 or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        start = offset // page * page
        end = min(len(self.map), -(-(offset + count) // page) * page)
        self.map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def close(self) -> None:
        if self.map is not None:
            with contextlib.suppress(BufferError):  # a view still alive: the GC unmaps it
                self.map.close()
        if self.fd is not None:
            os.close(self.fd)


@dataclass(frozen=True)
class Loc:
    """Where one tensor's bytes are."""

    file: File
    offset: int  # absolute file offset of the first byte
    info: TensorInfo

    @property
    def nbytes(self) -> int:
        return self.info.numel * itemsize_of(self.info.dtype)

    def read(self, first: int, count: int, slot: str) -> np.ndarray:
        """Elements [first, first + count) in their unsigned storage type."""
        size = itemsize_of(self.info.dtype)
        raw = self.file.read(self.offset + first * size, count * size, slot)
        return raw.view(STORAGE[self.info.dtype][0])


class Files:
    """Opened weight files and header offsets of one snapshot, checked against its facts."""

    def __init__(self, snapshot: Snapshot, facts: ModelFacts, mode: ReadMode) -> None:
        self.snapshot = snapshot
        self.facts = facts
        self.mode = mode
        self.opened: dict[str, File] = {}
        self.offsets: dict[str, dict[str, tuple[int, int]]] = {}
        self.header_sizes: dict[str, int] = {}

    def loc(self, name: str) -> Loc:
        info = self.facts.weights.tensors[name]
        if info.file not in self.opened:
            header = read_safetensors_header(self.snapshot, info.file)
            self.offsets[info.file] = dict(header.offsets)
            self.header_sizes[info.file] = header.header_size
            self.opened[info.file] = File(self.snapshot, info.file, self.mode)
            listed = {t.name: t for t in header.tensors}
            for tensor_name, tensor in self.facts.weights.tensors.items():
                if tensor.file == info.file and listed.get(tensor_name) != tensor:
                    raise InspectError(
                        f"tensor {tensor_name!r} differs from when the model was inspected",
                        file=info.file,
                    )
        begin, _end = self.offsets[info.file][name]
        return Loc(self.opened[info.file], self.header_sizes[info.file] + begin, info)

    def close(self) -> None:
        for handle in self.opened.values():
            handle.close()
