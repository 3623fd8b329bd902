"""Malformed safetensors of every kind: a real file from the library, corrupted byte by byte.

Each case must give the one rule that names what is wrong; never a crash, never clean.
"""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_helpers import rules, scan_one
from safetensors.numpy import save_file

from modelcards.assess.scan import scan_path


@pytest.fixture
def real(tmp_path: Path) -> bytes:
    path = tmp_path / "real.safetensors"
    save_file(
        {"a": np.zeros((2, 2), dtype=np.float32), "b": np.ones(3, dtype=np.float16)},
        str(path),
        metadata={"format": "pt"},
    )
    return path.read_bytes()


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def join(header: dict[str, Any] | str | bytes, body: bytes) -> bytes:
    raw = (
        header
        if isinstance(header, bytes)
        else (header if isinstance(header, str) else json.dumps(header)).encode()
    )
    return struct.pack("<Q", len(raw)) + raw + body


def check(tmp_path: Path, data: bytes) -> set[str]:
    return rules(scan_one(tmp_path, "model.safetensors", data))


def test_the_real_file_is_clean(tmp_path: Path, real: bytes) -> None:
    assert check(tmp_path, real) == set()


def test_shorter_than_length_prefix(tmp_path: Path, real: bytes) -> None:
    assert check(tmp_path, real[:5]) == {"MC201"}


@pytest.mark.parametrize("length", [0, 1])
def test_header_length_below_minimum(tmp_path: Path, real: bytes, length: int) -> None:
    assert check(tmp_path, struct.pack("<Q", length) + real[8:]) == {"MC201"}


def test_header_length_over_100mb(tmp_path: Path, real: bytes) -> None:
    assert check(tmp_path, struct.pack("<Q", 100 * 1024 * 1024 + 1) + real[8:]) == {"MC201"}


def test_header_length_past_end_of_file(tmp_path: Path, real: bytes) -> None:
    assert check(tmp_path, struct.pack("<Q", len(real)) + real[8:]) == {"MC201"}


def test_header_not_utf8(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    raw = json.dumps(header).encode().replace(b'"a"', b'"\xff"')
    assert check(tmp_path, join(raw, body)) == {"MC202"}


def test_header_starts_with_whitespace(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    assert check(tmp_path, join(" " + json.dumps(header), body)) == {"MC202"}


def test_header_bad_json(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    assert check(tmp_path, join(json.dumps(header)[:-1] + ",}", body)) == {"MC202"}


def test_header_is_an_array(tmp_path: Path, real: bytes) -> None:
    _, body = split(real)
    assert check(tmp_path, join("[1, 2]", body)) == {"MC202"}


def test_header_with_nan(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    text = json.dumps(header)[:-1] + ', "x": NaN}'
    assert check(tmp_path, join(text, body)) == {"MC202"}


def test_header_nested_too_deep(tmp_path: Path, real: bytes) -> None:
    _, body = split(real)
    assert check(tmp_path, join("{" + '"a":[' * 100_000 + "]" * 100_000 + "}", body)) == {"MC202"}


def test_duplicate_tensor_name(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    text = json.dumps(header)
    entry = json.dumps(header["a"])
    dup = text[:-1] + f', "a": {entry}' + "}"
    assert check(tmp_path, join(dup, body)) == {"MC203"}


def test_unknown_dtype(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["a"]["dtype"] = "F128"
    assert "MC204" in check(tmp_path, join(header, body))


def test_negative_dimension(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["a"]["shape"] = [-2, -2]
    assert "MC204" in check(tmp_path, join(header, body))


def test_float_dimension(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["a"]["shape"] = [2.0, 2]
    assert "MC204" in check(tmp_path, join(header, body))


def test_missing_offsets(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    del header["b"]["data_offsets"]
    assert "MC204" in check(tmp_path, join(header, body))


def test_overlapping_tensors(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["b"]["data_offsets"] = [0, 6]  # aliases a's bytes
    assert "MC205" in check(tmp_path, join(header, body))


def test_gap_between_tensors(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    first, second = ("a", "b") if header["a"]["data_offsets"][0] == 0 else ("b", "a")
    end = header[first]["data_offsets"][1]
    size = header[second]["data_offsets"][1] - header[second]["data_offsets"][0]
    header[second]["data_offsets"] = [end + 8, end + 8 + size]
    assert "MC205" in check(tmp_path, join(header, body + bytes(8)))


def test_offsets_not_starting_at_zero(tmp_path: Path) -> None:
    header = {"t": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}
    assert check(tmp_path, join(header, bytes(8))) == {"MC205"}


def test_end_before_start(tmp_path: Path) -> None:
    header = {"t": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}}
    assert "MC205" in check(tmp_path, join(header, bytes(4)))


def test_size_does_not_match_shape(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["a"]["shape"] = [2, 3]
    assert "MC206" in check(tmp_path, join(header, body))


def test_shape_product_overflows(tmp_path: Path) -> None:
    header = {"t": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 0]}}
    assert "MC206" in check(tmp_path, join(header, b""))


def test_trailing_bytes(tmp_path: Path, real: bytes) -> None:
    assert check(tmp_path, real + b"PK\x03\x04hidden") == {"MC207"}


def test_truncated_data(tmp_path: Path, real: bytes) -> None:
    assert check(tmp_path, real[:-4]) == {"MC205"}


def test_metadata_value_not_a_string(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["__metadata__"] = {"format": "pt", "step": 100}
    assert check(tmp_path, join(header, body)) == {"MC208"}


def test_metadata_not_an_object(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    header["__metadata__"] = ["format", "pt"]
    assert check(tmp_path, join(header, body)) == {"MC208"}


def test_sparse_100gb_file_is_not_read(tmp_path: Path, real: bytes) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    path = folder / "huge.safetensors"
    path.write_bytes(real)
    os.truncate(path, 100 * 1024**3)  # sparse: a valid header, then 100 GB of holes
    start = time.monotonic()
    report = scan_path(folder)
    assert time.monotonic() - start < 1.0
    trailing = next(f for f in report.findings if f.rule == "MC207")
    assert trailing.evidence["trailing_bytes"] == 100 * 1024**3 - len(real)


def test_sparse_100gb_file_of_zeros(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    path = folder / "zeros.safetensors"
    path.touch()
    os.truncate(path, 100 * 1024**3)
    start = time.monotonic()
    report = scan_path(folder)
    assert time.monotonic() - start < 1.0
    assert {f.rule for f in report.findings} == {"MC201"}


def test_duplicate_key_inside_a_tensor_entry(tmp_path: Path, real: bytes) -> None:
    header, body = split(real)
    text = json.dumps(header).replace('"dtype": "F32"', '"dtype": "I8", "dtype": "F32"', 1)
    assert check(tmp_path, join(text, body)) == {"MC203"}
