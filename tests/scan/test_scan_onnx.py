"""ONNX external data and custom domains, on models made by the real onnx library: paths that
leave the folder (CVE-2024-27318, CVE-2024-5187) and symlinks out of it (CVE-2026-27489)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from corpus_2026_formats import onnx_benign, onnx_bytes, onnx_malicious, onnx_model

from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.scan import onnx_check, scan_path

onnx = pytest.importorskip("onnx")

Scan = Callable[[str, bytes], ScanReport]


def rules(report: ScanReport) -> set[str]:
    return {f.rule for f in report.findings}


@pytest.mark.parametrize("name", sorted(onnx_malicious()))
def test_external_location_out_of_the_folder(scan_bytes_as: Scan, name: str) -> None:
    (hit,) = scan_bytes_as(name, onnx_malicious()[name]).findings
    assert hit.rule == "MC150" and hit.severity is Severity.HIGH
    assert hit.evidence["tensor"] == "W" and hit.evidence["data_location"] == 1


@pytest.mark.parametrize("name", sorted(onnx_benign()))
def test_real_models_are_clean(scan_bytes_as: Scan, name: str) -> None:
    report = scan_bytes_as(name, onnx_benign()[name])
    assert report.findings == () and report.partial == ()


def saved_with_external_data(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save(onnx_model(), str(path), save_as_external_data=True, location="model.onnx_data")
    return path


def test_external_data_beside_the_model_is_clean(tmp_path: Path) -> None:
    saved_with_external_data(tmp_path / "m")
    onnx.checker.check_model(str(tmp_path / "m" / "model.onnx"))  # a model onnx accepts
    report = scan_path(tmp_path / "m")
    assert report.findings == () and report.files_scanned == 2


def test_external_data_symlinked_out_of_the_folder(tmp_path: Path) -> None:
    saved_with_external_data(tmp_path / "m")
    secret = tmp_path / "outside" / "secret"
    secret.parent.mkdir()
    secret.write_bytes(b"x" * 16384)
    (tmp_path / "m" / "model.onnx_data").unlink()
    os.symlink(secret, tmp_path / "m" / "model.onnx_data")
    report = scan_path(tmp_path / "m")
    hits = [f for f in report.findings if f.rule == "MC150"]
    assert [f.file for f in hits] == ["model.onnx"] and "symlink" in hits[0].message
    assert "MC120" in rules(report)  # the walk reports the link itself too


def test_external_data_through_a_folder_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", folder / "data")
    (folder / "model.onnx").write_bytes(onnx_bytes(onnx_model(), location="data/model.onnx_data"))
    assert "MC150" in rules(scan_path(folder))


def test_symlink_inside_the_folder_is_fine(tmp_path: Path) -> None:
    saved_with_external_data(tmp_path / "m")
    (tmp_path / "m" / "model.onnx_data").rename(tmp_path / "m" / "real.data")
    os.symlink("real.data", tmp_path / "m" / "model.onnx_data")
    assert scan_path(tmp_path / "m").findings == ()


def test_custom_domain_is_named(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("m.onnx", onnx_bytes(onnx_model(domain="com.evil.ops")))
    (hit,) = report.findings
    assert hit.rule == "MC151" and hit.severity is Severity.MEDIUM
    assert hit.evidence["domain"] == "com.evil.ops" and hit.evidence["op_types"] == ["Detect"]


@pytest.mark.parametrize("domain", ["ai.onnx.ml", "com.microsoft"])
def test_standard_domains_are_fine(scan_bytes_as: Scan, domain: str) -> None:
    assert scan_bytes_as("m.onnx", onnx_bytes(onnx_model(domain=domain))).findings == ()


def test_model_local_function_domain_is_not_custom(scan_bytes_as: Scan) -> None:
    from onnx import helper

    model = onnx_model()
    fn = helper.make_function(
        "local.fn", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    model.functions.append(fn)
    model.graph.node.append(helper.make_node("Twice", ["Y"], ["Z"], domain="local.fn"))
    model.opset_import.append(helper.make_opsetid("local.fn", 1))
    assert scan_bytes_as("m.onnx", model.SerializeToString()).findings == ()


@pytest.mark.parametrize(
    "data",
    [
        b"\x0a\xff\xff\xff\xff\x0f",  # a length far past the end
        b"\x08" + b"\xff" * 12,  # a varint that never ends
        b"\x3a\x02\x0a\x05abc",  # a graph whose field runs past the graph
        b"\x0b\x00",  # wire type 3 (groups): not ONNX
    ],
)
def test_malformed_protobuf_is_one_finding(scan_bytes_as: Scan, data: bytes) -> None:
    assert rules(scan_bytes_as("m.onnx", data)) == {"MC152"}


def test_deep_nesting_ends_at_the_limit(scan_bytes_as: Scan) -> None:
    """Graphs in attributes in nodes in graphs...: 200 levels, built byte-exact."""

    def ld(number: int, body: bytes) -> bytes:
        size, out = len(body), b""
        while True:
            out += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
            size >>= 7
            if not size:
                break
        return bytes([number << 3 | 2]) + out + body

    graph = b""
    for _ in range(200):
        graph = ld(1, ld(5, ld(6, graph)))  # graph.node.attribute.g
    start = time.monotonic()
    report = scan_bytes_as("m.onnx", ld(7, graph))
    assert time.monotonic() - start < 1.0
    assert rules(report) == {"MC122"} and report.partial == ("m.onnx",)


def test_the_reader_skips_weights_without_reading_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    data = onnx_bytes(onnx_model())
    reads: list[int] = []

    class Counting(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            reads.append(n if n is not None else -1)
            return super().read(n)

    onnx_check.read_model(Counting(data), len(data))
    assert max(reads) <= onnx_check.MAX_STRING and -1 not in reads


def test_external_tensor_in_a_function_default_attribute(scan_bytes_as: Scan) -> None:
    import numpy as np
    from onnx import external_data_helper, helper, numpy_helper

    tensor = numpy_helper.from_array(np.ones(4, dtype=np.float32), name="default_w")
    external_data_helper.set_external_data(tensor, location="../../outside.bin")
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    fn = helper.make_function(
        "local.fn", "Scale", ["a"], ["b"], [helper.make_node("Identity", ["a"], ["b"])],
        [helper.make_opsetid("", 17)],
        attribute_protos=[helper.make_attribute("w", tensor)],
    )  # fmt: skip
    model = onnx_model()
    model.functions.append(fn)
    (hit,) = scan_bytes_as("m.onnx", model.SerializeToString()).findings
    assert hit.rule == "MC150" and hit.evidence["tensor"] == "default_w"
