"""Tell a file's format by its bytes, not its name, and open containers within a budget.

Zip members are read from their local headers the way torch's reader does it: flag bits and
CRCs do not stop us (they are reported), so an archive that torch loads is never "unreadable"
to us. Nested zips are followed to a bounded depth and every decompressed byte counts against a
budget, so bombs end as findings.
"""

from __future__ import annotations

import ast
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.assess.scan import chat_template, gguf, keras, keras_h5, onnx_check, remote_code
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.pickle_ops import (
    PICKLE_EXTENSIONS,
    ScanAbort,
    scan_bytes,
    scan_stream,
    stream_findings,
)
from modelcards.assess.scan.safetensors_check import check_safetensors
from modelcards.resolve.snapshot import MAX_LFS_POINTER_BYTES, parse_lfs_pointer

ZIP_LOCAL = b"PK\x03\x04"
ZIP_EMPTY = b"PK\x05\x06"
NPY_MAGIC = b"\x93NUMPY"
TEXT_EXTENSIONS = frozenset(
    {
        ".json",
        ".txt",
        ".md",
        ".py",
        ".yaml",
        ".yml",
        ".jinja",
        ".csv",
        ".tsv",
        ".toml",
        ".cfg",
        ".ini",
        ".html",
        ".rst",
        ".gitattributes",
        ".jsonl",
        ".license",
    }
)
TEXT_NAMES = frozenset(
    {
        "license",
        "notice",
        "readme",
        "use_policy",
        "copying",
        "authors",
        ".gitattributes",
        ".gitignore",
    }
)
# First bytes that can start a protocol 0/1 pickle that actually imports or builds something.
_P0_STARTS = frozenset(b"(c]})NIJKMLSVUTXFGiq")
_CHUNK = 1024 * 1024
_FIRST_CHUNK = 4 * 1024  # = the member sniff: a 2000-tensor checkpoint reads 8 MB to sniff


class _Budget(ScanAbort):
    """The decompressed-bytes budget of one top-level file is spent."""


@dataclass
class FileScan:
    """Findings and gaps of one top-level file, shared by everything nested in it."""

    file: str
    limits: ScanLimits
    findings: list[Finding] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    decompressed: int = 0
    path: Path | None = None  # where the file is, for checks that look beside it (ONNX data)

    def add(
        self,
        rule: str,
        message: str,
        evidence: dict[str, EvidenceValue] | None = None,
        member: str | None = None,
    ) -> None:
        ev: dict[str, EvidenceValue] = {"member": member} if member else {}
        ev.update(evidence or {})
        self.findings.append(finding(rule, self.file, message, ev))

    def gap(self, why: str) -> None:
        self.partial.append(why)


def _basename(name: str) -> str:
    """Last path part, lowercased (plain string work: this runs for every archive member)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1].lower()


def _ext(name: str) -> str:
    base = _basename(name)
    dot = base.rfind(".")
    return base[dot:] if 0 < dot < len(base) - 1 else ""


def is_text_name(name: str) -> bool:
    base = _basename(name)
    return _ext(base) in TEXT_EXTENSIONS or base.split(".")[0] in TEXT_NAMES


def looks_like_pickle(head: bytes, name: str, limits: ScanLimits) -> bool:
    """True when the first bytes are a pickle that gets as far as an import or a STOP."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return True
    if not head or head[0] not in _P0_STARTS or is_text_name(name):
        return False
    probe = ScanLimits(max_opcodes=20_000, max_pickle_seconds=0.2, max_pickles_per_stream=1)
    result = scan_bytes(head, probe)
    if result.is_pickle or result.limit is not None:
        return True  # imports, a STOP, or thousands of valid opcodes: a pickle
    # still parsing when the sniffed bytes ran out: the rest of the file decides
    return (
        result.opcodes >= 16
        and result.error_offset is not None
        and result.error_offset >= len(head) - 1024
    )


# --- npy -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpyHeader:
    descr: object
    data_offset: int
    has_objects: bool


def _has_objects(descr: object) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list):
        return any(isinstance(f, tuple) and len(f) >= 2 and _has_objects(f[1]) for f in descr)
    return False


def parse_npy_header(head: bytes) -> NpyHeader | str:
    """The header of a .npy file, or why it is malformed."""
    if len(head) < 10 or not head.startswith(NPY_MAGIC):
        return "shorter than the .npy preamble"
    major = head[6]
    if major == 1:
        (length,) = struct.unpack("<H", head[8:10])
        start = 10
    elif major in (2, 3):
        if len(head) < 12:
            return "shorter than the .npy preamble"
        (length,) = struct.unpack("<I", head[8:12])
        start = 12
    else:
        return f"unknown .npy format version {major}.{head[7]}"
    if start + length > len(head):
        return f"header of {length:,} bytes is longer than the scan reads"
    try:
        text = head[start : start + length].decode("latin-1" if major < 3 else "utf-8")
        value = ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        return f"header is not a Python literal: {type(exc).__name__}"
    if not isinstance(value, dict) or not {"descr", "fortran_order", "shape"} <= value.keys():
        return "header is not a dict with descr, fortran_order and shape"
    return NpyHeader(value["descr"], start + length, _has_objects(value["descr"]))


# --- reading members -------------------------------------------------------------------------


class _MemberError(Exception):
    pass


def _iter_member(fh: IO[bytes], info: zipfile.ZipInfo, zf: zipfile.ZipFile) -> Iterator[bytes]:
    """Decompressed chunks of one member, from its local header; CRC and flags are not trusted."""
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) < 30 or not local.startswith(ZIP_LOCAL):
        raise _MemberError("no local file header at the offset the central directory gives")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    pos = info.header_offset + 30 + name_len + extra_len
    remaining = info.compress_size
    method = info.compress_type
    step = _FIRST_CHUNK  # grows: most members are only sniffed, so start small
    if method == zipfile.ZIP_STORED:
        while remaining > 0:
            fh.seek(pos)
            chunk = fh.read(min(step, remaining))
            step = min(step * 2, _CHUNK)
            if not chunk:
                raise _MemberError("member data ends before its declared size")
            pos += len(chunk)
            remaining -= len(chunk)
            yield chunk
    elif method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        while remaining > 0 and not inflater.eof:
            fh.seek(pos)
            chunk = fh.read(min(step, remaining))
            if not chunk:
                raise _MemberError("member data ends before its declared size")
            pos += len(chunk)
            remaining -= len(chunk)
            data = inflater.decompress(chunk, step)
            while True:
                if data:
                    yield data
                if not inflater.unconsumed_tail:
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
            raise _MemberError(f"{type(exc).__name__}: {exc}") from None


class _Member:
    """A member read lazily: its head first, the rest only when its format needs it."""

    def __init__(
        self, scan: FileScan, fh: IO[bytes], info: zipfile.ZipInfo, zf: zipfile.ZipFile, label: str
    ) -> None:
        self.scan, self.info, self.label = scan, info, label
        self._chunks = _iter_member(fh, info, zf)
        self.buf = bytearray()
        self.done = False
        self.crc = 0

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
                raise _Budget
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


_UNKNOWN_SIZE = 2**62  # a member's true size is known only once read; the reader stops at EOF


class _MemberIO:
    """A file-like view of a member that decompresses only as far as the reader goes."""

    def __init__(self, member: _Member, start: int = 0) -> None:
        self.member = member
        self.pos = start

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = _UNKNOWN_SIZE
        self.member.fill(self.pos + n)
        data = bytes(self.member.buf[self.pos : self.pos + n])
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


def _bad_name(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    if ".." in name.replace("\\", "/").split("/"):
        return "climbs out with '..'"
    return None


def scan_zip(scan: FileScan, fh: IO[bytes], *, depth: int, chain: str, name: str) -> None:
    limits = scan.limits
    try:
        zf = zipfile.ZipFile(fh)
        infos = zf.infolist()
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        struct.error,
        IndexError,
        OverflowError,
        UnicodeDecodeError,
    ) as exc:
        scan.add("MC113", f"archive cannot be opened: {exc}", {}, chain.rstrip("/") or None)
        scan.gap(f"archive {chain or scan.file} cannot be opened")
        return
    if len(infos) > limits.max_zip_members:
        scan.add(
            "MC110",
            f"archive has {len(infos):,} members (limit {limits.max_zip_members:,})",
            {"members": len(infos)},
            chain.rstrip("/") or None,
        )
        scan.gap(f"only the first {limits.max_zip_members:,} members were read")
        infos = infos[: limits.max_zip_members]
    _check_names(scan, infos, chain)
    _check_layout(scan, fh, infos, chain)
    for info in infos:
        if info.is_dir():
            continue
        label = chain + info.filename
        if info.flag_bits & 0x1:
            scan.add(
                "MC113",
                "member is flagged as encrypted (torch reads it anyway)",
                {"flag_bits": info.flag_bits},
                label,
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            scan.add(
                "MC110",
                f"member declares a {info.file_size // max(info.compress_size, 1):,}"
                f":1 compression ratio ({info.file_size:,} bytes)",
                {"file_size": info.file_size, "compress_size": info.compress_size},
                label,
            )
        try:
            member = _Member(scan, fh, info, zf, label)
            scan_member(scan, member, depth=depth, name=name)
        except _Budget:
            scan.add(
                "MC110",
                f"archive decompresses past the {limits.max_total_decompressed:,}-byte budget",
                {"budget": limits.max_total_decompressed},
                label,
            )
            scan.gap(f"decompression budget spent at {label}")
            return
        except (_MemberError, zlib.error, OSError, EOFError, ValueError) as exc:
            scan.add("MC113", f"member cannot be read: {exc}", {}, label)
            scan.gap(f"member {label} cannot be read")


def _check_names(scan: FileScan, infos: list[zipfile.ZipInfo], chain: str) -> None:
    seen: dict[str, int] = {}
    for info in infos:
        raw_name = info.orig_filename  # zipfile cuts names at NUL; other tools may not
        why = _bad_name(raw_name)
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


def _check_layout(scan: FileScan, fh: IO[bytes], infos: list[zipfile.ZipInfo], chain: str) -> None:
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


def scan_member(scan: FileScan, member: _Member, *, depth: int, name: str) -> None:
    limits = scan.limits
    member.fill(limits.member_sniff_bytes)
    head = bytes(member.buf[: limits.member_sniff_bytes])
    label = member.label
    base = _basename(member.info.filename)
    if head.startswith(ZIP_LOCAL) or head.startswith(ZIP_EMPTY):
        if depth + 1 > limits.max_zip_depth:
            scan.add(
                "MC111",
                f"archive nested deeper than {limits.max_zip_depth} levels",
                {"depth": depth + 1},
                label,
            )
            scan.gap(f"nested archive {label} not opened")
            return
        data, complete = member.read_all(limits.max_member_bytes)
        if not complete:
            scan.add(
                "MC110",
                "nested archive is larger than the member budget",
                {"budget": limits.max_member_bytes},
                label,
            )
            scan.gap(f"nested archive {label} larger than the budget")
            return
        scan_zip(scan, io.BytesIO(data), depth=depth + 1, chain=label + "!/", name=base)
    elif head.startswith(NPY_MAGIC):
        _scan_npy_member(scan, member, head)
    elif looks_like_pickle(head, base, limits) or _ext(base) in PICKLE_EXTENSIONS:
        result = scan_stream(
            _MemberIO(member),  # type: ignore[arg-type]
            _UNKNOWN_SIZE,
            limits,
            can_skip=False,
        )
        named = _ext(base) in PICKLE_EXTENSIONS
        if named and not result.is_pickle and result.limit is None:
            scan.add(
                "MC108",
                "member named like a pickle is not a pickle",
                {"first_bytes": head[:8].hex()},
                label,
            )
            return
        findings, why = stream_findings(result, scan.file, member=label, named_pickle=named)
        scan.findings.extend(findings)
        if why:
            scan.gap(f"{label}: {why}")
    elif base.endswith(".py"):  # TorchScript archives carry code/*.py, other zips may too
        data, complete = member.read_all(limits.max_text_bytes)
        scan.findings.extend(
            remote_code.python_findings(data, scan.file, complete=complete, member=label)
        )
        if not complete:
            scan.gap(f"{label}: larger than {limits.max_text_bytes:,} bytes")
    elif base == "config.json" and name.endswith(".keras"):
        data, complete = member.read_all(limits.max_text_bytes)
        _keras_config(scan, data, complete, label)


def _keras_config(scan: FileScan, data: bytes, complete: bool, label: str | None) -> None:
    import json

    if not complete:
        scan.add("MC404", "Keras config is larger than the text budget", {}, label)
        scan.gap(f"{label or scan.file}: config too large")
        hits = keras.search_markers(data)
        scan.findings.extend(keras.raw_marker_findings(hits, scan.file))
        return
    try:
        config = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        scan.add("MC404", f"Keras config is not JSON: {exc}", {}, label)
        scan.findings.extend(keras.raw_marker_findings(keras.search_markers(data), scan.file))
        return
    found = keras.config_findings(config, scan.file, member=label)
    scan.findings.extend(found)
    if any(f.rule == "MC404" for f in found):
        scan.gap(f"{label or scan.file}: config larger than the walk limit")


def _scan_npy_member(scan: FileScan, member: _Member, head: bytes) -> None:
    header = parse_npy_header(head)
    if isinstance(header, str):
        scan.add("MC116", f"numpy header: {header}", {}, member.label)
        return
    if not header.has_objects:
        return
    scan.add(
        "MC114",
        f"array of Python objects (dtype {header.descr!r})",
        {"dtype": str(header.descr)},
        member.label,
    )
    stream = _MemberIO(member, header.data_offset)
    result = scan_stream(
        stream,  # type: ignore[arg-type]
        _UNKNOWN_SIZE,
        scan.limits,
        can_skip=False,
    )
    findings, why = stream_findings(result, scan.file, member=member.label)
    scan.findings.extend(findings)
    if why:
        scan.gap(f"{member.label}: {why}")


# --- tar (torch's oldest checkpoint format: members sys_info, pickle, storages, tensors) -------


def is_tar(head: bytes) -> bool:
    """POSIX/GNU/PAX tar: 'ustar' at offset 257 and a header checksum that adds up."""
    if len(head) < 512 or head[257:262] != b"ustar":
        return False
    try:
        declared = int(head[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return declared == sum(head[:148]) + 8 * 32 + sum(head[156:512])


def scan_tar(scan: FileScan, fh: IO[bytes]) -> None:
    """Members are read through tarfile's bounded file objects; nothing is extracted."""
    limits = scan.limits
    count = 0
    try:
        with tarfile.open(fileobj=fh, mode="r:") as archive:
            for info in archive:
                count += 1
                if count > limits.max_zip_members:
                    scan.add("MC110", f"archive has more than {limits.max_zip_members:,} members")
                    scan.gap(f"only the first {limits.max_zip_members:,} members were read")
                    return
                _scan_tar_member(scan, archive, info)
    except (tarfile.TarError, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        scan.add("MC113", f"tar archive cannot be read: {exc}")
        scan.gap("tar archive cannot be read")


def _scan_tar_member(scan: FileScan, archive: tarfile.TarFile, info: tarfile.TarInfo) -> None:
    limits = scan.limits
    label = info.name
    why = _bad_name(info.name)
    if why:
        scan.add("MC112", f"member name {info.name!r} {why}", {"name": info.name}, label)
    if info.issym() or info.islnk():
        scan.add(
            "MC112", f"member is a link to {info.linkname!r}", {"target": info.linkname}, label
        )
        return
    if not info.isfile():
        return
    stream = archive.extractfile(info)
    if stream is None:
        return
    head = stream.read(limits.sniff_bytes)
    base = _basename(info.name)
    if head.startswith(ZIP_LOCAL) or head.startswith(NPY_MAGIC):
        stream.seek(0)
        data = stream.read(limits.max_member_bytes)
        if len(data) < info.size:
            scan.gap(f"{label}: larger than the member budget")
        if head.startswith(ZIP_LOCAL):
            scan_zip(scan, io.BytesIO(data), depth=1, chain=label + "!/", name=base)
        else:
            _scan_npy_file(
                scan, io.BytesIO(data), len(data), data[: limits.sniff_bytes], member=label
            )
        return
    named = _ext(base) in PICKLE_EXTENSIONS or base == "pickle"
    if looks_like_pickle(head, base, limits) or named:
        stream.seek(0)
        result = scan_stream(stream, info.size, limits)
        if not result.is_pickle and result.limit is None:
            if named:
                scan.add(
                    "MC108",
                    "member named like a pickle is not a pickle",
                    {"first_bytes": head[:8].hex()},
                    label,
                )
            return
        findings, gap = stream_findings(result, scan.file, member=label, named_pickle=named)
        scan.findings.extend(findings)
        if gap:
            scan.gap(f"{label}: {gap}")
    elif base.endswith(".py"):
        stream.seek(0)
        data = stream.read(limits.max_text_bytes + 1)
        complete = len(data) <= limits.max_text_bytes
        scan.findings.extend(
            remote_code.python_findings(
                data[: limits.max_text_bytes], scan.file, complete=complete, member=label
            )
        )


# --- top-level files -------------------------------------------------------------------------


def _has_zip_tail(fh: IO[bytes], size: int) -> bool:
    span = min(size, 65_535 + 22)
    fh.seek(size - span)
    return ZIP_EMPTY in fh.read(span)


def scan_regular_file(scan: FileScan, fh: IO[bytes], size: int, name: str) -> None:
    """Everything we know how to check about one regular file open at `fh`."""
    limits = scan.limits
    lower = name.lower()
    base = _basename(lower)
    ext = _ext(base)
    fh.seek(0)
    head = fh.read(limits.sniff_bytes)

    pointer = parse_lfs_pointer(head) if size <= MAX_LFS_POINTER_BYTES else None
    if pointer is not None:
        scan.add(
            "MC123",
            f"Git LFS pointer to {pointer.size:,} bytes (sha256 {pointer.oid})",
            {"sha256": pointer.oid, "size": pointer.size},
        )
        scan.gap("Git LFS pointer: content not present")
        return

    if head.startswith(gguf.MAGIC):
        gguf.scan_gguf(scan, fh, size)
        return
    if ext == ".gguf":
        scan.add("MC143", "named .gguf but no GGUF magic", {"first_bytes": head[:8].hex()})
    if base in chat_template.TEMPLATE_FILES or ext == ".jinja":
        fh.seek(0)
        raw = fh.read(limits.max_text_bytes)
        scan.findings.extend(chat_template.file_findings(raw, scan.file, base))
    if base in remote_code.AUTO_MAP_FILES or ext == ".py":
        fh.seek(0)
        raw = fh.read(limits.max_text_bytes + 1)
        complete = len(raw) <= limits.max_text_bytes
        raw = raw[: limits.max_text_bytes]
        if ext == ".py":
            scan.findings.extend(remote_code.python_findings(raw, scan.file, complete=complete))
        elif complete:
            scan.findings.extend(remote_code.auto_map_findings(raw, scan.file))
        if not complete:
            scan.gap(f"larger than {limits.max_text_bytes:,} bytes")
        return

    pickle_head = looks_like_pickle(head, base, limits)
    if pickle_head and ext not in PICKLE_EXTENSIONS:
        # 0x80 0x0N also starts other binary data: call it a pickle only if it parses as one
        fh.seek(0)
        pickle_head = scan_stream(fh, size, limits).is_pickle
    if ext == ".onnx" and not pickle_head:
        onnx_check.scan_onnx(scan, fh, size, scan.path)
        return
    if ext == ".safetensors" and not pickle_head:
        scan.findings.extend(check_safetensors(fh, size, scan.file))
        return
    if is_tar(head) and not pickle_head:
        fh.seek(0)
        scan_tar(scan, fh)
        return
    if (
        head.startswith(ZIP_LOCAL)
        or head.startswith(ZIP_EMPTY)
        or (size > 22 and not pickle_head and _has_zip_tail(fh, size))
    ):
        fh.seek(0)
        scan_zip(scan, fh, depth=0, chain="", name=base)
        return
    if head.startswith(NPY_MAGIC):
        _scan_npy_file(scan, fh, size, head)
        return
    if keras.HDF5_MAGIC in head[:4096] or ext in (".h5", ".hdf5"):
        _scan_h5(scan, fh, size)
        return
    # numpy.load(allow_pickle=True) unpickles any .npy/.npz without the array magic
    if pickle_head or ext in PICKLE_EXTENSIONS or ext in (".npy", ".npz"):
        fh.seek(0)
        result = scan_stream(fh, size, limits)
        if not pickle_head and not result.is_pickle and result.limit is None:
            scan.add(
                "MC108",
                "named like a pickle but its content is not a pickle",
                {
                    "first_bytes": head[:8].hex(),
                    "file_size": size,
                    "parse_error": result.error or "",
                },
            )
            return
        if pickle_head and ext not in PICKLE_EXTENSIONS:
            scan.add(
                "MC106",
                f"content is a pickle although the name says {ext or 'nothing'}",
                {"first_bytes": head[:8].hex(), "extension": ext},
            )
        findings, why = stream_findings(result, scan.file, named_pickle=True)
        scan.findings.extend(findings)
        if why:
            scan.gap(why)
        if pickle_head and _has_zip_tail(fh, size):
            fh.seek(0)
            scan.add("MC113", "file is both a pickle and a zip archive (polyglot)")
            scan_zip(scan, fh, depth=0, chain="", name=base)


def _scan_npy_file(
    scan: FileScan, fh: IO[bytes], size: int, head: bytes, member: str | None = None
) -> None:
    header = parse_npy_header(head)
    if isinstance(header, str):
        scan.add("MC116", f"numpy header: {header}", {}, member)
        return
    if not header.has_objects:
        return
    scan.add(
        "MC114",
        f"array of Python objects (dtype {header.descr!r})",
        {"dtype": str(header.descr)},
        member,
    )
    fh.seek(header.data_offset)
    result = scan_stream(fh, size - header.data_offset, scan.limits, base_offset=header.data_offset)
    findings, why = stream_findings(result, scan.file, member=member)
    scan.findings.extend(findings)
    if why:
        scan.gap(why)


def _scan_h5(scan: FileScan, fh: IO[bytes], size: int) -> None:
    keras_h5.scan_h5(scan, fh, size)
