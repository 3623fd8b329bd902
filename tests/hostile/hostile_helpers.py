"""Builders for hostile inputs, and the one assertion every hostile case must pass."""

from __future__ import annotations

import io
import struct
import time
import zipfile
from pathlib import Path

from modelcards.assess.findings import ScanReport
from modelcards.assess.scan import scan_path
from modelcards.assess.scan.limits import ScanLimits


def glob0(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sbu(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def call(callable_bytes: bytes, *args: str) -> bytes:
    return callable_bytes + b"(" + b"".join(sbu(a) for a in args) + b"tR"


def evil(protocol: int = 2, module: str = "os", name: str = "system") -> bytes:
    return b"\x80" + bytes([protocol]) + call(glob0(module, name), "id") + b"."


def make_zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


def patch_headers(
    data: bytes,
    *,
    flag_or: int = 0,
    crc: int | None = None,
    local: bool = True,
    central: bool = True,
) -> bytes:
    """Set flag bits / CRC in every local and central header (what torch does not check)."""
    out = bytearray(data)
    if local:
        pos = out.find(b"PK\x03\x04")
        while pos >= 0:
            flags = struct.unpack_from("<H", out, pos + 6)[0] | flag_or
            struct.pack_into("<H", out, pos + 6, flags)
            if crc is not None:
                struct.pack_into("<I", out, pos + 14, crc)
            pos = out.find(b"PK\x03\x04", pos + 4)
    if central:
        pos = out.find(b"PK\x01\x02")
        while pos >= 0:
            flags = struct.unpack_from("<H", out, pos + 8)[0] | flag_or
            struct.pack_into("<H", out, pos + 8, flags)
            if crc is not None:
                struct.pack_into("<I", out, pos + 16, crc)
            pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def scan_one(
    tmp_path: Path, name: str, data: bytes, limits: ScanLimits | None = None
) -> ScanReport:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return scan_path(folder, limits=limits)


def rules(report: ScanReport) -> set[str]:
    return {f.rule for f in report.findings}


def timed_scan(folder: Path, limits: ScanLimits | None = None) -> tuple[ScanReport, float]:
    start = time.monotonic()
    report = scan_path(folder, limits=limits)
    return report, time.monotonic() - start


def assert_not_clean(report: ScanReport) -> None:
    """A hostile input must end in a finding; it is never 'clean'."""
    assert report.findings, "hostile input reported clean"
