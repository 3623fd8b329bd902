"""Remote code and Keras configs built to be awkward: huge, deep, malformed, cross-repo."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from hostile_helpers import rules, scan_one

from modelcards.assess.scan.limits import ScanLimits


def test_auto_map_cross_repo_in_a_list(tmp_path: Path) -> None:
    config = {"auto_map": {"AutoTokenizer": ["evil/repo--tok.Slow", "evil/repo--tok.Fast"]}}
    report = scan_one(tmp_path, "tokenizer_config.json", json.dumps(config).encode())
    assert [f.rule for f in report.findings] == ["MC302", "MC302"]


def test_config_with_duplicate_auto_map_keys(tmp_path: Path) -> None:
    raw = b'{"auto_map": {"AutoModel": "a.B"}, "auto_map": {}}'
    assert rules(scan_one(tmp_path, "config.json", raw)) == {"MC306"}


def test_config_not_utf8(tmp_path: Path) -> None:
    assert rules(scan_one(tmp_path, "config.json", b'{"a": "\xff"}')) == {"MC306"}


def test_huge_python_file_is_partial(tmp_path: Path) -> None:
    source = b"x = 1\n" * 400_000
    report = scan_one(tmp_path, "modeling.py", source, ScanLimits(max_text_bytes=1_000_000))
    assert {"MC303", "MC305"} <= rules(report)
    assert report.partial == ("modeling.py",)


def test_deeply_nested_python(tmp_path: Path) -> None:
    source = b"x = " + b"(" * 50_000 + b"1" + b")" * 50_000 + b"\n"
    report = scan_one(tmp_path, "deep.py", source)
    assert "MC305" in rules(report)


def test_python_hiding_import_in_a_call(tmp_path: Path) -> None:
    source = b"m = __import__('o' + 's')\ngetattr(m, 'system')('id')\n"
    report = scan_one(tmp_path, "modeling.py", source)
    risky = next(f for f in report.findings if f.rule == "MC304")
    assert risky.evidence["calls"] == ["__import__", "getattr"]


def test_keras_config_not_json(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", b'{"class_name": "Lambda", ')
    report = scan_one(tmp_path, "model.keras", buf.getvalue())
    assert {"MC404", "MC401"} <= rules(report)


def test_h5_with_only_raw_lambda_marker(tmp_path: Path) -> None:
    raw = b"\x89HDF\r\n\x1a\n" + bytes(1000) + b'"class_name": "Lambda", "config": {' + bytes(10)
    assert "MC401" in rules(scan_one(tmp_path, "model.h5", raw))


def test_h5_larger_than_the_search_budget(tmp_path: Path) -> None:
    raw = b"\x89HDF\r\n\x1a\n" + bytes(3_000_000)
    report = scan_one(tmp_path, "model.h5", raw, ScanLimits(max_h5_bytes=1_000_000))
    assert "MC122" in rules(report) and report.partial == ("model.h5",)


def test_h5_config_found_early_makes_the_scan_complete(tmp_path: Path) -> None:
    config = json.dumps(
        {
            "class_name": "Sequential",
            "config": {"layers": [{"class_name": "Dense", "config": {"name": "d"}}]},
        }
    ).encode()
    raw = b"\x89HDF\r\n\x1a\n" + b"model_config\x00" + config + bytes(3_000_000)
    report = scan_one(tmp_path, "model.h5", raw, ScanLimits(max_h5_bytes=1_000_000))
    assert report.findings == () and report.partial == ()


def test_auto_map_hidden_in_a_sub_config(tmp_path: Path) -> None:
    config = {"model_type": "llava", "text_config": {"auto_map": {"AutoModel": "x/y--modeling.M"}}}
    report = scan_one(tmp_path, "config.json", json.dumps(config).encode())
    hit = next(f for f in report.findings if f.rule == "MC302")
    assert hit.evidence["key"] == "text_config.auto_map.AutoModel"


def test_h5_full_of_false_config_starts_is_fast(tmp_path: Path) -> None:
    import time

    raw = b"\x89HDF\r\n\x1a\nmodel_config" + b'{"class_name" ' * 400_000
    start = time.monotonic()
    report = scan_one(tmp_path, "model.h5", raw)
    assert time.monotonic() - start < 2.0
    assert report.findings == () and report.partial == ()
