"""Pickle tricks one by one: each must end in the right finding, fast, never 'clean'."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hostile_helpers import (
    assert_not_clean,
    call,
    evil,
    glob0,
    rules,
    sbu,
    scan_one,
    timed_scan,
)

from modelcards.assess.findings import ScanReport, Severity
from modelcards.assess.scan.limits import ScanLimits


def critical_targets(report: ScanReport) -> set[str]:
    return {str(f.evidence.get("resolves_to")) for f in report.findings if f.rule == "MC101"}


def test_memo_binput_binget_stack_global(tmp_path: Path) -> None:
    body = sbu("os") + b"q\x01" + sbu("system") + b"q\x02" + b"00" + b"h\x01h\x02\x93"
    report = scan_one(tmp_path, "a.pkl", b"\x80\x04" + body + b"(" + sbu("id") + b"tR.")
    assert critical_targets(report) == {"os.system"}


def test_memo_long_binput_long_binget(tmp_path: Path) -> None:
    body = (
        sbu("subprocess")
        + b"r"
        + struct.pack("<I", 70000)
        + sbu("run")
        + b"r"
        + struct.pack("<I", 70001)
        + b"00"
        + b"j"
        + struct.pack("<I", 70000)
        + b"j"
        + struct.pack("<I", 70001)
        + b"\x93"
    )
    report = scan_one(tmp_path, "a.pkl", b"\x80\x04" + body + b")R.")
    assert critical_targets(report) == {"subprocess.run"}


def test_memoize_and_text_get(tmp_path: Path) -> None:
    body = sbu("builtins") + b"\x94" + sbu("exec") + b"\x94" + b"00" + b"g0\ng1\n\x93"
    report = scan_one(tmp_path, "a.pkl", b"\x80\x04" + body + b"(" + sbu("1") + b"tR.")
    assert critical_targets(report) == {"builtins.exec"}


def test_dotted_name_pathlib_os_system(tmp_path: Path) -> None:
    report = scan_one(
        tmp_path,
        "a.pkl",
        b"\x80\x04" + call(sbu("pathlib") + sbu("os.system") + b"\x93", "id") + b".",
    )
    assert critical_targets(report) == {"os.system"}


def test_dotted_name_through_builtins_attribute(tmp_path: Path) -> None:
    data = b"\x80\x04" + call(sbu("torch.nn") + sbu("modules.builtins.eval") + b"\x93", "1") + b"."
    assert critical_targets(scan_one(tmp_path, "a.pkl", data)) == {"builtins.eval"}


def test_parent_module_asyncio(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "a.pkl", evil(2, "asyncio.unix_events", "_UnixSelectorEventLoop"))
    assert "MC101" in rules(report)


@pytest.mark.parametrize("alias", ["posix", "nt"])
def test_os_aliases(tmp_path: Path, alias: str) -> None:
    assert critical_targets(scan_one(tmp_path, "a.pkl", evil(2, alias, "system"))) == {"os.system"}


def test_builtin_alias_protocol_0(tmp_path: Path) -> None:
    data = glob0("__builtin__", "eval") + b"(V1+1\ntR."
    assert critical_targets(scan_one(tmp_path, "a.pkl", data)) == {"builtins.eval"}


def test_payload_in_second_pickle_of_stream(tmp_path: Path) -> None:
    data = b"\x80\x02K\x01." + b"\x80\x02K\x02." + evil(2, "os", "popen")
    report = scan_one(tmp_path, "a.bin", data)
    hit = next(f for f in report.findings if f.rule == "MC101")
    assert hit.evidence["pickle_index"] == 2


def test_stream_broken_after_payload(tmp_path: Path) -> None:
    data = evil()[:-1] + b"\xff"  # STOP replaced by an invalid opcode
    report = scan_one(tmp_path, "a.pkl", data)
    assert {"MC101", "MC103"} <= rules(report)
    assert report.partial == ("a.pkl",)


def test_stream_truncated_inside_an_argument_after_payload(tmp_path: Path) -> None:
    data = evil()[:-1] + b"\x8c\x50abc"  # SHORT_BINUNICODE claims 80 bytes, 3 present
    report = scan_one(tmp_path, "a.pkl", data)
    assert {"MC101", "MC103"} <= rules(report)
    assert report.partial == ("a.pkl",)


def test_opcode_expansion_bomb_stops_fast(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "bomb.pkl").write_bytes(b"\x80\x04" + b"(" * 20_000_000 + b".")
    report, seconds = timed_scan(tmp_path / "m")
    assert "MC104" in rules(report) and report.partial == ("bomb.pkl",)
    assert seconds < 30.0  # a hang guard, not a measurement (bench/ measures speed)


def test_memo_bomb_stops_fast(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "memo.pkl").write_bytes(b"\x80\x04N" + b"\x94" * 3_000_000 + b".")
    report, seconds = timed_scan(tmp_path / "m")
    bomb = next(f for f in report.findings if f.rule == "MC104")
    assert "memo" in str(bomb.evidence["limit"])
    assert seconds < 30.0  # a hang guard, not a measurement (bench/ measures speed)


def test_billion_laughs_shape_finishes_fast(tmp_path: Path) -> None:
    # each level is a list holding the previous level ten times (huge if ever materialised)
    body = b"]\x94"
    for level in range(1, 30):
        body += b"](" + b"h" + bytes([level - 1]) + b"" + (b"h" + bytes([level - 1])) * 9
        body += b"e\x94"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "laughs.pkl").write_bytes(b"\x80\x04" + body + b".")
    report, seconds = timed_scan(tmp_path / "m")
    assert rules(report) == {"MC105"} and report.partial == ()
    assert seconds < 30.0  # a hang guard, not a measurement (bench/ measures speed)


def test_endless_text_line(tmp_path: Path) -> None:
    data = b"S'" + b"a" * (3 * 1024 * 1024)
    report = scan_one(tmp_path, "a.pkl", data)
    assert "MC104" in rules(report) or "MC103" in rules(report)
    assert report.partial == ("a.pkl",)


def test_absurd_binbytes8_length(tmp_path: Path) -> None:
    data = evil()[:-1] + b"\x8e" + struct.pack("<Q", 2**60) + b"xx"
    report = scan_one(tmp_path, "a.pkl", data)
    assert {"MC101", "MC103"} <= rules(report)


def test_computed_module_name(tmp_path: Path) -> None:
    body = call(glob0("_codecs", "encode"), "os") + sbu("system") + b"\x93" + b")R"
    report = scan_one(tmp_path, "a.pkl", b"\x80\x04" + body + b".")
    assert "MC107" in rules(report)
    assert max(f.severity for f in report.findings) >= Severity.HIGH


def test_ext_opcode(tmp_path: Path) -> None:
    assert "MC107" in rules(scan_one(tmp_path, "a.pkl", b"\x80\x02\x83\x01\x00\x00\x00)R."))


def test_inst_opcode(tmp_path: Path) -> None:
    assert "MC101" in rules(scan_one(tmp_path, "a.pkl", b"(S'id'\nisubprocess\ncall\n."))


def test_obj_opcode(tmp_path: Path) -> None:
    data = b"(" + glob0("subprocess", "Popen") + b"S'id'\no."
    assert "MC101" in rules(scan_one(tmp_path, "a.pkl", data))


def test_pickle_named_msgpack(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "weights.msgpack", evil(4))
    assert {"MC106", "MC101"} <= rules(report)


def test_pickle_named_safetensors(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "model.safetensors", evil(2))
    assert {"MC106", "MC101"} <= rules(report)


def test_protocol_0_pickle_under_unknown_name(tmp_path: Path) -> None:
    data = glob0("os", "system") + b"(S'id'\ntR."
    report = scan_one(tmp_path, "weights.dat", data)
    assert {"MC106", "MC101"} <= rules(report)


def test_stream_longer_than_the_budget(tmp_path: Path) -> None:
    data = evil()[:-1] + b"N0" * 600_000 + b"."
    report = scan_one(tmp_path, "a.pkl", data, ScanLimits(max_pickle_bytes=1_000_000))
    assert {"MC101", "MC104"} <= rules(report)
    assert report.partial == ("a.pkl",)


def test_pickle_name_without_pickle_content(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "model.bin", b"\x00\x01\x02 not a pickle")
    assert_not_clean(report)
    assert rules(report) == {"MC108"}


def test_binary_that_merely_starts_like_a_pickle_is_not_called_one(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "tokenizer.model", b"\x80\x02\xff\xfe" + bytes(100))
    assert report.findings == () and report.partial == ()


def test_safetensors_starting_with_0x80_is_checked_as_safetensors(tmp_path: Path) -> None:
    data = struct.pack("<Q", 0x0280) + b"{}"
    assert rules(scan_one(tmp_path, "model.safetensors", data)) == {"MC201"}


def test_thousands_of_distinct_imports_do_not_flood_the_report(tmp_path: Path) -> None:
    body = b"".join(glob0(f"pkg{i}", "C") + b"0" for i in range(5000))
    report = scan_one(tmp_path, "a.pkl", b"\x80\x02" + body + evil()[2:])
    unverified = [f for f in report.findings if f.rule == "MC102"]
    assert len(unverified) == 51
    summaries = [f.evidence["more_imports"] for f in unverified if "more_imports" in f.evidence]
    assert summaries == [4950]
    assert "MC101" in rules(report)


def test_protocol_0_payload_after_a_long_harmless_prefix(tmp_path: Path) -> None:
    # 40k harmless opcodes before the import: the 64 KiB sniff never sees the GLOBAL
    prefix = b"(" + b"I1\n" * 40_000 + b"l0"
    report = scan_one(tmp_path, "weights.dat", prefix + glob0("os", "system") + b"(S'id'\ntR.")
    assert {"MC106", "MC101"} <= rules(report)


def test_odd_escape_in_string_operand_does_not_stop_the_scan(tmp_path: Path) -> None:
    import warnings

    data = b"S'\\q'\n0" + glob0("os", "system") + b"(S'id'\ntR."
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = scan_one(tmp_path, "a.pkl", data)
    assert "MC101" in rules(report) and report.partial == ()


def test_large_byte_payloads_are_skipped_not_read(tmp_path: Path) -> None:
    payload = b"\x8e" + struct.pack("<Q", 8 * 1024 * 1024) + bytes(8 * 1024 * 1024) + b"0"
    data = b"\x80\x04" + payload + evil(4)[2:]
    report = scan_one(tmp_path, "a.pkl", data, ScanLimits(max_pickle_bytes=1024 * 1024))
    assert "MC101" in rules(report) and report.partial == ()


def test_payload_length_past_end_of_file_is_not_skipped(tmp_path: Path) -> None:
    data = evil()[:-1] + b"B" + struct.pack("<I", 50 * 1024 * 1024) + bytes(100)
    report = scan_one(tmp_path, "a.pkl", data)
    assert {"MC101", "MC103"} <= rules(report) and report.partial == ("a.pkl",)
