"""The EU documents drafted from the files: the Model Documentation Form and the public summary of
training content. Every filled item names a source that exists; the size bands and the memory
estimate are worked out here by hand; a model without training records says why each training
item is to be provided; the provider's statements come from `CardSubject.provider`; both
documents validate against their schemas, reach the Markdown files, the site and the BOM."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from modelcards.export.cyclonedx import build_bom
from modelcards.history import ProjectGit
from modelcards.project.build import build_project, model_inputs, prepare
from modelcards.project.config import load_config
from modelcards.project.state import model_state
from modelcards.render import ModelInputs, build_context
from modelcards.render.eu_figures import kv_cache, parameter_band, token_band, weight_bytes
from modelcards.render.eu_markdown import document_markdown
from modelcards.render.provider_details import ProviderDetails, ProviderValue
from modelcards.render.training_content import dataset_category
from modelcards.safeio.hashcache import HashCache, default_cache_file
from modelfiles import REALCASES, llama_config, llama_tensors, make_model, write_json

SCHEMAS = Path(__file__).resolve().parents[1] / "modelcards" / "schema"
FORM_SCHEMA = json.loads((SCHEMAS / "model-documentation.schema.json").read_text())
SUMMARY_SCHEMA = json.loads((SCHEMAS / "training-content.schema.json").read_text())
BASE_PARAMS = 3360  # llama_tensors(): 40·16·2 + 2·(4·16·16 + 16), all F32
FILE_NAME = re.compile(r"[\w./-]+\.(?:json|jsonl|safetensors|bin|yaml|yml|md|txt)\b")
NOT_MODEL_FILES = {"modelcards.yml", "card.json"}  # the project's config; what build writes


def project_inputs(root: Path) -> list[ModelInputs]:
    """Each model's inputs to the render stage, as build makes them."""
    config = load_config(root)
    git = ProjectGit(config.root)
    cache = HashCache(default_cache_file())
    return [
        model_inputs(config, prepare(config, model_state(config, entry, cache, git), git))
        for entry in config.models
    ]


def items(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for s in document["sections"] for i in s["items"]}


def assert_sources_exist(document: dict[str, Any], folders: list[Path]) -> None:
    """Every file a filled item names is in the model's folder (or its base's)."""
    for item in items(document).values():
        if item["status"] != "filled":
            continue
        assert item["source"], item
        for name in FILE_NAME.findall(item["source"]):
            if name in NOT_MODEL_FILES:
                continue
            assert any((f / name).is_file() for f in folders), (item["key"], name, folders)


@pytest.fixture(scope="module")
def full_tune(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ModelInputs]]:
    """A full fine-tune of a local base: tokens counted, runtime recorded, a local and a Hub
    dataset named by its training config."""
    root = tmp_path_factory.mktemp("eu")
    make_model(root / "base", config=llama_config(), tensors=llama_tensors())
    tuned = make_model(root / "tuned", config=llama_config(), tensors=llama_tensors(seed=1),
                       generation={"max_new_tokens": 64},
                       readme="---\nlicense: mit\nlanguage: [en]\n---\n# tuned\n")  # fmt: skip
    write_json(tuned / "trainer_state.json", {"global_step": 10, "num_input_tokens_seen": 5000,
                                              "max_steps": 10})  # fmt: skip
    write_json(tuned / "train_results.json", {"train_runtime": 61.5, "epoch": 1.0})
    (tuned / "training_args.yaml").write_text(
        "stage: sft\nfinetuning_type: full\ndataset: acme/chats, notes.jsonl\n"
        "cutoff_len: 128\nlearning_rate: 1.0e-4\n"
    )
    (root / "modelcards.yml").write_text(
        "models:\n  - path: tuned\n    base: {path: base, id: acme/base}\n"
    )
    return root, project_inputs(root)


def test_figures_by_hand() -> None:
    assert [parameter_band(n) for n in (3360, 500_000_000, 500_000_001, 7_000_000_000,
                                        70_000_000_000, 2_000_000_000_000)] == [
        "up to 500M", "up to 500M", "500M–5B", "5B–15B", "50B–100B", ">1T"]  # fmt: skip
    assert [token_band(n) for n in (5000, 1e9, 1e9 + 1, 15e12)] == [
        "less than 1 billion tokens", "less than 1 billion tokens",
        "1 billion to 10 trillion tokens", "more than 10 trillion tokens"]  # fmt: skip
    assert weight_bytes({"F32": 10, "BF16": 4, "I8": 3}) == 40 + 8 + 3
    assert weight_bytes({"Q4_K": 10}) is None  # a dtype whose size we do not know: no figure
    cache = kv_cache(llama_config())
    assert (
        cache is not None and cache["bytes"] == 2 * 2 * 1 * 8 * 128 * 4
    )  # K,V·layers·kv·dim·ctx·fp32
    assert kv_cache({"model_type": "bert"}) is None


def test_full_fine_tune_form(full_tune: tuple[Path, list[ModelInputs]]) -> None:
    root, (inputs,) = full_tune
    context = build_context(inputs)
    form = items(context["model_documentation"])
    assert_sources_exist(context["model_documentation"], [root / "tuned", root / "base"])
    size = form["total_model_size"]
    assert size["status"] == "filled" and size["value"]["parameters"] == BASE_PARAMS
    assert size["value"]["band"] == "up to 500M"
    hardware = form["hardware"]["value"]
    assert form["hardware"]["status"] == "drafted"  # an estimate, for a person to confirm
    assert hardware["weights_bytes"] == BASE_PARAMS * 4  # F32
    assert hardware["kv_cache_bytes"] == 2 * 2 * 1 * (16 // 2) * 128 * 4
    assert hardware["total_bytes"] == BASE_PARAMS * 4 + 16384
    assert form["data_points"]["status"] == "filled"
    assert form["data_points"]["value"]["tokens"] == 5000
    assert (
        form["data_points"]["source"]
        == "D, input tokens seen: trainer_state.json:num_input_tokens_seen"
    )
    assert form["compute"]["status"] == "filled"  # 6·N·D with D counted: no range
    assert form["compute"]["value"]["flop"] == 6 * BASE_PARAMS * 5000
    assert form["compute"]["value"]["verdict"] == "below the indicative threshold"
    assert (
        form["training_time"]["value"].startswith("62 s") or "61" in form["training_time"]["value"]
    )
    assert form["training_time"]["source"] == "train_results.json:train_runtime"
    assert form["dependencies"]["value"]["model"] == "acme/base"
    assert form["licence"]["status"] == "filled" and form["licence"]["value"]["license"] == "mit"
    assert form["max_input"]["value"] == "128 tokens"
    assert form["max_output"]["status"] == "drafted"  # a default, not a limit
    assert form["software"]["value"] == {"Transformers": "4.40.0"}
    assert form["authenticity"]["status"] == "filled"
    assert "model.safetensors" in form["authenticity"]["value"]["sha256"]
    # only what the provider can say is asked of the provider, with the config key to use
    assert form["provider_name"]["status"] == "to_provide"
    assert "compliance.provider_name" in form["provider_name"]["needed"]
    assert form["training_energy"]["recipients"] == ["ai_office", "national_authorities"]
    assert form["architecture"]["recipients"] == ["ai_office", "national_authorities",
                                                  "downstream_providers"]  # fmt: skip
    jsonschema.validate(context["model_documentation"], FORM_SCHEMA)
    jsonschema.validate(context["training_content"], SUMMARY_SCHEMA)


def test_training_content_categories(full_tune: tuple[Path, list[ModelInputs]]) -> None:
    root, (inputs,) = full_tune
    summary = build_context(inputs)["training_content"]
    got = items(summary)
    assert_sources_exist(summary, [root / "tuned"])
    assert [d["name"] for d in got["public_datasets"]["value"]] == ["acme/chats"]
    assert (
        got["public_datasets"]["value"][0]["link"] == "https://huggingface.co/datasets/acme/chats"
    )
    assert got["public_datasets"]["source"] == "training_args.yaml:dataset"
    assert got["private_datasets"]["status"] == "drafted"  # named, to be described
    assert [d["name"] for d in got["private_datasets"]["value"]] == ["notes.jsonl"]
    assert got["training_data_size"]["value"]["band"] == "less than 1 billion tokens"
    assert got["languages"]["value"] == ["en"]
    assert got["illegal_content"]["status"] == "to_provide"
    assert {r for i in got.values() for r in i["recipients"]} == {"public"}
    assert [dataset_category(n) for n in ("org/set", "data.csv", "alpaca (local)",
                                          "acme/gpt4-synthetic", "alpaca_en_demo")] == [
        "public", "private", "private", "synthetic", "unknown"]  # fmt: skip


def test_provider_values_fill_their_items(full_tune: tuple[Path, list[ModelInputs]]) -> None:
    _, (inputs,) = full_tune
    given = ProviderDetails({
        "provider_name": ProviderValue("Acme AI GmbH", "compliance.provider_name"),
        "tdm_opt_out_policy": ProviderValue("robots.txt and TDMRep honoured",
                                            "models[0].compliance.tdm_opt_out_policy"),
    })  # fmt: skip
    context = build_context(replace(inputs, entry=replace(inputs.entry, provider=given)))
    form = items(context["model_documentation"])
    assert form["provider_name"]["status"] == "filled"
    assert form["provider_name"]["value"] == "Acme AI GmbH"
    assert form["provider_name"]["source"] == "modelcards.yml compliance.provider_name"
    assert form["market_date"]["status"] == "to_provide"
    tdm = items(context["training_content"])["tdm_opt_out_policy"]
    assert tdm["value"] == "robots.txt and TDMRep honoured"
    assert tdm["source"] == "modelcards.yml models[0].compliance.tdm_opt_out_policy"


def test_markdown_is_escaped_and_written_beside_the_card(
    full_tune: tuple[Path, list[ModelInputs]],
) -> None:
    root, (inputs,) = full_tune
    context = build_context(inputs)
    hostile = json.loads(json.dumps(context["training_content"]))
    hostile["sections"][1]["items"][0]["value"] = [{"name": "[x](javascript:alert(1)) | # h"}]
    text = document_markdown(hostile)
    assert "[x](" not in text and "\\[x\\](javascript" in text and "\\| \\# h" in text
    report = build_project(load_config(root), cache=HashCache(default_cache_file()), site=False)
    written = {Path(p).name for p in report.written}
    assert {"MODEL-DOCUMENTATION.md", "TRAINING-CONTENT.md"} <= written
    form = (root / "tuned" / "MODEL-DOCUMENTATION.md").read_text()
    assert form == document_markdown(json.loads((root / "tuned/card.json").read_text())[
        "model_documentation"])  # fmt: skip
    assert "| 2.9 | Total model size" in form and "3,360 parameters (size range up to 500M)" in form
    again = build_project(
        load_config(root), cache=HashCache(default_cache_file()), site=False
    )  # unchanged: the same bytes, unwritten
    assert not {Path(p).name for p in again.written} & {"MODEL-DOCUMENTATION.md"}
    bom = build_bom(json.loads((root / "tuned/card.json").read_text()))
    props = {p["name"]: p["value"] for p in bom["components"][0]["modelCard"]["properties"]}
    assert props["modelcards:eu:total_model_size"] == "3,360 parameters (size range up to 500M)"
    assert "provider_name" in props["modelcards:eu:to_provide"].split(", ")


# -- the real cases ---------------------------------------------------------------------------

needs_realcases = pytest.mark.skipif(not REALCASES.is_dir(), reason="no ../shared/realcases")
REAL = {  # case → (folder inside it, the base its records name)
    "hf-trainer-whisper-large-v2-ja": (".", "openai/whisper-large-v2"),
    "llamafactory-qwen3-14b-lora": (".", "Qwen/Qwen3-14B"),
    "axolotl-tinyllama-lora-out": ("outputs/lora-out", "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T"),
    "unsloth-llama31-8b-ros2-lora": ("ros2_model", "unsloth/meta-llama-3.1-8b-bnb-4bit"),
}  # fmt: skip


@pytest.fixture(scope="module")
def real_contexts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """Each real case copied into one project in tmp and read offline (its Hub base unread)."""
    if not REALCASES.is_dir():
        pytest.skip("no ../shared/realcases")
    root = tmp_path_factory.mktemp("real")
    lines = ["models:"]
    for case, (inner, base) in REAL.items():
        shutil.copytree(REALCASES / case / inner, root / case,
                        ignore=shutil.ignore_patterns("history", "git-log.tsv", "*.bin"))  # fmt: skip
        lines.append(f"  - path: {case}\n    base: {base}")
    (root / "modelcards.yml").write_text("\n".join(lines) + "\n")
    return {i.entry.path: (root / i.entry.path, build_context(i)) for i in project_inputs(root)}


@needs_realcases
def test_real_cases_trace_every_filled_item(real_contexts: dict[str, tuple[Path, dict]]) -> None:
    for folder, context in real_contexts.values():
        for key, schema in (("model_documentation", FORM_SCHEMA),
                            ("training_content", SUMMARY_SCHEMA)):  # fmt: skip
            jsonschema.validate(context[key], schema)
            assert_sources_exist(context[key], [folder])


@needs_realcases
def test_real_llamafactory_local_datasets_are_private(
    real_contexts: dict[str, tuple[Path, dict]],
) -> None:
    _, context = real_contexts["llamafactory-qwen3-14b-lora"]
    summary = items(context["training_content"])
    private = summary["private_datasets"]
    assert private["status"] == "drafted" and private["source"] == "training_args.yaml:dataset"
    assert {d["name"] for d in private["value"]} == {"tcm (local)", "mdk (local)", "NLI (local)"}
    assert summary["public_datasets"]["status"] == "to_provide"
    form = items(context["model_documentation"])
    assert form["compute"]["status"] == "filled"
    assert form["compute"]["value"]["flop"] == 2.0772363998572052e18
    assert form["compute"]["source"] == "total_flos: train_results.json:total_flos"
    assert form["training_process"]["status"] == "filled"
    state = json.loads((REALCASES / "llamafactory-qwen3-14b-lora/trainer_state.json").read_text())
    seen = form["data_points"]["value"]
    assert seen["tokens"] == state["num_input_tokens_seen"] < 1e9  # by hand: below 1 billion
    assert seen["band"] == "less than 1 billion tokens"


@needs_realcases
def test_real_trainer_record_gives_time_and_compute(
    real_contexts: dict[str, tuple[Path, dict]],
) -> None:
    _, context = real_contexts["hf-trainer-whisper-large-v2-ja"]
    form = items(context["model_documentation"])
    assert form["compute"]["value"]["flop"] == 5.27162132754432e20
    assert form["training_time"]["status"] == "filled"
    assert form["training_time"]["source"].endswith(":train_runtime")
    assert form["input_modalities"]["status"] == "filled"
    assert form["input_modalities"]["value"] == ["audio"]  # from the processor config
    # an encoder-decoder's limits are its positions (config.json: max_source_positions 1500,
    # max_target_positions 448), not the tokenizer's model_max_length (1024)
    assert form["max_input"]["value"] == "1500 encoder positions"
    assert form["max_input"]["source"] == "config.json: max_source_positions"
    assert form["max_output"]["value"] == "448 tokens (decoder positions)"
    assert form["max_output"]["status"] == "filled"


@needs_realcases
def test_real_model_without_records_says_why(real_contexts: dict[str, tuple[Path, dict]]) -> None:
    _, context = real_contexts["unsloth-llama31-8b-ros2-lora"]
    form = items(context["model_documentation"])
    for key in ("data_points", "compute", "training_time", "total_model_size", "hardware"):
        assert form[key]["status"] == "to_provide", key
        assert form[key]["needed"], key
    assert "no step count" in form["compute"]["needed"]
    assert "not every weight file" in form["total_model_size"]["needed"]  # LFS pointers
    summary = items(context["training_content"])
    assert summary["training_data_size"]["status"] == "to_provide"
    assert "num_input_tokens_seen" in summary["training_data_size"]["needed"]


def test_a_bare_model_without_base_or_records(tmp_path: Path) -> None:
    make_model(tmp_path / "bare", config=llama_config())  # no weights, no record, no base
    (tmp_path / "modelcards.yml").write_text("models:\n  - path: bare\n")
    (inputs,) = project_inputs(tmp_path)
    context = build_context(inputs)
    form, summary = items(context["model_documentation"]), items(context["training_content"])
    assert form["dependencies"]["status"] == "drafted" and form["dependencies"]["value"] == "N/A"
    for key in ("training_process", "data_points", "training_time", "compute", "hardware",
                "total_model_size", "data_provenance"):  # fmt: skip
        assert form[key]["status"] == "to_provide" and form[key]["needed"], key
    assert "no training record or config" in form["training_process"]["needed"]
    assert summary["base_summary"]["status"] == "drafted"  # N/A: not a modification
    jsonschema.validate(context["model_documentation"], FORM_SCHEMA)
    jsonschema.validate(context["training_content"], SUMMARY_SCHEMA)
