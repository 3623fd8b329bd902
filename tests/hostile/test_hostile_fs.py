"""The folder walk: links out of the folder, special files, huge sparse files, bad names."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hostile_helpers import evil, rules

from modelcards.assess.findings import ScanReport
from modelcards.assess.format import format_text
from modelcards.assess.scan import scan_path
from modelcards.safeio.errors import AssessError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_text("{}")
    return path


def test_file_link_escaping_the_folder_is_not_followed(tmp_path: Path, folder: Path) -> None:
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(evil())
    (folder / "weights.pkl").symlink_to(outside)
    report = scan_path(folder)
    assert rules(report) == {"MC120"}  # the link is reported, the target never read


def test_folder_link_escaping_the_folder(tmp_path: Path, folder: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.pkl").write_bytes(evil())
    (folder / "sub").symlink_to(outside, target_is_directory=True)
    report = scan_path(folder)
    assert rules(report) == {"MC120"}


def test_relative_link_climbing_out(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "secret").write_text("token")
    (folder / "innocent.txt").symlink_to("../secret")
    assert rules(scan_path(folder)) == {"MC120"}


def test_link_inside_the_folder_is_scanned_once(folder: Path) -> None:
    (folder / "blobs").mkdir()
    (folder / "blobs" / "abc").write_bytes(evil())
    (folder / "model.pkl").symlink_to("blobs/abc")
    report = scan_path(folder)
    assert [f.file for f in report.findings if f.rule == "MC101"] == ["blobs/abc"]


def test_link_inside_reached_only_through_the_link(tmp_path: Path) -> None:
    # the HF cache layout: snapshot names link to blobs; only the link is in the scanned path
    folder = tmp_path / "model"
    (folder / "snap").mkdir(parents=True)
    (folder / "blob").write_bytes(evil())
    (folder / "snap" / "model.bin").symlink_to("../blob")
    report = scan_path(folder)
    assert {f.file for f in report.findings if f.rule == "MC101"} == {"blob"}


def test_broken_link(folder: Path) -> None:
    (folder / "gone.bin").symlink_to(folder / "does-not-exist")
    assert "MC121" in rules(scan_path(folder))


def test_link_loop(folder: Path) -> None:
    (folder / "a").symlink_to(folder / "b")
    (folder / "b").symlink_to(folder / "a")
    report = scan_path(folder)
    assert rules(report) <= {"MC121", "MC120"} and report.findings


def test_fifo_is_never_opened(folder: Path) -> None:
    os.mkfifo(folder / "pipe.bin")
    result: list[ScanReport] = []
    worker = threading.Thread(target=lambda: result.append(scan_path(folder)), daemon=True)
    worker.start()
    worker.join(5)
    assert result, "scanning a FIFO hung"
    report = result[0]
    assert rules(report) == {"MC121"}


def bytes_read() -> int:
    """What this process has read so far (/proc/self/io rchar: all reads, page cache too)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_sparse_100gb_bin_is_not_read_whole(folder: Path) -> None:
    path = folder / "pytorch_model.bin"
    path.touch()
    os.truncate(path, 100 * 1024**3)
    before = bytes_read()
    report = scan_path(folder)
    assert bytes_read() - before < 64 * 1024**2  # a few blocks of 100 GB, never the file
    assert rules(report) == {"MC108"}


def test_sparse_100gb_pickle_header_then_holes(folder: Path) -> None:
    path = folder / "model.pkl"
    path.write_bytes(b"\x80\x04")
    os.truncate(path, 100 * 1024**3)
    before = bytes_read()
    report = scan_path(folder)
    assert bytes_read() - before < 64 * 1024**2  # a few blocks of 100 GB, never the file
    assert rules(report) and report.partial == ("model.pkl",)


def test_sparse_100gb_unknown_file(folder: Path) -> None:
    path = folder / "shard.dat"
    path.write_bytes(evil())
    os.truncate(path, 100 * 1024**3)
    before = bytes_read()
    report = scan_path(folder)
    assert bytes_read() - before < 64 * 1024**2  # a few blocks of 100 GB, never the file
    assert {"MC101", "MC106"} <= rules(report)


def test_control_characters_in_names_do_not_reach_the_terminal(folder: Path) -> None:
    (folder / "evil\x1b]0;title\x07.pkl").write_bytes(evil())
    text = format_text(scan_path(folder))
    assert "\x1b" not in text and "\x07" not in text and "MC101" in text


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of mode")
def test_unreadable_file_is_partial(folder: Path) -> None:
    path = folder / "model.pkl"
    path.write_bytes(evil())
    path.chmod(0)
    report = scan_path(folder)
    assert report.partial == ("model.pkl",) and "MC122" in rules(report)


def test_missing_path_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(AssessError, match="cannot scan"):
        scan_path(tmp_path / "nope")


def test_single_file(tmp_path: Path) -> None:
    path = tmp_path / "one.pkl"
    path.write_bytes(evil())
    report = scan_path(path)
    assert report.files_scanned == 1 and "MC101" in rules(report)
    assert {f.file for f in report.findings} == {"one.pkl"}


def test_git_folder_is_skipped(folder: Path) -> None:
    (folder / ".git").mkdir()
    (folder / ".git" / "x.pkl").write_bytes(evil())
    assert rules(scan_path(folder)) == set()


def test_undecodable_file_name_gives_printable_output(folder: Path) -> None:
    os.mkdir(os.fsencode(folder) + b"/\xff\xfe")
    with open(os.fsencode(folder) + b"/\xff\xfe/w\x80.pkl", "wb") as handle:
        handle.write(evil())
    report = scan_path(folder)
    from modelcards.assess.format import format_json, format_sarif

    for text in (format_text(report), format_json(report), format_sarif(report)):
        text.encode("utf-8")  # would raise on a lone surrogate
    assert "MC101" in rules(report)


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists folders regardless of mode")
def test_unlistable_folder_is_partial(folder: Path) -> None:
    (folder / "locked").mkdir()
    (folder / "locked" / "x.pkl").write_bytes(evil())
    (folder / "locked").chmod(0)
    try:
        report = scan_path(folder)
    finally:
        (folder / "locked").chmod(0o755)
    assert "locked" in report.partial


def test_open_failure_is_partial_even_as_root(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelcards.assess.scan as scan_module

    (folder / "model.pkl").write_bytes(evil())
    real_open = os.open

    def deny(path: object, flags: int, *args: object) -> int:
        if str(path).endswith("model.pkl"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module.os, "open", deny)
    report = scan_path(folder)
    assert report.partial == ("model.pkl",) and "MC122" in rules(report)


def test_read_error_midway_is_partial(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelcards.assess.scan.containers as containers

    (folder / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(containers, "check_safetensors", broken)
    report = scan_path(folder)
    assert report.partial == ("model.safetensors",) and "MC122" in rules(report)


def test_hugging_face_cache_snapshot_links_into_blobs(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "models--org--name"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "0123abcd").write_bytes(evil())
    snapshot = repo / "snapshots" / "f00d"
    snapshot.mkdir(parents=True)
    (snapshot / "pytorch_model.bin").symlink_to("../../blobs/0123abcd")
    (snapshot / "escape.bin").symlink_to(tmp_path / "outside.bin")
    (tmp_path / "outside.bin").write_bytes(evil())
    report = scan_path(snapshot)
    by_rule = {(f.rule, f.file) for f in report.findings}
    assert ("MC101", "pytorch_model.bin") in by_rule
    assert ("MC120", "escape.bin") in by_rule
    assert report.files_scanned == 1


def test_explicit_allowed_root(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "w").write_bytes(evil())
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.pkl").symlink_to(tmp_path / "store" / "w")
    assert rules(scan_path(folder)) == {"MC120"}
    assert "MC101" in rules(scan_path(folder, allowed_root=tmp_path))


def test_link_names_are_evidence_on_the_target(folder: Path) -> None:
    (folder / "real.pkl").write_bytes(evil())
    (folder / "alias.pkl").symlink_to("real.pkl")
    report = scan_path(folder)
    hit = next(f for f in report.findings if f.rule == "MC101")
    assert hit.file == "real.pkl" and hit.evidence["linked_as"] == ["alias.pkl"]


def test_lfs_pointer_is_partial_not_clean(folder: Path) -> None:
    pointer = (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{'ab' * 32}\nsize 4000000000\n"
    )
    (folder / "pytorch_model.bin").write_text(pointer)
    report = scan_path(folder)
    assert rules(report) == {"MC123"} and report.partial == ("pytorch_model.bin",)
