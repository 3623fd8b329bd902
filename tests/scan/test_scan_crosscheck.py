"""Cross-check against picklescan on the same corpus: we flag at least what it flags."""

from __future__ import annotations

import logging
from pathlib import Path

import corpus_2026_formats
import pytest
from corpus import benign_files, malicious_files, write

from modelcards.assess.findings import Severity
from modelcards.assess.scan import scan_path

scanner = pytest.importorskip("picklescan.scanner")


def picklescan_dangerous(path: Path) -> set[tuple[str, str]]:
    try:
        result = scanner.scan_file_path(str(path))
    except Exception:  # noqa: BLE001 - it raises on some hostile files (padded .npy headers)
        return set()  # ...and so flags nothing in them
    return {(g.module, g.name) for g in result.globals if g.safety == scanner.SafetyLevel.Dangerous}


def test_we_flag_everything_picklescan_flags(tmp_path: Path) -> None:
    logging.getLogger("picklescan").setLevel(logging.CRITICAL)
    paths = write(malicious_files(), tmp_path / "corpus")
    report = scan_path(tmp_path / "corpus")
    ours: dict[str, set[tuple[str, str]]] = {}
    for f in report.findings:
        if f.severity >= Severity.HIGH and "module" in f.evidence:
            ours.setdefault(f.file, set()).add((str(f.evidence["module"]), str(f.evidence["name"])))
    theirs_total = 0
    missed = []
    for path in paths:
        theirs = picklescan_dangerous(path)
        theirs_total += len(theirs)
        for item in theirs - ours.get(path.name, set()):
            missed.append((path.name, item))
    assert theirs_total >= 40, "the corpus must give picklescan something to find"
    assert missed == []


def test_picklescan_and_we_agree_benign_is_not_dangerous(tmp_path: Path) -> None:
    paths = write(benign_files(), tmp_path / "corpus")
    report = scan_path(tmp_path / "corpus")
    assert not report.at_least(Severity.HIGH)
    assert all(not picklescan_dangerous(p) for p in paths)


def test_every_malicious_file_is_critical_for_us(tmp_path: Path) -> None:
    write(malicious_files(), tmp_path / "corpus")
    report = scan_path(tmp_path / "corpus")
    critical = {f.file for f in report.findings if f.severity is Severity.CRITICAL}
    high = {f.file for f in report.findings if f.severity >= Severity.HIGH}
    formats = set(corpus_2026_formats.malicious_files())  # some only read files: high is enough
    assert critical >= set(malicious_files()) - formats and high == set(malicious_files())
