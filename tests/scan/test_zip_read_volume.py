"""`scan` of a zip checkpoint reads the central directory, each member's local header, the
pickles and small members, and the head of a member only where its first byte could start a
format the scan checks: never the tensors' data. Bytes are counted by the kernel (rchar in
/proc/self/io) around `scan_path` on real files, and the findings are those of reading every
member's head, as the scan did before."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from corpus import Reduce, benign_files, checkpoint_pkl, glob0, malicious_files
from corpus_2026_pickle import EVIL

import modelcards.assess.scan.containers as containers
from modelcards.assess.scan import ScanLimits, scan_path
from modelcards.assess.scan.exact_reader import ExactReader, will_need

SNIFF = ScanLimits().member_sniff_bytes
EVERY_BYTE = frozenset(range(256))  # as FORMAT_FIRST_BYTES: every member's head is read


def rchar() -> int:
    with open("/proc/self/io", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar line in /proc/self/io")


needs_proc_io = pytest.mark.skipif(
    not os.path.exists("/proc/self/io"), reason="counts bytes read with Linux's /proc/self/io"
)


def findings(path: Path) -> list[tuple[str, str, str]]:
    return sorted(
        (f.rule, f.message, str(f.evidence.get("member"))) for f in scan_path(path).findings
    )


def bytes_read_by_scan(path: Path) -> int:
    scan_path(path)  # first, so that lazy imports and caches are not counted
    before = rchar()
    scan_path(path)
    return rchar() - before


def allowance(path: Path) -> tuple[int, int]:
    """(what the scan needs to read, the tensor bytes it must not read): the file's format
    sniff, the central directory, twice each local header, whole the pickles and the members
    no longer than the member sniff, and the sniff of the others whose first byte could start
    a format the scan checks."""
    limits = ScanLimits()
    need, tensors = limits.sniff_bytes + 22, 0
    with path.open("rb") as fh, zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        need += sum(46 + len(i.orig_filename.encode()) + len(i.extra) for i in infos)
        for info in infos:
            fh.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", fh.read(4))
            need += 2 * (30 + name_len + extra_len) + 1
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            first = fh.read(1)
            if info.filename.endswith(".pkl") or info.file_size <= SNIFF:
                need += info.file_size
            elif first and first[0] in containers.FORMAT_FIRST_BYTES:
                need += SNIFF
            else:
                tensors += info.file_size
    return need, tensors


def assert_reads_only_what_it_checks(path: Path) -> None:
    need, tensors = allowance(path)
    assert tensors > 20 * need, "the fixture must be mostly tensor data"
    read = bytes_read_by_scan(path)
    assert read <= 2 * need, f"read {read:,} bytes where {need:,} hold everything checked"


def checkpoint(path: Path, tensors: int, tensor_bytes: int) -> Path:
    """A torch.save-shaped zip without torch: data.pkl, then stored tensor members."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", checkpoint_pkl())
        zf.writestr("archive/byteorder", b"little")
        for i in range(tensors):
            zf.writestr(f"archive/data/{i}", rng.bytes(tensor_bytes))
        zf.writestr("archive/version", b"3\n")
    return path


@needs_proc_io
def test_zip_checkpoint_tensors_are_not_read(tmp_path: Path) -> None:
    path = checkpoint(tmp_path / "pytorch_model.bin", tensors=400, tensor_bytes=64 * 1024)
    assert_reads_only_what_it_checks(path)


@needs_proc_io
def test_torch_save_checkpoint_tensors_are_not_read(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    state = {}
    for i in range(100):
        state[f"layers.{i}.weight"] = torch.randn(256, 256)
        state[f"layers.{i}.bias"] = torch.zeros(128)  # a small member: read whole
        state[f"layers.{i}.norm"] = torch.ones(4096, dtype=torch.bfloat16)  # 0x80: sniffed
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)
    assert_reads_only_what_it_checks(path)
    plain = findings(path)
    assert [rule for rule, _, _ in plain] == ["MC105"], plain  # a state dict, nothing else


def test_findings_are_those_of_reading_every_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = checkpoint(tmp_path / "model.pt", tensors=300, tensor_bytes=2 * SNIFF)
    skipping = findings(path)
    monkeypatch.setattr(containers, "FORMAT_FIRST_BYTES", EVERY_BYTE)
    assert findings(path) == skipping


def _p0(lead: bytes) -> bytes:
    """A protocol-0 pickle calling os.system that starts with the opcode `lead` begins with."""
    return lead + glob0("os", "system") + b"(Vid\ntR."


def _npy_of_evil() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([Reduce(os.system, "id")], dtype=object), allow_pickle=True)
    return buf.getvalue()


def _zip_of_evil() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("evil.pkl", EVIL)
    return buf.getvalue()


# One head per format the member dispatch tells by its first bytes (the protocol-0 opcodes a
# pickle can start with, each with its argument; BINPUT, `q`, cannot start one that loads)
P0_LEADS = [b"", b"(", b"]", b"}", b")", b"N", b"I1\n", b"J\1\0\0\0", b"K\1", b"M\1\0", b"L1\n"]
P0_LEADS += [b"S'a'\n", b"Va\n", b"U\1a", b"T\1\0\0\0a", b"X\1\0\0\0a", b"F1.0\n", b"G" + bytes(8)]
HEADS = {f"protocol 0 after {lead[:1]!r}": _p0(lead) for lead in P0_LEADS}
HEADS["protocol 0 INST"] = b"ios\nsystem\n(Vid\ntR."
HEADS |= {f"protocol {p}": pickle.dumps(Reduce(os.system, "id"), protocol=p) for p in (2, 3, 4, 5)}
HEADS |= {
    "gzip": gzip.compress(EVIL, mtime=0),
    "xz": lzma.compress(EVIL),
    "lzma alone": lzma.compress(EVIL, format=lzma.FORMAT_ALONE),
    "bz2": bz2.compress(EVIL),
    "zlib": zlib.compress(EVIL),
    "npy": _npy_of_evil(),
    "zip": _zip_of_evil(),
}


def checkpoint_hiding(data: bytes) -> bytes:
    """A checkpoint whose tensor member `archive/data/0` is `data` padded past the sniff."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", checkpoint_pkl())
        zf.writestr("archive/data/0", data + bytes(3 * SNIFF))
        zf.writestr("archive/version", b"3\n")
    return buf.getvalue()


@pytest.mark.parametrize("kind", sorted(HEADS))
def test_a_tensor_member_whose_head_starts_a_format_is_checked(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = HEADS[kind]
    path = tmp_path / "model.pt"
    path.write_bytes(checkpoint_hiding(data))
    skipping = findings(path)
    assert any(
        rule == "MC101" and member.startswith("archive/data/0") for rule, _, member in skipping
    )
    monkeypatch.setattr(containers, "FORMAT_FIRST_BYTES", EVERY_BYTE)
    assert findings(path) == skipping
    # without its first byte in the set, the member would go unread: the set is what keeps it
    monkeypatch.setattr(containers, "FORMAT_FIRST_BYTES", EVERY_BYTE - {data[0]})
    assert not any(member.startswith("archive/data/0") for _, _, member in findings(path))


def test_the_corpus_scans_the_same_as_reading_every_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {**malicious_files(), **benign_files()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    skipping = {name: findings(tmp_path / name) for name in files}
    monkeypatch.setattr(containers, "FORMAT_FIRST_BYTES", EVERY_BYTE)
    assert {name: findings(tmp_path / name) for name in files} == skipping


def test_a_member_running_past_the_end_is_still_reported(tmp_path: Path) -> None:
    """Its sniff would meet the end of the file: read it, and say so, as before."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", checkpoint_pkl())
        zf.writestr("archive/data/0", bytes(100))
    data = bytearray(buf.getvalue())
    entry = data.rfind(b"PK\x01\x02")  # the central directory's entry of archive/data/0
    struct.pack_into("<II", data, entry + 20, 2 * SNIFF, 2 * SNIFF)  # sizes it does not have
    path = tmp_path / "model.pt"
    path.write_bytes(bytes(data))
    assert any(
        rule == "MC113"
        and "ends before its declared size" in message
        and member == "archive/data/0"
        for rule, message, member in findings(path)
    )


def test_exact_reader_reads_what_is_asked_and_leaves_the_buffered_reader_right(
    tmp_path: Path,
) -> None:
    path = tmp_path / "blob"
    blob = bytes(range(256)) * 64
    path.write_bytes(blob)
    with open(path, "rb", buffering=1024) as fh:
        assert fh.read(10) == blob[:10]
        exact = ExactReader(fh.fileno(), len(blob))
        assert exact.seek(-22, os.SEEK_END) == len(blob) - 22
        assert exact.read() == blob[-22:]
        assert exact.read(5) == b""
        exact.seek(5000)
        assert exact.read(3) == blob[5000:5003]
        assert exact.seek(2, os.SEEK_CUR) == 5005
        assert fh.read(2000) == blob[10:2010]  # its position and buffer as they were
        with pytest.raises(OSError):
            exact.seek(-1)


def test_a_prefetch_hint_on_hostile_offsets_is_skipped_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(bytes(8192))
    with open(path, "rb") as fh:
        exact = ExactReader(fh.fileno(), 8192)
        will_need(exact, [(-30, 100), (2**63 - 1, 2**63 - 1), (0, 4096), (2**70, 1)])  # type: ignore[arg-type]
        will_need(io.BytesIO(b"x"), [(0, 1)])
        assert exact.read(3) == bytes(3)
