"""Zip and numpy tricks: flag bits, CRCs, traversal, duplicates, bombs, nesting, polyglots."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostile_helpers import (
    assert_not_clean,
    evil,
    make_zip,
    patch_headers,
    rules,
    scan_one,
    timed_scan,
)

from modelcards.assess.scan.limits import ScanLimits


def torch_like(pkl: bytes, name: str = "archive/data.pkl") -> bytes:
    return make_zip([(name, pkl), ("archive/version", b"3\n"), ("archive/data/0", bytes(64))])


def test_renamed_data_pkl_member_found_by_content(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "model.pt", torch_like(evil(), "archive/tensors.idx"))
    hit = next(f for f in report.findings if f.rule == "MC101")
    assert hit.evidence["member"] == "archive/tensors.idx"


def test_encrypted_flag_bit_does_not_blind_the_scan(tmp_path: Path) -> None:
    data = patch_headers(torch_like(evil()), flag_or=0x1)
    report = scan_one(tmp_path, "model.pt", data)
    assert {"MC101", "MC113"} <= rules(report)


def test_bad_crc_does_not_blind_the_scan(tmp_path: Path) -> None:
    data = patch_headers(torch_like(evil()), crc=0xDEADBEEF)
    report = scan_one(tmp_path, "model.pt", data)
    assert "MC101" in rules(report)
    crc = [f for f in report.findings if f.rule == "MC113"]
    assert crc and crc[0].evidence["crc_declared"] == 0xDEADBEEF


def test_crc_only_in_local_header_wrong(tmp_path: Path) -> None:
    data = patch_headers(torch_like(evil(), "archive/data.pkl"), crc=1, central=False)
    assert "MC101" in rules(scan_one(tmp_path, "model.pt", data))


def test_deflated_member(tmp_path: Path) -> None:
    data = make_zip([("archive/data.pkl", evil())], zipfile.ZIP_DEFLATED)
    assert "MC101" in rules(scan_one(tmp_path, "model.pt", data))


def test_path_traversal_member_name(tmp_path: Path) -> None:
    data = make_zip([("../../../home/user/.bashrc", b"echo pwned\n")])
    report = scan_one(tmp_path, "weights.zip", data)
    assert "MC112" in rules(report)


def test_absolute_member_name(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "weights.zip", make_zip([("/etc/cron.d/x", b"* * * * * id\n")]))
    assert "MC112" in rules(report)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_member_names_both_scanned(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02K\x01.")
        with_warning = zipfile.ZipInfo("archive/data.pkl")
        zf.writestr(with_warning, evil())
    report = scan_one(tmp_path, "model.pt", buf.getvalue())
    assert {"MC115", "MC101"} <= rules(report)


def test_zip_bomb_by_ratio_is_a_finding_and_fast(tmp_path: Path) -> None:
    data = make_zip([("big.bin", bytes(64 * 1024 * 1024))], zipfile.ZIP_DEFLATED)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "bomb.zip").write_bytes(data)
    report, seconds = timed_scan(tmp_path / "m")
    assert "MC110" in rules(report)
    assert seconds < 30.0  # a hang guard, not a measurement (bench/ measures speed)


def test_member_lying_about_its_size(tmp_path: Path) -> None:
    data = bytearray(make_zip([("data.pkl", evil() + bytes(100_000))], zipfile.ZIP_DEFLATED))
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, pos + 24, 10)  # central directory: uncompressed size 10
    report = scan_one(tmp_path, "m.pt", bytes(data))
    assert {"MC110", "MC101"} <= rules(report)


def test_decompression_budget_ends_as_finding_and_partial(tmp_path: Path) -> None:
    blob = b"B" + struct.pack("<I", 600_000) + bytes(600_000)  # BINBYTES: few opcodes, many bytes
    members = [(f"n{i}.pkl", b"\x80\x03" + blob + b".") for i in range(5)]
    data = make_zip(members, zipfile.ZIP_DEFLATED)
    report = scan_one(tmp_path, "m.zip", data, ScanLimits(max_total_decompressed=1_500_000))
    assert "MC110" in rules(report)
    assert report.partial == ("m.zip",)


def test_overlapping_members_bomb(tmp_path: Path) -> None:
    payload = evil()
    base = make_zip([("a.pkl", payload), ("b.pkl", payload)])
    data = bytearray(base)
    first = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", first + 4)
    struct.pack_into("<I", data, second + 42, 0)  # b.pkl's local header offset -> a.pkl's
    report = scan_one(tmp_path, "m.zip", bytes(data))
    assert {"MC110", "MC101"} <= rules(report)


def test_nested_zip_payload_found_with_member_chain(tmp_path: Path) -> None:
    inner = torch_like(evil())
    middle = make_zip([("inner.pt", inner)], zipfile.ZIP_DEFLATED)
    report = scan_one(tmp_path, "outer.zip", make_zip([("middle.zip", middle)]))
    hit = next(f for f in report.findings if f.rule == "MC101")
    assert hit.evidence["member"] == "middle.zip!/inner.pt!/archive/data.pkl"


def test_nesting_deeper_than_the_limit(tmp_path: Path) -> None:
    data = torch_like(evil())
    for level in range(6):
        data = make_zip([(f"level{level}.zip", data)])
    report = scan_one(tmp_path, "deep.zip", data)
    assert "MC111" in rules(report)
    assert report.partial == ("deep.zip",)


def test_truncated_zip(tmp_path: Path) -> None:
    data = torch_like(evil())
    report = scan_one(tmp_path, "model.pt", data[: len(data) - 30])
    assert_not_clean(report)
    assert "MC113" in rules(report) and report.partial == ("model.pt",)


def test_local_header_offset_pointing_nowhere(tmp_path: Path) -> None:
    data = bytearray(torch_like(evil()))
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, pos + 42, 5)
    report = scan_one(tmp_path, "model.pt", bytes(data))
    assert "MC113" in rules(report) and report.partial == ("model.pt",)


def test_pickle_zip_polyglot(tmp_path: Path) -> None:
    zipped = make_zip([("x/data.pkl", evil(2, "subprocess", "run"))])
    report = scan_one(tmp_path, "model.bin", evil(2, "os", "system") + zipped)
    targets = {f.evidence["resolves_to"] for f in report.findings if f.rule == "MC101"}
    assert targets == {"os.system", "subprocess.run"}


def test_npy_object_array_with_payload(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    report = scan_one(tmp_path, "x.npy", buf.getvalue() + evil(3))
    assert {"MC114", "MC101"} <= rules(report)


def test_npy_structured_dtype_with_object_field(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([(1, None)], dtype=[("a", "<i4"), ("b", "O")]), allow_pickle=True)
    assert "MC114" in rules(scan_one(tmp_path, "x.npy", buf.getvalue()))


def test_npy_header_that_is_code_not_a_literal(tmp_path: Path) -> None:
    header = b"{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,)}"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    report = scan_one(tmp_path, "x.npy", data)
    assert rules(report) == {"MC116"}


def test_npy_unknown_version(tmp_path: Path) -> None:
    assert rules(scan_one(tmp_path, "x.npy", b"\x93NUMPY\x09\x00" + bytes(20))) == {"MC116"}


def test_python_source_inside_an_archive(tmp_path: Path) -> None:
    data = make_zip(
        [
            ("model/code/__torch__/m.py", b"import os\nos.system('id')\n"),
            ("model/data.pkl", b"\x80\x02K\x01."),
        ]
    )
    report = scan_one(tmp_path, "scripted.pt", data)
    risky = next(f for f in report.findings if f.rule == "MC304")
    assert risky.evidence["member"] == "model/code/__torch__/m.py"
    assert risky.evidence["imports"] == ["os"]


def tar_of(members: list[tuple[str, bytes]], links: tuple[tuple[str, str], ...] = ()) -> bytes:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buf.getvalue()


def test_torch_legacy_tar_checkpoint_pickle_member(tmp_path: Path) -> None:
    # torch.load still reads the pre-1.0 tar format and unpickles its 'pickle' member
    data = tar_of(
        [
            ("sys_info", b"\x80\x02}q\x00."),
            ("pickle", evil()),
            ("storages", b"\x80\x02K\x00."),
            ("tensors", b"\x80\x02K\x00."),
        ]
    )
    report = scan_one(tmp_path, "old.pt", data)
    hit = next(f for f in report.findings if f.rule == "MC101")
    assert hit.evidence["member"] == "pickle"


def test_tar_member_traversal_and_links(tmp_path: Path) -> None:
    data = tar_of([("../../x.pkl", b"\x80\x02K\x01.")], links=(("link", "/etc/passwd"),))
    report = scan_one(tmp_path, "weights.tar", data)
    assert "MC112" in rules(report)
    assert {f.evidence.get("target") for f in report.findings} >= {"/etc/passwd"}


def test_tar_member_that_is_a_torch_zip(tmp_path: Path) -> None:
    data = tar_of([("inner.pt", torch_like(evil(2, "runpy", "run_path")))])
    report = scan_one(tmp_path, "bundle.tar", data)
    hit = next(f for f in report.findings if f.rule == "MC101")
    assert hit.evidence["member"] == "inner.pt!/archive/data.pkl"


def test_tensor_bytes_that_start_like_a_pickle_are_not_findings(tmp_path: Path) -> None:
    # PROTO 2 then EXT4 and an unknown opcode: what random float data looked like in the bench
    noise = {
        f"archive/data/{i}": b"\x80\x02\x84" + bytes([i]) * 4 + b"\xbf" + bytes(64)
        for i in range(1, 4)
    }
    data = make_zip([("archive/data.pkl", b"\x80\x02K\x01."), *noise.items()])
    report = scan_one(tmp_path, "model.pt", data)
    assert rules(report) == {"MC105"} and report.partial == ()


def test_legacy_torch_storage_bytes_after_the_pickles(tmp_path: Path) -> None:
    pickles = b"\x80\x02K\x01." * 5
    report = scan_one(tmp_path, "old.bin", pickles + b"\x80\x02\x84\x01\x02\x03\x04\xbf" + bytes(9))
    assert rules(report) == {"MC105"} and report.partial == ()


def test_more_members_than_the_limit(tmp_path: Path) -> None:
    data = make_zip([(f"m{i}.txt", b"x") for i in range(150)] + [("z/data.pkl", evil())])
    report = scan_one(tmp_path, "many.zip", data, ScanLimits(max_zip_members=100))
    assert "MC110" in rules(report) and "MC101" not in rules(report)
    assert report.partial == ("many.zip",)


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile must use data descriptors (flag bit 3, sizes after data)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.buf += data
        return len(data)


def test_streamed_zip_with_data_descriptors(tmp_path: Path) -> None:
    sink = _Unseekable()
    with (
        zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("archive/data.pkl", "w") as member,
    ):
        member.write(evil())
    data = bytes(sink.buf)
    assert struct.unpack_from("<H", data, 6)[0] & 0x08, "fixture must use a data descriptor"
    assert "MC101" in rules(scan_one(tmp_path, "model.pt", data))


def test_npy_name_without_array_magic_is_a_pickle_path(tmp_path: Path) -> None:
    report = scan_one(tmp_path, "weights.npy", evil(4))
    assert {"MC106", "MC101"} <= rules(report)
    assert rules(scan_one(tmp_path, "other.npz", b"\x00\x01 junk")) >= {"MC108"}


def test_member_name_with_nul_byte(tmp_path: Path) -> None:
    data = bytearray(make_zip([("data.pkl_txt", evil())]))
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        pos = data.find(signature)
        data[pos + name_at + 8] = 0  # "data.pkl\x00txt": Python sees data.pkl, C tools may not
    report = scan_one(tmp_path, "m.zip", bytes(data))
    assert {"MC112", "MC101"} <= rules(report)
