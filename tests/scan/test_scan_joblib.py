"""joblib's inline arrays: stepped over as joblib.load reads them, followed as pickle.load would."""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Callable

import numpy as np
import pytest
from corpus import Reduce
from corpus_2026_pickle import every_dtype, joblib_padding_payload

from modelcards.assess.findings import ScanReport, Severity

joblib = pytest.importorskip("joblib")
Scan = Callable[[str, bytes], ScanReport]


def dump(value: object, compress: object = 0) -> bytes:
    buf = io.BytesIO()
    joblib.dump(value, buf, compress=compress)
    return buf.getvalue()


def critical(report: ScanReport) -> list[str]:
    return [str(f.evidence["resolves_to"]) for f in report.findings if f.rule == "MC101"]


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3)])
def test_payload_after_arrays_is_found(scan_bytes_as: Scan, compress: object) -> None:
    data = dump(
        {"w": np.ones(500), "s": np.array(["ab"]), "hook": Reduce(os.system, "id")}, compress
    )
    report = scan_bytes_as("model.joblib", data)
    assert critical(report) == ["os.system"]
    assert report.partial == ()


def test_payload_inside_an_object_array_is_found(scan_bytes_as: Scan) -> None:
    data = dump({"labels": np.array([Reduce(os.system, "id"), "cat"], dtype=object)})
    assert critical(scan_bytes_as("model.joblib", data)) == ["os.system"]


def test_arrays_of_every_layout_read_to_the_end(scan_bytes_as: Scan) -> None:
    data = dump(every_dtype())
    loaded = joblib.load(io.BytesIO(data))
    assert loaded["record"].dtype.names == ("a", "b")  # the fixture holds what it says
    report = scan_bytes_as("model.joblib", data)
    assert {f.rule for f in report.findings} == {"MC105"}
    assert report.partial == ()
    assert report.findings[0].evidence["pickles"] == 1


def test_padding_crafted_as_opcodes_is_what_pickle_load_runs(scan_bytes_as: Scan) -> None:
    data = joblib_padding_payload()
    assert data is not None
    assert list(joblib.load(io.BytesIO(data))["a"]) == [0] * 8  # joblib reads it as data
    assert critical(scan_bytes_as("model.joblib", data)) == ["os.getcwd"]


def test_array_data_that_keeps_parsing_as_opcodes_is_a_finding(scan_bytes_as: Scan) -> None:
    data = dump({"a": np.frombuffer(b"N0" * 4096, dtype=np.uint8)})
    marker = b"numpy_array_alignment_bytes\x94K\x10ub"
    at = data.index(marker) + len(marker)
    data = data[:at] + b"(" + b"N" * 0x28 + data[at + 1 + data[at] :]  # padding = NONE opcodes
    report = scan_bytes_as("model.joblib", data)
    flagged = [f for f in report.findings if f.rule == "MC107"]
    assert flagged and flagged[0].severity is Severity.HIGH
    assert "parses as pickle opcodes" in flagged[0].message


def test_wrapper_claiming_a_huge_array_ends_quickly(scan_bytes_as: Scan) -> None:
    data = dump({"a": np.ones(4), "hook": Reduce(os.system, "id")})
    shape_at = data.index(b"shape\x94K\x04\x85")
    data = (
        data[:shape_at]
        + b"shape\x94J"
        + struct.pack("<i", 2**31 - 1)
        + b"\x85"
        + data[shape_at + 9 :]
    )
    start = time.monotonic()
    report = scan_bytes_as("model.joblib", data)
    assert time.monotonic() - start < 5
    assert "MC103" in {f.rule for f in report.findings}
    assert report.partial
