"""Zip members read from their local headers the way torch's reader does, and the archive's
layout checked: names that escape, duplicates, overlapping members (zip bombs).

Flag bits and CRCs do not stop the reading (they are reported), so an archive that torch loads
is never "unreadable" to the scan; every decompressed byte counts against the file's budget.
Only what is checked is read: a member's local header, then its head (or, for a large stored
member, its first byte, which tells whether the head is worth reading), then whatever its
format needs.
"""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from modelcards.assess.scan.exact_reader import will_need
from modelcards.assess.scan.pickle_ops import UNKNOWN_SIZE, ScanAbort
from modelcards.assess.scan.tar import bad_member_name

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

ZIP_LOCAL = b"PK\x03\x04"
_CHUNK = 1024 * 1024
_FIRST_CHUNK = 4 * 1024  # = the member sniff (a stored tensor gets no further than its first byte)


class Budget(ScanAbort):
    """The decompressed-bytes budget of one top-level file is spent."""


class MemberError(Exception):
    pass


def data_offset(fh: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where a member's data starts: after its local header's name and extra field, which
    need not match the central directory's (torch's reader goes by the local header too)."""
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or not local.startswith(ZIP_LOCAL):
        raise MemberError("no local file header at the offset the central directory gives")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return info.header_offset + 30 + name_len + extra_len


def iter_member(fh: IO[bytes], info: zipfile.ZipInfo, zf: zipfile.ZipFile) -> Iterator[bytes]:
    """Decompressed chunks of one member, from its local header; CRC and flags are not trusted."""
    pos = data_offset(fh, info)
    remaining = info.compress_size
    method = info.compress_type
    step = _FIRST_CHUNK  # grows: most members are only sniffed, so start small
    if method == zipfile.ZIP_STORED:
        while remaining > 0:
            fh.seek(pos)
            chunk = fh.read(min(step, remaining))
            step = min(step * 2, _CHUNK)
            if not chunk:
                raise MemberError("member data ends before its declared size")
            pos += len(chunk)
            remaining -= len(chunk)
            yield chunk
    elif method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        while remaining > 0 and not inflater.eof:
            fh.seek(pos)
            chunk = fh.read(min(step, remaining))
            if not chunk:
                raise MemberError("member data ends before its declared size")
            pos += len(chunk)
            remaining -= len(chunk)
            data = inflater.decompress(chunk, step)
            while True:
                if data:
                    yield data
                if not inflater.unconsumed_tail or inflater.eof:  # bytes after the end: ignored
                    break
                step = min(step * 2, _CHUNK)
                data = inflater.decompress(inflater.unconsumed_tail, step)
            step = min(step * 2, _CHUNK)
        tail = inflater.flush()
        if tail:
            yield tail
    else:
        try:
            with zf.open(info) as stream:
                stream._expected_crc = None  # type: ignore[attr-defined]  # like torch: no CRC
                while chunk := stream.read(_CHUNK):
                    yield chunk
        except (
            zipfile.BadZipFile,
            NotImplementedError,
            RuntimeError,
            lzma.LZMAError,
            EOFError,
            OSError,
            ValueError,
        ) as exc:
            raise MemberError(f"{type(exc).__name__}: {exc}") from None


def prefetch_heads(fh: IO[bytes], infos: list[zipfile.ZipInfo]) -> None:
    """Have every member's local header and first data bytes fetched from the disk at once
    (`exact_reader.will_need`), before they are read one by one. 64 bytes past the name and
    extra field: torch pads the local extra field to align the data that much."""
    will_need(fh, ((i.header_offset, 30 + len(i.orig_filename) + len(i.extra) + 64) for i in infos))


class Member:
    """A member read lazily: its head first, the rest only when its format needs it."""

    def __init__(
        self, scan: FileScan, fh: IO[bytes], info: zipfile.ZipInfo, zf: zipfile.ZipFile, label: str
    ) -> None:
        self.scan, self.info, self.label = scan, info, label
        self._fh = fh
        self._chunks = iter_member(fh, info, zf)
        self.buf = bytearray()
        self.done = False
        self.crc = 0

    def first_byte_of_sniff(self, archive_size: int) -> int | None:
        """The first data byte of a stored member larger than the sniff, read alone: all that
        a checkpoint's tensor costs. None for any other member (its sniff may reach its end,
        the CRC, a size that lies or the end of the file: those are read as before)."""
        info, sniff = self.info, self.scan.limits.member_sniff_bytes
        if (
            info.compress_type != zipfile.ZIP_STORED
            or min(info.compress_size, info.file_size) <= sniff
        ):
            return None
        start = data_offset(self._fh, info)
        if start + sniff > archive_size:  # the sniff would run into the end of the file
            return None
        self._fh.seek(start)
        first = self._fh.read(1)
        return first[0] if first else None

    def fill(self, upto: int) -> None:
        limits = self.scan.limits
        while not self.done and len(self.buf) < upto:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.done = True
                if self.crc != self.info.CRC:
                    self.scan.add(
                        "MC113",
                        "CRC does not match the central directory (torch ignores it)",
                        {"crc_declared": self.info.CRC, "crc_actual": self.crc},
                        self.label,
                    )
                break
            self.scan.decompressed += len(chunk)
            if self.scan.decompressed > limits.max_total_decompressed:
                raise Budget
            self.buf += chunk
            self.crc = zlib.crc32(chunk, self.crc)
        if len(self.buf) > self.info.file_size and not getattr(self, "_lied", False):
            self._lied = True
            self.scan.add(
                "MC110",
                f"member decompresses to more than its declared {self.info.file_size:,} bytes",
                {"declared": self.info.file_size},
                self.label,
            )

    def read_all(self, cap: int) -> tuple[bytes, bool]:
        self.fill(cap + 1)
        complete = self.done and len(self.buf) <= cap
        return bytes(self.buf[:cap]), complete


class MemberIO:
    """A file-like view of a member that decompresses only as far as the reader goes."""

    def __init__(self, member: Member, start: int = 0) -> None:
        self.member = member
        self.pos = start

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = UNKNOWN_SIZE
        end = self.pos + n
        buf = self.member.buf
        if end > len(buf):  # one call per opcode: what is buffered needs no fill
            self.member.fill(end)
        data = bytes(buf[self.pos : end])
        self.pos += len(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        member = self.member
        while True:
            newline = member.buf.find(b"\n", self.pos)
            available = len(member.buf) - self.pos
            if newline >= 0 and (limit < 0 or newline - self.pos < limit):
                end = newline + 1
                break
            if (0 <= limit <= available) or member.done:
                end = self.pos + (min(limit, available) if limit >= 0 else available)
                break
            member.fill(len(member.buf) + _CHUNK)
        data = bytes(member.buf[self.pos : end])
        self.pos = end
        return data


def torchscript_code_prefixes(infos: list[zipfile.ZipInfo]) -> tuple[str, ...]:
    """`<prefix>/code/` of each TorchScript archive in the zip (torch.jit.save writes
    constants.pkl next to code/; plain torch.save checkpoints have neither)."""
    names = {i.filename for i in infos}
    return tuple(
        n.removesuffix("constants.pkl") + "code/"
        for n in sorted(names)
        if n.endswith("/constants.pkl") and n.count("/") == 1
    )


def storage_prefixes(infos: list[zipfile.ZipInfo]) -> tuple[str, ...]:
    """`<prefix>/data/` of each torch checkpoint in the zip: beside `<prefix>/data.pkl`, the
    records torch reads as raw tensor bytes (get_storage_from_record), never unpickled. A
    payload hidden in one is still reported; bytes that only start like a pickle (80 02 ...)
    and are no complete pickle are numbers, not a pickle past the scan limits."""
    names = {i.filename for i in infos}
    return tuple(
        n.removesuffix("data.pkl") + "data/"
        for n in sorted(names)
        if n.endswith("/data.pkl") and n.count("/") == 1
    )


def check_names(scan: FileScan, infos: list[zipfile.ZipInfo], chain: str) -> None:
    seen: dict[str, int] = {}
    for info in infos:
        raw_name = info.orig_filename  # zipfile cuts names at NUL; other tools may not
        why = bad_member_name(raw_name)
        if why:
            scan.add(
                "MC112",
                f"member name {raw_name!r} {why}",
                {"name": raw_name},
                chain + info.filename,
            )
        key = info.filename.replace("\\", "/")
        seen[key] = seen.get(key, 0) + 1
    for key, count in sorted(seen.items()):
        if count > 1:
            scan.add(
                "MC115", f"member name {key!r} appears {count} times", {"count": count}, chain + key
            )


def check_layout(scan: FileScan, fh: IO[bytes], infos: list[zipfile.ZipInfo], chain: str) -> None:
    """Members whose data overlap are how non-recursive zip bombs reach huge ratios."""
    spans = sorted(
        (
            i.header_offset,
            i.header_offset + 30 + len(i.filename.encode()) + i.compress_size,
            i.filename,
        )
        for i in infos
    )
    overlaps = 0
    for (_, prev_end, prev), (start, _, name) in zip(spans, spans[1:], strict=False):
        if start < prev_end:
            overlaps += 1
            if overlaps == 1:
                scan.add(
                    "MC110",
                    f"member {name!r} overlaps the data of {prev!r} (overlapping "
                    "zip bomb construction)",
                    {"member_offset": start},
                    chain + name,
                )
    total = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    limits = scan.limits
    if overlaps == 0 and total > limits.max_ratio * packed and total > limits.ratio_floor:
        scan.add(
            "MC110",
            f"archive declares {total:,} decompressed bytes",
            {"declared": total},
            chain.rstrip("/") or None,
        )
