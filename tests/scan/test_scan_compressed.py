"""Compressed pickles outside zips: told by magic bytes, decompressed within budget, scanned."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from corpus import Reduce
from corpus_2026_pickle import EVIL, tar_gz

from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.scan import scan_path
from modelcards.assess.scan.compressed import inner_name, sniff

Scan = Callable[[str, bytes], ScanReport]


def critical(report: ScanReport) -> list[str]:
    return [str(f.evidence.get("resolves_to")) for f in report.findings if f.rule == "MC101"]


@pytest.mark.parametrize("codec", ["zlib", "gzip", "bz2", "lzma", "xz"])
def test_real_joblib_compressed_payload_is_critical(scan_bytes_as: Scan, codec: str) -> None:
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump({"n_iter": 3, "hook": Reduce(os.system, "id")}, buf, compress=(codec, 3))
    report = scan_bytes_as("model.joblib", buf.getvalue())
    assert critical(report) == ["os.system"]
    assert report.partial == ()


@pytest.mark.parametrize("codec", ["zlib", "gzip", "bz2", "lzma", "xz"])
def test_real_joblib_compressed_plain_state_is_low(scan_bytes_as: Scan, codec: str) -> None:
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump({"classes": ["a", "b"], "coef": [[0.5]]}, buf, compress=(codec, 3))
    report = scan_bytes_as("model.joblib", buf.getvalue())
    assert {f.rule for f in report.findings} == {"MC105"}
    assert report.partial == ()


@pytest.mark.parametrize(
    ("name", "pack"),
    [
        ("frame.pkl.gz", lambda b: gzip.compress(b, mtime=0)),
        ("frame.pkl.bz2", bz2.compress),
        ("frame.pkl.xz", lzma.compress),
        ("frame.pkl.lzma", lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE)),
    ],
)
def test_pandas_style_compressed_pickle(
    scan_bytes_as: Scan, name: str, pack: Callable[[bytes], bytes]
) -> None:
    report = scan_bytes_as(name, pack(EVIL))
    assert critical(report) == ["os.system"]
    assert report.findings[0].evidence["member"] == "frame.pkl"


def test_told_by_magic_not_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(gzip.compress(EVIL))
    (folder / "blob").write_bytes(bz2.compress(EVIL))
    report = scan_path(folder)
    assert {f.file for f in report.findings if f.rule == "MC101"} == {"notes.txt", "blob"}


def test_concatenated_gzip_members_are_one_stream(scan_bytes_as: Scan) -> None:
    data = gzip.compress(EVIL[:7]) + gzip.compress(EVIL[7:])
    assert gzip.decompress(data) == EVIL  # what gzip readers (pandas) hand to pickle
    assert critical(scan_bytes_as("x.pkl.gz", data)) == ["os.system"]


def test_compressed_member_of_a_zip(scan_bytes_as: Scan) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bundle/model.pkl.gz", gzip.compress(EVIL))
    report = scan_bytes_as("bundle.zip", buf.getvalue())
    hits = [f for f in report.findings if f.rule == "MC101"]
    assert hits and hits[0].evidence["member"] == "bundle/model.pkl.gz!/model.pkl"


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_compressed_tar_members_are_scanned(scan_bytes_as: Scan, mode: str) -> None:
    data = tar_gz({"ok/vocab.txt": b"a\n", "ok/model.pkl": EVIL}, mode)
    report = scan_bytes_as("bundle.tar.gz", data)
    hits = [f for f in report.findings if f.rule == "MC101"]
    assert hits and hits[0].evidence["member"] == "bundle.tar!/ok/model.pkl"


@pytest.mark.parametrize(
    ("member", "why"),
    [("../../home/user/.bashrc", "climbs out"), ("/etc/cron.d/job", "absolute path")],
)
def test_tar_gz_path_traversal_is_a_finding(scan_bytes_as: Scan, member: str, why: str) -> None:
    report = scan_bytes_as("model.tgz", tar_gz({member: b"echo hi\n"}))
    bad = [f for f in report.findings if f.rule == "MC112"]
    assert bad and why in bad[0].message and bad[0].severity is Severity.HIGH


def test_truncated_stream_keeps_the_payload_and_says_so(scan_bytes_as: Scan) -> None:
    data = gzip.compress(EVIL + pickle.dumps(list(range(5000))))
    report = scan_bytes_as("x.pkl.gz", data[: len(data) // 2])
    assert critical(report) == ["os.system"]
    assert "MC113" in {f.rule for f in report.findings}
    assert report.partial == ("x.pkl.gz",)


def test_bytes_after_the_stream_are_a_finding(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("x.pkl.gz", gzip.compress(pickle.dumps([1])) + b"PK\x05\x06junk")
    trailing = [f for f in report.findings if f.rule == "MC113"]
    assert trailing and trailing[0].evidence["trailing_bytes"] == 8


def test_compressed_json_is_clean(scan_bytes_as: Scan) -> None:
    assert scan_bytes_as("config.json.gz", gzip.compress(b'{"a": 1}')).findings == ()


def test_weak_magic_needs_real_compressed_data() -> None:
    assert sniff(b"x^2 + y^2 = 1\n" * 4) is None  # text that starts like a zlib header
    assert sniff(b"]" + bytes(20)) is None
    assert sniff(zlib_bytes := __import__("zlib").compress(b"abc")) == "zlib", zlib_bytes
    assert sniff(lzma.compress(b"abc", format=lzma.FORMAT_ALONE)) == "lzma"


def test_inner_names() -> None:
    assert inner_name("a/b/model.pkl.gz", "gzip") == "model.pkl"
    assert inner_name("x.tgz", "gzip") == "x.tar"
    assert inner_name("model.joblib", "zlib") == "model.joblib"
