"""Object .npy behind a header padded past what a scanner sniffs: the whole header is read."""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Callable

import numpy as np
import pytest
from corpus import Reduce
from corpus_2026_pickle import npy_with_header, npz_of

from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.scan.limits import MiB
from modelcards.assess.scan.npy import NpyHeader, read_npy_header

Scan = Callable[[str, bytes], ScanReport]
EVIL_ARRAY = np.array([Reduce(os.system, "id"), 1], dtype=object)


def test_numpy_loads_a_padded_object_header_when_pickles_are_allowed() -> None:
    data = npy_with_header(np.array([1, "a"], dtype=object), 90_000)
    assert list(np.load(io.BytesIO(data), allow_pickle=True)) == [1, "a"]
    with pytest.raises(ValueError, match="max_header_size|large"):
        np.load(io.BytesIO(data))  # the header check numpy skips once pickles are allowed


@pytest.mark.parametrize(("pad", "version"), [(90_000, 2), (1 << 20, 3), (60_000, 2)])
def test_padded_object_npy_is_critical(scan_bytes_as: Scan, pad: int, version: int) -> None:
    report = scan_bytes_as("x.npy", npy_with_header(EVIL_ARRAY, pad, version))
    rules = {f.rule: f.severity for f in report.findings}
    assert rules["MC101"] is Severity.CRITICAL and "MC114" in rules
    assert "MC116" not in rules and report.partial == ()


def test_padded_object_npz_member_is_critical(scan_bytes_as: Scan) -> None:
    padded = npy_with_header(EVIL_ARRAY, 90_000)
    report = scan_bytes_as("x.npz", npz_of({"a.npy": padded}))
    hits = [f for f in report.findings if f.rule == "MC101"]
    assert hits and hits[0].evidence["member"] == "a.npy"


def test_padded_numeric_npy_is_clean(scan_bytes_as: Scan) -> None:
    assert scan_bytes_as("x.npy", npy_with_header(np.arange(5), 90_000)).findings == ()


def test_header_longer_than_the_bound_is_a_finding(scan_bytes_as: Scan) -> None:
    data = b"\x93NUMPY\x02\x00" + struct.pack("<I", 32 * MiB) + b"{'descr': '|O'"
    report = scan_bytes_as("x.npy", data)
    too_long = [f for f in report.findings if f.rule == "MC124"]
    assert too_long and too_long[0].severity is Severity.HIGH
    assert too_long[0].evidence["header_length"] == 32 * MiB
    assert report.partial == ("x.npy",)
    assert "MC122" not in {f.rule for f in report.findings}  # MC124 already says why


def test_header_of_16_mib_padding_is_read_quickly(scan_bytes_as: Scan) -> None:
    data = npy_with_header(EVIL_ARRAY, 16 * MiB - 200)
    start = time.monotonic()
    report = scan_bytes_as("x.npy", data)
    assert time.monotonic() - start < 5
    assert "MC101" in {f.rule for f in report.findings}


def test_header_text_too_large_to_parse_is_still_followed_by_a_scan(scan_bytes_as: Scan) -> None:
    good = npy_with_header(EVIL_ARRAY, 0)
    (length,) = struct.unpack("<I", good[8:12])
    bulky = good[12 : 12 + length].rstrip(b"\n ")[:-1] + b", 'x': [" + b"1," * 50_000 + b"]}\n"
    data = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(bulky)) + bulky + good[12 + length :]
    report = scan_bytes_as("x.npy", data)
    assert {"MC116", "MC101"} <= {f.rule for f in report.findings}


@pytest.mark.parametrize(
    ("descr", "objects"),
    [("|O", True), ("<f4", False), ([("a", "<i4"), ("b", "|O")], True), (("|O", (2,)), True)],
)
def test_dtype_judged_like_numpy(descr: object, objects: bool) -> None:
    text = repr({"descr": descr, "fortran_order": False, "shape": (1,)}).encode() + b"\n"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
    header = read_npy_header(io.BytesIO(raw), MiB)
    assert isinstance(header, NpyHeader) and header.has_objects is objects
