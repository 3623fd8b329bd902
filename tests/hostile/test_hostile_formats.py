"""Hostile GGUF, ONNX, Keras and chat-template inputs: mutants of real files and hand-made
extremes end as findings, never as the scanner's last-resort error, a hang or a big read."""

from __future__ import annotations

import json
import random
import struct
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scan"))

import corpus_2026_formats as formats  # noqa: E402

from modelcards.assess.scan import INTERNAL_ERROR, scan_path  # noqa: E402


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Flip, cut, insert and truncate bytes at random places."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        kind, pos = rng.random(), rng.randrange(len(out)) if out else 0
        if kind < 0.5 and out:
            out[pos] = rng.randrange(256)
        elif kind < 0.7:
            del out[pos : pos + rng.randint(1, 64)]
        elif kind < 0.85:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            out = out[:pos]
    return bytes(out)


def seeds() -> dict[str, bytes]:
    files = {**formats.malicious_files(), **formats.benign_files()}
    files["tokenizer_config.json"] = json.dumps(
        {"chat_template": formats.HOSTILE_TEMPLATES["set_folded"]}
    ).encode()
    files["chat_template.jinja"] = formats.QWEN2_TEMPLATE.encode()
    return files


@pytest.mark.parametrize("round_", range(3))
def test_format_mutants_never_crash_the_scanner(tmp_path: Path, round_: int) -> None:
    originals = seeds()
    if len(originals) < 10:
        pytest.skip("the format libraries are not installed")
    rng = random.Random(2026 + round_)
    folder = tmp_path / "fuzz"
    folder.mkdir()
    for i in range(80):
        name = rng.choice(sorted(originals))
        (folder / f"{i:03d}_{name}").write_bytes(mutate(originals[name], rng))
    start = time.monotonic()
    report = scan_path(folder)
    assert time.monotonic() - start < 30
    assert report.files_scanned == 80
    assert [f.message for f in report.findings if INTERNAL_ERROR in f.message] == []


def test_gguf_with_millions_of_declared_strings_is_fast(tmp_path: Path) -> None:
    tokens = formats.gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 10**7)
    data = formats.gguf_header(3, 0, 1, tokens + formats.gguf_string("a") * 1000)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x.gguf").write_bytes(data)
    start = time.monotonic()
    report = scan_path(tmp_path / "m")
    assert time.monotonic() - start < 1.0
    assert {f.rule for f in report.findings} == {"MC143"}


def test_template_nesting_bomb_is_one_finding(tmp_path: Path) -> None:
    source = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "chat_template.jinja").write_text(source)
    report = scan_path(tmp_path / "m")
    assert [f.rule for f in report.findings] == ["MC141"]


def test_huge_template_is_refused_unparsed(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "chat_template.jinja").write_text("{{ x }}" * 300_000)
    start = time.monotonic()
    report = scan_path(tmp_path / "m")
    assert time.monotonic() - start < 1.0
    assert [f.rule for f in report.findings] == ["MC141"]
