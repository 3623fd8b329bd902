"""Weights-only llama.cpp repositories: real GGUF files written with the `gguf` library, found by
init, read into GgufFacts, and stated by the card; hostile headers give a note, not a traceback."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from modelcards.inspect import inspect_snapshot
from modelcards.inspect.gguf_facts import FILE_TYPES, GGML_TYPES, shared_facts
from modelcards.project.discover import discover
from modelcards.resolve import open_folder

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")

SCHEMA = json.loads((Path(__file__).parents[1] / "modelcards/schema/card.schema.json").read_text())
TEMPLATE = "{% for m in messages %}{{ m.content }}{% endfor %}"
README = (
    "---\nbase_model: Qwen/Qwen2.5-7B-Instruct\nbase_model_relation: quantized\n"
    "license: apache-2.0\n---\n# Qwen2.5 7B Instruct GGUF\n"
)


def write_gguf(path: Path, file_type: int = 15, *, lineage: bool = True, **extra: Any) -> Path:
    """A small GGUF file as llama.cpp's converter lays one out (2 tensors, 100 tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("Qwen2.5 7B Instruct")
    writer.add_file_type(file_type)
    writer.add_context_length(32768)
    writer.add_block_count(2)
    writer.add_embedding_length(8)
    writer.add_feed_forward_length(16)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_license("apache-2.0")
    writer.add_token_list([f"t{i}" for i in range(100)])
    writer.add_chat_template(TEMPLATE)
    if lineage:
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, "Qwen2.5 7B")
        writer.add_base_model_organization(0, "Qwen")
        writer.add_base_model_repo_url(0, "https://huggingface.co/Qwen/Qwen2.5-7B")
    for key, value in extra.items():
        writer.add_key_value(key, value[0], value[1])
    writer.add_tensor("token_embd.weight", np.zeros((100, 8), dtype=np.float32))
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((8, 8), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def quant_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hub-style repository of two quantizations: README with front matter, no config.json."""
    root = tmp_path_factory.mktemp("qwen-gguf")
    write_gguf(root / "qwen2.5-7b-instruct-q4_k_m.gguf", 15)
    write_gguf(root / "qwen2.5-7b-instruct-q8_0.gguf", 7)
    (root / "README.md").write_text(README)
    return root


@pytest.fixture(scope="module")
def built(quant_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    from modelcards.api import build

    root = tmp_path_factory.mktemp("built") / "repo"
    root.mkdir()
    for item in quant_repo.iterdir():
        (root / item.name).write_bytes(item.read_bytes())
    (root / "modelcards.yml").write_text("models:\n  - path: .\n    base: null\n")
    report = build(root, site=False)
    assert not report.failed, report.failed
    return (root / "README.md").read_text(), json.loads((root / "card.json").read_text())


def test_header_facts_are_typed_and_complete(quant_repo: Path) -> None:
    facts = inspect_snapshot(open_folder(quant_repo, project_root=quant_repo.parent))
    assert facts.config is None and [g.file for g in facts.gguf] == [
        "qwen2.5-7b-instruct-q4_k_m.gguf",
        "qwen2.5-7b-instruct-q8_0.gguf",
    ]
    q4 = facts.gguf[0]
    assert (q4.architecture, q4.quantization, q4.file_type) == ("qwen2", "Q4_K_M", 15)
    assert (q4.context_length, q4.block_count, q4.embedding_length) == (32768, 2, 8)
    assert (q4.feed_forward_length, q4.head_count, q4.head_count_kv) == (16, 4, 2)
    assert (q4.vocab_size, q4.parameters, q4.tensors) == (100, 100 * 8 + 64, 2)
    assert q4.tensor_types == {"F16": 1, "F32": 1} and q4.license == "apache-2.0"
    assert list(q4.chat_templates) == ["default"] and len(q4.chat_templates["default"]) == 64
    (base,) = q4.base_models
    assert (base.key, base.organization, base.repo_url) == (
        "general.base_model.0",
        "Qwen",
        "https://huggingface.co/Qwen/Qwen2.5-7B",
    )
    assert facts.gguf[1].quantization == "Q8_0" and facts.notes == ()
    assert facts.weights.coverage.gguf == tuple(g.file for g in facts.gguf)


def test_quantization_names_are_llama_cpp_s() -> None:
    assert {
        t.value: t.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        for t in gguf.LlamaFileType
        if t.name != "GUESSED" and t.value in FILE_TYPES
    } == FILE_TYPES
    assert {
        t.value: t.name for t in gguf.GGMLQuantizationType if t.value in GGML_TYPES
    } == GGML_TYPES
    assert {15: "Q4_K_M", 7: "Q8_0", 18: "Q6_K"}.items() <= FILE_TYPES.items()


def test_card_rows_come_from_the_header(built: tuple[str, dict[str, Any]]) -> None:
    card, data = built
    assert "| Architecture | qwen2 |" in card
    assert "| Parameters | 864 (864) |" in card and "| Context window | 32,768 |" in card
    assert (
        "| Precision | 2 GGUF quantizations: Q4_K_M (qwen2.5-7b-instruct-q4_k_m.gguf), Q8_0 "
        "(qwen2.5-7b-instruct-q8_0.gguf) (GGUF headers: general.file_type) |" in card
    )
    assert "- Weights: 2 GGUF files, header read (tensor data not read)." in card
    assert "- Architecture: no config.json: the architecture is read from the GGUF headers" in card
    assert "| Layers | 2 |" in card and "| Attention heads (key/value) | 4 (2) |" in card
    assert "| Vocabulary | 100 |" in card
    assert (
        "| GGUF file | `qwen2.5-7b-instruct-q8_0.gguf`: Q8_0, 864 parameters in 2 tensors |" in card
    )
    assert "| Chat template | yes, in `qwen2.5-7b-instruct-q4_k_m.gguf`" in card
    assert "base_model: Qwen/Qwen2.5-7B-Instruct" in card  # the author's front matter is kept
    jsonschema.validate(data, SCHEMA)
    assert data["architecture"]["source"].endswith("(GGUF headers)")
    assert data["gguf"]["shared"]["context_length"] == 32768
    assert [m["quantization"] for m in data["gguf"]["models"]] == ["Q4_K_M", "Q8_0"]
    assert data["parameters"]["total"] == 864
    sections = data["model_documentation"]["sections"]
    (item,) = [i for s in sections for i in s["items"] if i["key"] == "architecture"]
    assert item["source"].endswith("(GGUF headers): general.architecture")


def test_one_file_is_named_as_the_source(tmp_path: Path) -> None:
    from modelcards.render.gguf_context import gguf_architecture

    write_gguf(tmp_path / "model-q4_k_m.gguf")
    arch = gguf_architecture(inspect_snapshot(open_folder(tmp_path, project_root=tmp_path.parent)))
    assert arch["source"] == "model-q4_k_m.gguf (GGUF header)"
    assert arch["precision"] == {
        "text": "Q4_K_M (GGUF)",
        "source": "model-q4_k_m.gguf (GGUF header): general.file_type",
    }


def test_init_finds_gguf_only_root_subfolders_and_skips_copies(tmp_path: Path) -> None:
    write_gguf(tmp_path / "qwen" / "model-q4_k_m.gguf")
    (tmp_path / "qwen" / "README.md").write_text(README)
    write_gguf(tmp_path / "tuned" / "gguf" / "model-q8_0.gguf", 7)  # an export of tuned
    (tmp_path / "tuned" / "config.json").write_text('{"model_type": "qwen2"}')
    (tmp_path / "tuned" / "model.bin").write_bytes(b"")  # .bin alone makes no model
    (tmp_path / "pickles").mkdir()
    (tmp_path / "pickles" / "pytorch_model.bin").write_bytes(b"")
    found = discover(tmp_path)
    assert [m.path for m in found.models] == ["qwen", "tuned"]
    qwen = found.models[0]
    assert qwen.base.id == "Qwen/Qwen2.5-7B-Instruct"  # the README's base is trusted first
    assert qwen.evidence[0].startswith("taken as a model by its weight files (model-q4_k_m.gguf)")
    assert any("a GGUF header's general.base_model is the lineage" in e for e in qwen.evidence)
    (skipped,) = found.skipped
    assert (skipped.path, skipped.kind) == ("tuned/gguf", "weights-copy")
    assert "inside the folder of the model in tuned" in skipped.reason

    root = tmp_path / "root-only"
    write_gguf(root / "model.gguf")
    assert [m.path for m in discover(root).models] == ["."]


def test_gguf_lineage_is_a_base_candidate(tmp_path: Path) -> None:
    write_gguf(tmp_path / "model-q4_k_m.gguf")
    (guess,) = discover(tmp_path).models
    assert guess.base.kind == "hub" and guess.base.id == "Qwen/Qwen2.5-7B"
    assert (
        "from model-q4_k_m.gguf general.base_model.0.repo_url = "
        "https://huggingface.co/Qwen/Qwen2.5-7B (normalised to Qwen/Qwen2.5-7B)"
    ) in guess.evidence


def _header(version: int, tensors: int, kvs: int, body: bytes = b"") -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs) + body + bytes(64)


def _kv(key: str, vtype: int, payload: bytes) -> bytes:
    raw = key.encode()
    return struct.pack("<Q", len(raw)) + raw + struct.pack("<I", vtype) + payload


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_header(3, 2**60, 0), "tensor count 1,152,921,504,606,846,976 is more than the file"),
        (_header(3, 0, 2**40), "metadata key count"),
        (_header(3, 0, 1, _kv("general.name", 8, struct.pack("<Q", 2**62))), "runs past the end"),
        (_header(3, 0, 1, _kv("x", 9, struct.pack("<IQ", 8, 2**50))), "more than the file holds"),
        (_header(3, 0, 1, _kv("x", 99, b"")), "unknown value type 99"),
        (_header(3, 1, 0, struct.pack("<Q", 1) + b"w" + struct.pack("<I2Q", 2, 2**40, 2**40)),
         "has more elements than the file can hold"),
        (_header(7, 0, 0), "unsupported GGUF version 7"),
    ],
)  # fmt: skip
def test_hostile_header_is_a_note_and_the_facts_left_out(
    tmp_path: Path, data: bytes, says: str
) -> None:
    (tmp_path / "model.gguf").write_bytes(data)
    facts = inspect_snapshot(open_folder(tmp_path, project_root=tmp_path.parent))
    assert facts.gguf == ()
    (note,) = facts.notes
    assert note.startswith("model.gguf: GGUF header not read: ") and says in note, note
    (guess,) = discover(tmp_path).models  # init takes the folder and says what it could not read
    assert f"skipped: {note}" in guess.evidence


def test_values_of_the_wrong_type_are_left_out(tmp_path: Path) -> None:
    kind = gguf.GGUFValueType
    writer = gguf.GGUFWriter(str(tmp_path / "model.gguf"), "qwen2")
    writer.add_key_value("qwen2.context_length", "32768", kind.STRING)  # a string, not a count
    writer.add_key_value("qwen2.block_count", True, kind.BOOL)
    writer.add_key_value("qwen2.embedding_length", -8, kind.INT32)
    writer.add_array("qwen2.attention.head_count", [4, 4])  # per layer: no single count
    writer.add_key_value("general.base_model.count", "1", kind.STRING)
    writer.add_tensor("w", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    facts = inspect_snapshot(open_folder(tmp_path, project_root=tmp_path.parent))
    (header,) = facts.gguf
    assert (header.architecture, header.parameters, header.file_type) == ("qwen2", 4, None)
    assert header.context_length is None and header.block_count is None
    assert header.embedding_length is None and header.head_count is None
    assert header.base_models == () and facts.notes == ()


def test_split_shards_are_one_model(tmp_path: Path) -> None:
    u16, u32 = gguf.GGUFValueType.UINT16, gguf.GGUFValueType.INT32
    for number in (0, 1):
        write_gguf(
            tmp_path / f"model-q4_k_m-0000{number + 1}-of-00002.gguf",
            **{"split.no": (number, u16), "split.count": (2, u16), "split.tensors.count": (4, u32)},
        )
    facts = inspect_snapshot(open_folder(tmp_path, project_root=tmp_path.parent))
    assert shared_facts(facts.gguf)["parameters"] == 2 * 864


def test_a_gguf_quantization_of_a_safetensors_base_is_quantized(tmp_path: Path) -> None:
    from modelcards.compare import relation
    from modelfiles import llama_config, llama_tensors, make_model

    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    write_gguf(tmp_path / "tuned" / "model-q4_k_m.gguf")
    write_gguf(tmp_path / "f16" / "model-f16.gguf", 1)  # a conversion, not a quantization
    base, tuned, f16 = (
        inspect_snapshot(open_folder(tmp_path / n, project_root=tmp_path))
        for n in ("base", "tuned", "f16")
    )
    assert relation(base, tuned) == "quantized" and relation(base, f16) == "finetune"
    assert tuned.gguf_quantization == "model-q4_k_m.gguf" and f16.gguf_quantization is None


def test_a_read_limit_is_a_note_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelcards.inspect import gguf_header

    monkeypatch.setattr(gguf_header, "MAX_STRINGS", 10)  # the 100-token vocabulary is over it
    write_gguf(tmp_path / "model.gguf")
    facts = inspect_snapshot(open_folder(tmp_path, project_root=tmp_path.parent))
    assert facts.gguf == () and facts.notes == (
        "model.gguf: GGUF header not read: more than 10 strings in the metadata",
    )
