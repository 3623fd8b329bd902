"""Files made by real torch: TorchScript, state_dicts and whole modules, judged as they are."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from corpus import call, glob0, pickle_of, sbu, stack_global
from corpus_2026_pickle import torch_files

from modelcards.assess.findings import ScanReport, Severity

pytest.importorskip("torch")
Scan = Callable[[str, bytes], ScanReport]


def by_rule(report: ScanReport) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in report.findings:
        found.setdefault(f.rule, []).append(str(f.evidence.get("member", "")))
    return found


def test_torchscript_list_builders_are_no_alarm(scan_bytes_as: Scan) -> None:
    data = torch_files()["torchscript_module.pt"]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    pickled = b"".join(zipfile.ZipFile(io.BytesIO(data)).read(n) for n in names if "pkl" in n)
    for builder in (b"build_intlist", b"build_doublelist", b"build_boollist", b"build_tensorlist"):
        assert builder in pickled, "the fixture must exercise every TorchScript list builder"
    report = scan_bytes_as("model.pt", data)
    assert not report.at_least(Severity.HIGH), report.findings
    assert not [f for f in report.findings if "torch.jit" in str(f.evidence.get("module"))]
    assert report.partial == ()


def test_torchscript_code_members_are_informational_not_pickles(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("model.pt", torch_files()["torchscript_module.pt"])
    code = [f for f in report.findings if "/code/" in str(f.evidence.get("member"))]
    sources = {str(f.evidence["member"]) for f in code if not f.evidence["member"].endswith("pkl")}
    assert sources and all(m.endswith(".py") for m in sources)
    for f in code:
        if str(f.evidence["member"]).endswith(".py"):
            assert f.rule == "MC125" and f.severity is Severity.INFO


def test_torchscript_archive_with_a_payload_is_still_critical(scan_bytes_as: Scan) -> None:
    original = zipfile.ZipFile(io.BytesIO(torch_files()["torchscript_module.pt"]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename.endswith("/constants.pkl"):
                data = pickle_of(call(glob0("torch.jit._pickle", "build_intlist.__globals__")), 2)
            if info.filename.endswith("/data.pkl"):
                data = pickle_of(call(stack_global("torch.jit", "load"), "x.pt"), 4)
            out.writestr(info, data)
    found = by_rule(scan_bytes_as("model.pt", buf.getvalue()))
    assert sorted(m.rsplit("/", 1)[-1] for m in found["MC101"]) == ["constants.pkl", "data.pkl"]


@pytest.mark.parametrize("name", ["torch_state_dict.pt", "torch_state_dict_legacy.pt"])
def test_real_state_dict_is_only_a_pickle_notice(scan_bytes_as: Scan, name: str) -> None:
    report = scan_bytes_as(name, torch_files()[name])
    assert {f.rule for f in report.findings} == {"MC105"}


def test_real_whole_module_is_unverified_not_critical(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("model.pt", torch_files()["torch_full_module.pt"])
    unverified = {
        f"{f.evidence['module']}.{f.evidence['name']}" for f in report.findings if f.rule == "MC102"
    }
    assert "torch_tiny.TinyNet" in unverified
    assert "torch.nn.modules.linear.Linear" in unverified
    assert max(f.severity for f in report.findings) is Severity.MEDIUM


def test_dotted_gadget_next_to_real_tensors_is_critical(scan_bytes_as: Scan) -> None:
    payload = pickle_of(
        stack_global("torch._utils", "_rebuild_tensor_v2.__builtins__.get")
        + b"("
        + sbu("exec")
        + b"tR",
        4,
    )
    original = zipfile.ZipFile(io.BytesIO(torch_files()["torch_state_dict.pt"]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in original.infolist():
            is_data = info.filename.endswith("/data.pkl")
            out.writestr(info, payload if is_data else original.read(info))
    hits = [f for f in scan_bytes_as("model.pt", buf.getvalue()).findings if f.rule == "MC101"]
    assert hits and hits[0].evidence["gadget"] == "__builtins__"


def test_a_tensor_whose_bytes_start_like_a_pickle_is_only_data(scan_bytes_as: Scan) -> None:
    """torch copies `data/<key>` records into tensors and never unpickles them: bytes that
    begin 80 02 54 (PROTO 2, BINSTRING of 2 GiB) are numbers, not a pickle past the limits."""
    import torch

    tensor = torch.zeros(4096, dtype=torch.uint8)
    tensor[:8] = torch.tensor([0x80, 0x02, 0x54, 0xFF, 0xFF, 0xFF, 0x7F, 0x4B], dtype=torch.uint8)
    buf = io.BytesIO()
    torch.save({"w": tensor, "x": torch.ones(3)}, buf)
    names = zipfile.ZipFile(buf).namelist()
    assert zipfile.ZipFile(buf).read(next(n for n in names if n.endswith("/data/0")))[:3] == (
        b"\x80\x02\x54"
    ), "the fixture must hold a tensor record that starts like a pickle"
    report = scan_bytes_as("model.bin", buf.getvalue())
    assert set(by_rule(report)) == {"MC105"}, report.findings
    assert report.partial == ()


def test_a_pickle_named_record_under_data_is_still_scanned(scan_bytes_as: Scan) -> None:
    """Only tensor records are data: a `.pkl` under data/ is read like any named pickle."""
    import torch

    buf = io.BytesIO()
    torch.save({"x": torch.ones(3)}, buf)
    original = zipfile.ZipFile(buf)
    out_buf = io.BytesIO()
    with zipfile.ZipFile(out_buf, "w") as out:
        for info in original.infolist():
            out.writestr(info, original.read(info))
        prefix = original.namelist()[0].split("/", 1)[0]
        out.writestr(f"{prefix}/data/extra.pkl", pickle_of(call(glob0("os", "system"), "x"), 2))
    found = by_rule(scan_bytes_as("model.bin", out_buf.getvalue()))
    assert [m.rsplit("/", 1)[-1] for m in found["MC101"]] == ["extra.pkl"]
