"""git's index file read in place, so that comparing a work tree of 20,000 files with it costs
one read of the file, not the parse of `git ls-files --stage --debug`'s text.

Only the plain layouts are read here (versions 2 to 4, SHA-1, no split or sparse index, no
extended flags, the trailing checksum verified); for any other `read_index` answers None and
the caller asks git (`worktree.py`), which reads every layout.
"""

from __future__ import annotations

import hashlib
import struct
from typing import NamedTuple

_HEADER = struct.Struct(">4sLL")
_STAT = struct.Struct(">10L20sH")  # ctime s, ns, mtime s, ns, dev, ino, mode, uid, gid, size
_EXTENDED = 0x4000
_NAME_MASK = 0x0FFF
_DIRECTORY = 0o040000  # a sparse index's folder entry
_MAX_INDEX_BYTES = 1 << 30
_NO_CHECKSUM = bytes(20)  # index.skipHash


class IndexEntry(NamedTuple):
    """One entry as `ls-files --stage --debug` shows it (a tuple: 20,000 are made at once)."""

    mode: int
    blob: str
    stage: int
    ctime_ns: int
    mtime_ns: int
    inode: int
    size: int


def read_index(path: str) -> dict[str, IndexEntry] | None:
    """path → entry of the index at `path` ({} when there is no index yet); None for a layout
    this reader leaves to git, or a file that is not a whole index."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_INDEX_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    if len(data) > _MAX_INDEX_BYTES or len(data) < _HEADER.size + 20:
        return None
    signature, version, count = _HEADER.unpack_from(data)
    if signature != b"DIRC" or version not in (2, 3, 4):
        return None
    checksum = data[-20:]
    body = memoryview(data)[:-20]
    if checksum != _NO_CHECKSUM and hashlib.sha1(body, usedforsecurity=False).digest() != checksum:
        return None
    try:
        entries, end = _entries(data, version, count, len(body))
    except (struct.error, ValueError, IndexError):
        return None
    if not _plain_extensions(data, end, len(body)):
        return None
    return entries


def _entries(
    data: bytes, version: int, count: int, limit: int
) -> tuple[dict[str, IndexEntry], int]:
    entries: dict[str, IndexEntry] = {}
    at = _HEADER.size
    previous = b""
    unpack = _STAT.unpack_from
    for _ in range(count):
        c_s, c_ns, m_s, m_ns, _dev, ino, mode, _uid, _gid, size, sha, flags = unpack(data, at)
        if flags & _EXTENDED or mode & 0o170000 == _DIRECTORY:
            raise ValueError("extended flags or a sparse folder: git reads it")
        start = at + _STAT.size
        if version == 4:  # the path: what to drop from the previous one (a varint), then the rest
            drop, start = _varint(data, start)
            end = data.index(b"\0", start, limit)
            if drop > len(previous):
                raise ValueError("bad path prefix")
            name = previous[: len(previous) - drop] + data[start:end]
            at = end + 1
        else:
            length = flags & _NAME_MASK
            end = start + length if length < _NAME_MASK else data.index(b"\0", start, limit)
            if data[end] != 0:
                raise ValueError("a path not of its recorded length")
            name = data[start:end]
            at = at + (_STAT.size + len(name) + 8) // 8 * 8  # 1 to 8 NULs pad to 8 bytes
        previous = name
        stamps = c_s * 1_000_000_000 + c_ns, m_s * 1_000_000_000 + m_ns
        stage = (flags >> 12) & 3
        path = name.decode("utf-8", "surrogateescape")  # as GitCli decodes git's output
        entries[path] = IndexEntry(mode, sha.hex(), stage, *stamps, ino, size)
    if at > limit:
        raise ValueError("entries run past the end")
    return entries, at


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """git's offset varint (`varint.c`): 7 bits a byte, each continuation adding one."""
    byte = data[at]
    at += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = data[at]
        at += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, at


def _plain_extensions(data: bytes, at: int, limit: int) -> bool:
    """The extensions after the entries are whole, and none makes the entries partial: a split
    index (`link`) keeps its entries in another file, a sparse one (`sdir`) folds folders."""
    while at < limit:
        if at + 8 > limit:
            return False
        name, size = struct.unpack_from(">4sL", data, at)
        if name in (b"link", b"sdir"):
            return False
        at += 8 + size
    return at == limit
