"""Compressed streams that attack the scanner: bombs, nesting, corrupt data, lying magics."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from pathlib import Path

from hostile_helpers import assert_not_clean, evil, rules, scan_one, timed_scan

from modelcards.assess.scan.limits import MiB, ScanLimits


def zeros_tar_gz(size: int) -> bytes:
    """A tar.gz whose one member is `size` zero bytes: ~1000:1, read in full by tar's walk."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo("weights.bin")
        info.size = size
        archive.addfile(info, io.BytesIO(bytes(size)))
        payload = evil()
        info = tarfile.TarInfo("after.pkl")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def test_bomb_past_the_budget_is_a_finding_and_partial(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "bomb.tar.gz").write_bytes(zeros_tar_gz(64 * MiB))
    limits = ScanLimits(max_total_decompressed=8 * MiB)
    report, seconds = timed_scan(tmp_path / "model", limits)
    budget = [f for f in report.findings if f.rule == "MC110"]
    assert budget and "budget" in budget[0].message
    assert report.partial == ("bomb.tar.gz",)
    assert seconds < 5


def test_high_ratio_is_reported_and_what_follows_still_read(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "bomb.tar.gz", zeros_tar_gz(40 * MiB))
    assert {"MC110", "MC101"} <= rules(report)
    assert any("expands more than" in f.message for f in report.findings)


def test_gzip_nested_past_the_depth_limit(tmp_path: Path) -> None:
    data = evil()
    for _ in range(6):
        data = gzip.compress(data)
    report = scan_one(tmp_path, "x.pkl.gz", data)
    assert "MC111" in rules(report)
    assert report.partial


def test_corrupt_deflate_data_is_one_finding(tmp_path: Path) -> None:
    good = gzip.compress(evil() * 50)
    broken = good[:12] + bytes(b ^ 0x5A for b in good[12:60]) + good[60:]
    report = scan_one(tmp_path, "x.pkl.gz", broken)
    assert_not_clean(report)
    assert "MC113" in rules(report)


def test_zlib_header_then_garbage_is_not_taken_for_zlib(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "notes", b"x\x9c" + b"\xff" * 100)
    assert "MC113" not in rules(report)


def test_opcode_bomb_inside_zlib_is_bounded(tmp_path: Path) -> None:
    # 8 M opcodes in 8 KB of zlib: the opcode bound ends it, not the decompressed size
    data = zlib.compress(b"\x80\x04" + b"N0" * 4 * MiB, level=9)
    report, seconds = timed_scan(_write(tmp_path, "m.pkl", data))
    assert_not_clean(report)
    assert seconds < 10


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder


def test_deflate_member_with_bytes_after_its_end_does_not_hang(tmp_path: Path) -> None:
    # found by fuzzing: a deflated zip member whose data runs on past the deflate stream's end
    # left the reader asking the finished inflater for more, forever
    import pickle
    import struct
    import zipfile

    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflater.compress(pickle.dumps(bytes(300_000), protocol=4) + evil()) + deflater.flush()
    raw += b"trailing bytes inside the member" * 64
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", raw)
    data = bytearray(buf.getvalue())
    for signature, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        struct.pack_into("<H", data, at + method_at, zipfile.ZIP_DEFLATED)
    report, seconds = timed_scan(_write(tmp_path, "model.pt", bytes(data)))
    assert seconds < 10
    assert_not_clean(report)
