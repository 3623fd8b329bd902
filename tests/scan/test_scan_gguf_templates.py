"""GGUF headers and chat templates: real files from the gguf writer, malformed ones byte-exact,
and the template-injection payloads published for CVE-2024-34359 and its successors."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from corpus_2026_formats import (
    DEEPSEEK_R1_TEMPLATE,
    GEMMA_TEMPLATE,
    HOSTILE_TEMPLATES,
    LLAMA3_TEMPLATE,
    LLAMA31_TOOLS_TEMPLATE,
    MISTRAL_TEMPLATE,
    QWEN2_TEMPLATE,
    gguf_benign,
    gguf_file,
    gguf_header,
    gguf_string,
)

from modelcards.assess.findings import ScanReport
from modelcards.assess.scan.chat_template import template_problems
from modelcards.inspect import gguf_header as shared_reader

Scan = Callable[[str, bytes], ScanReport]
REALCASES = Path("/work/shared/realcases")


def rules(report: ScanReport) -> set[str]:
    return {f.rule for f in report.findings}


needs_gguf = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("gguf"), reason="gguf not installed"
)


@needs_gguf
@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_hostile_template_in_gguf_is_critical(scan_bytes_as: Scan, name: str) -> None:
    report = scan_bytes_as("m.gguf", gguf_file({}, templates={"default": HOSTILE_TEMPLATES[name]}))
    (hit,) = report.findings
    assert hit.rule == "MC140" and hit.evidence["key"] == "tokenizer.chat_template"


@needs_gguf
def test_named_template_is_checked(scan_bytes_as: Scan) -> None:
    data = gguf_file({}, templates={"default": LLAMA3_TEMPLATE, "rag": "{{ x|attr(y) }}"})
    report = scan_bytes_as("m.gguf", data)
    assert [(f.rule, f.evidence["key"]) for f in report.findings] == [
        ("MC142", "tokenizer.chat_template.rag")
    ]


@needs_gguf
@pytest.mark.parametrize("name", sorted(gguf_benign()))
def test_real_templates_in_gguf_are_clean(scan_bytes_as: Scan, name: str) -> None:
    report = scan_bytes_as(name, gguf_benign()[name])
    assert report.findings == () and report.partial == ()


@needs_gguf
def test_big_endian_gguf_is_read(scan_bytes_as: Scan, tmp_path: Path) -> None:
    import gguf
    import numpy as np

    path = tmp_path / "be.gguf"
    writer = gguf.GGUFWriter(str(path), "llama", endianess=gguf.GGUFEndian.BIG)
    writer.add_chat_template(HOSTILE_TEMPLATES["lipsum_globals"])
    writer.add_tensor("w", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert rules(scan_bytes_as("be.gguf", path.read_bytes())) == {"MC140"}


@needs_gguf
def test_truncated_gguf_is_malformed(scan_bytes_as: Scan) -> None:
    data = gguf_file({"general.description": "x" * 1000})
    report = scan_bytes_as("m.gguf", data[:200])
    assert rules(report) == {"MC143"}


KV = gguf_string("general.name")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (gguf_header(3, 0, 2**60), "metadata key count"),
        (gguf_header(3, 2**50, 0), "tensor count"),
        (gguf_header(99, 0, 0), "version 99"),
        (gguf_header(3, 0, 1, gguf_string("general.name", declared=2**40)), "runs past the end"),
        (gguf_header(3, 0, 1, KV + struct.pack("<I", 77)), "unknown value type 77"),
        (gguf_header(3, 0, 1, KV + struct.pack("<IIQ", 9, 8, 2**59)), "more than the file holds"),
        (
            gguf_header(3, 0, 2, (KV + struct.pack("<I", 4) + bytes(4)) * 2),
            "appears twice",
        ),
        (
            gguf_header(3, 1, 0, gguf_string("w") + struct.pack("<I", 5) + bytes(60)),
            "5 dimensions",
        ),
        (
            gguf_header(3, 1, 0, gguf_string("w") + struct.pack("<IQIQ", 1, 4, 0, 7)),
            "misaligned",
        ),
        (gguf_header(3, 1, 0, gguf_string("w" * 100) + bytes(40)), "name longer than 64"),
    ],
)
def test_malformed_headers_are_one_finding(scan_bytes_as: Scan, data: bytes, says: str) -> None:
    start = time.monotonic()
    report = scan_bytes_as("m.gguf", data + bytes(64))
    assert time.monotonic() - start < 1.0
    (hit,) = report.findings
    assert hit.rule == "MC143" and says in hit.message, hit.message


def test_gguf_name_without_magic(scan_bytes_as: Scan) -> None:
    assert rules(scan_bytes_as("m.gguf", b"not a gguf at all")) == {"MC143"}


def test_string_budget_makes_the_scan_partial(
    scan_bytes_as: Scan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_reader, "MAX_STRINGS", 10)  # the reader shared with inspect
    tokens = struct.pack("<IIQ", 9, 8, 50) + gguf_string("t") * 50
    report = scan_bytes_as(
        "m.gguf", gguf_header(3, 0, 1, gguf_string("tokenizer.ggml.tokens") + tokens)
    )
    assert rules(report) == {"MC122"} and report.partial == ("m.gguf",)


@pytest.mark.parametrize(
    "source",
    [
        LLAMA3_TEMPLATE,
        LLAMA31_TOOLS_TEMPLATE,
        QWEN2_TEMPLATE,
        MISTRAL_TEMPLATE,
        DEEPSEEK_R1_TEMPLATE,
        GEMMA_TEMPLATE,
    ],
)
def test_real_templates_have_no_problems(source: str) -> None:
    assert template_problems(source) == ([], [])


def real_templates() -> list[tuple[str, str]]:
    found = []
    for path in sorted(REALCASES.glob("*/tokenizer_config.json")):
        value = json.loads(path.read_text()).get("chat_template")
        if isinstance(value, str):
            found.append((path.parent.name, value))
    return found


@pytest.mark.skipif(not real_templates(), reason="no real cases on this machine")
def test_real_case_templates_have_no_problems() -> None:
    for name, source in real_templates():
        assert template_problems(source) == ([], []), name


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("{{ x|attr('__cla'~'ss__') }}", "|attr('__class__')"),
        ("{{ x[['__cla', 'ss__']|join] }}", "['__class__']"),
        ("{{ x['%s%s'|format('__cla', 'ss__')] }}", "['__class__']"),
        ("{{ x|attr('__ssalc__'|reverse) }}", "|attr('__class__')"),
        ("{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", "|attr('__class__')"),
        ("{{ x|map(attribute='__class__')|list }}", "string '__class__'"),
        ("{{ self._TemplateReference__context }}", "._TemplateReference__context"),
        ("{{ namespace.__init__ }}", "attribute of the global 'namespace'"),
        ("{{ config.items() }}", "attribute of the global 'config'"),
        ("{{ __builtins__ }}", "__builtins__"),
        ("{{ x.os.popen('id') }}", ".popen"),
    ],
)
def test_escapes_are_found_through_obfuscation(source: str, shown: str) -> None:
    result = template_problems(source)
    assert not isinstance(result, str) and shown in result[0], result


def test_assigned_names_are_not_globals() -> None:
    source = "{% set config = {'a': 1} %}{% set ns = namespace(x=1) %}{{ config.a }}{{ ns.x }}"
    assert template_problems(source) == ([], [])


def test_template_that_does_not_parse(scan_bytes_as: Scan) -> None:
    config = {"chat_template": "{% for m in messages %}{{ m.content"}
    report = scan_bytes_as("tokenizer_config.json", json.dumps(config).encode())
    assert rules(report) == {"MC141"}


def test_tokenizer_config_templates_are_checked(scan_bytes_as: Scan) -> None:
    config = {
        "chat_template": [
            {"name": "default", "template": LLAMA3_TEMPLATE},
            {"name": "tool_use", "template": HOSTILE_TEMPLATES["attr_concat"]},
        ]
    }
    report = scan_bytes_as("tokenizer_config.json", json.dumps(config).encode())
    assert [(f.rule, f.evidence["key"]) for f in report.findings] == [
        ("MC140", "chat_template.tool_use")
    ]


def test_jinja_file_is_checked(scan_bytes_as: Scan) -> None:
    report = scan_bytes_as("chat_template.jinja", HOSTILE_TEMPLATES["subclasses"].encode())
    assert rules(report) == {"MC140"}
    assert scan_bytes_as("chat_template.jinja", QWEN2_TEMPLATE.encode()).findings == ()


@pytest.mark.skipif(not REALCASES.is_dir(), reason="no real cases on this machine")
def test_real_tokenizer_configs_give_no_template_finding(tmp_path: Path) -> None:
    from modelcards.assess.scan import scan_path

    for path in sorted(REALCASES.glob("*/tokenizer_config.json")):
        report = scan_path(path)
        assert not {"MC140", "MC141", "MC142"} & rules(report), path


def test_processor_config_template_is_checked(scan_bytes_as: Scan) -> None:
    config = {"chat_template": HOSTILE_TEMPLATES["cycler_init_globals"]}
    report = scan_bytes_as("processor_config.json", json.dumps(config).encode())
    assert rules(report) == {"MC140"}
