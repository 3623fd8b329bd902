"""The training compute of a fine-tune: each method's figure worked out by hand from the files,
its range, the verdict against one third of the original's compute, a lineage summed, the
`compliance:` config, and the real training records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from modelcards import api
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.facts import ModelFacts
from modelcards.project.build import render_project
from modelcards.project.config import load_config, parse_config
from modelcards.project.state import card_subject
from modelcards.publish.compliance import compliance
from modelcards.publish.site import site_pages
from modelcards.render import make_environment
from modelcards.render.compute_context import (
    FALLBACK_BASE_FLOP,
    DeclaredCompute,
    compute_json,
    verdict,
)
from modelcards.resolve import open_folder
from modelcards.safeio.errors import ConfigError
from modelfiles import REALCASES, llama_config, llama_tensors, make_model, write_json

BASE_PARAMS = sum(t.size for t in llama_tensors().values())  # 40·16·2 + 2·(4·16·16 + 16)
ADAPTER_PARAMS = 2 * 2 * (4 * 16 + 16 * 4)  # 2 layers × q,v × (A: r×hidden + B: hidden×r), r=4


def facts(folder: Path) -> ModelFacts:
    return inspect_snapshot(open_folder(folder))


def base_model(folder: Path) -> Path:
    return make_model(folder, config=llama_config(), tensors=llama_tensors())


def adapter_model(folder: Path, state: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "adapter_config.json", {
        "peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
        "base_model_name_or_path": "acme/base", "task_type": "CAUSAL_LM"})  # fmt: skip
    tensors = {}
    for i in range(2):
        for proj in ("q_proj", "v_proj"):
            stem = f"base_model.model.model.layers.{i}.self_attn.{proj}"
            tensors[f"{stem}.lora_A.weight"] = np.zeros((4, 16), dtype=np.float32)
            tensors[f"{stem}.lora_B.weight"] = np.zeros((16, 4), dtype=np.float32)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    if state is not None:
        write_json(folder / "trainer_state.json", state)
    return folder


def test_parameter_counts_the_formulas_use_are_the_headers() -> None:
    assert BASE_PARAMS == 40 * 16 * 2 + 2 * (4 * 16 * 16 + 16) == 3360
    assert ADAPTER_PARAMS == 512


def test_total_flos_is_used_where_the_trainer_recorded_it(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "trainer_state.json",
               {"global_step": 100, "total_flos": 1.5e15, "num_input_tokens_seen": 8000})  # fmt: skip
    got = compute_json(facts(tuned), facts(base_model(tmp_path / "base")))
    assert (got["method"], got["flop"], got["low"], got["high"]) == (
        "total_flos",
        1.5e15,
        1.5e15,
        1.5e15,
    )
    assert got["inputs"] == [{"name": "total_flos", "value": 1.5e15,
                              "source": "trainer_state.json:total_flos", "estimated": False}]  # fmt: skip


def test_a_checkpoints_total_flos_reaches_up_to_the_planned_steps(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "checkpoint-20/trainer_state.json",
               {"global_step": 20, "max_steps": 80, "total_flos": 2e15})  # fmt: skip
    got = compute_json(facts(tuned), None)
    assert got["inputs"][0]["source"] == "checkpoint-20/trainer_state.json:total_flos"
    assert (got["flop"], got["low"], got["high"]) == (2e15, 2e15, 2e15 * 80 / 20)
    assert any("20 of 80 planned steps" in n for n in got["notes"])


def test_adapter_formula_by_hand(tmp_path: Path) -> None:
    base = base_model(tmp_path / "base")
    lora = adapter_model(tmp_path / "lora", {"global_step": 10, "num_input_tokens_seen": 81920})
    got = compute_json(facts(lora), facts(base))
    n_total = BASE_PARAMS + ADAPTER_PARAMS  # the forward pass runs through base and adapter
    assert got["method"] == "adapter"
    assert got["flop"] == (4 * n_total + 2 * ADAPTER_PARAMS) * 81920 == 16512 * 81920
    assert got["low"] == got["high"] == got["flop"]
    sources = {row["name"]: row["source"] for row in got["inputs"]}
    assert sources["D, input tokens seen"] == "trainer_state.json:num_input_tokens_seen"
    assert sources["N_trainable, adapter parameters"].startswith("adapter safetensors headers")
    assert sources["N_total, base + adapter parameters"].startswith("base safetensors headers")
    # without the base's weights there is no N_total, and no figure
    alone = compute_json(facts(lora), None)
    assert alone["method"] is None and alone["flop"] is None
    assert "parameters unknown: base weights not read" in alone["notes"]


def test_full_fine_tune_formula_with_tokens_seen(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "trainer_state.json", {"global_step": 10, "num_input_tokens_seen": 5000})
    got = compute_json(facts(tuned), None)
    assert got["method"] == "full" and got["flop"] == 6 * 3360 * 5000 == 100_800_000
    assert [(r["name"], r["value"], r["source"]) for r in got["inputs"]] == [
        ("N, all parameters (all trained)", 3360, "safetensors headers (model.safetensors)"),
        ("D, input tokens seen", 5000, "trainer_state.json:num_input_tokens_seen"),
    ]
    assert got["verdict"] == "below the indicative threshold"


def test_steps_times_batch_times_sequence_length_and_its_range(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "trainer_state.json", {"global_step": 10})
    write_json(tuned / "training_args.json", {
        "per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
        "max_seq_length": 512})  # fmt: skip
    got = compute_json(facts(tuned), None)
    assert got["method"] == "full" and got["flop"] == 6 * 3360 * (10 * 4 * 2 * 512)
    # packing not stated: 512 is an upper bound per sequence; devices not stated: assumed 1
    assert got["low"] is None and got["high"] is None
    rows = {r["name"]: r for r in got["inputs"]}
    assert rows["steps done"]["source"] == "trainer_state.json:global_step"
    assert rows["batch per device"]["source"] == "training_args.json:per_device_train_batch_size"
    assert (
        rows["gradient accumulation"]["source"] == "training_args.json:gradient_accumulation_steps"
    )
    assert rows["devices"] == {"name": "devices", "value": 1, "source": "not stated: 1 assumed",
                               "estimated": True}  # fmt: skip
    assert rows["sequence length"]["estimated"] is True
    assert got["verdict"].startswith("not determined")
    # with the total batch and packing stated, the figure is bounded on both sides
    write_json(tuned / "training_args.json", {
        "per_device_train_batch_size": 4, "max_seq_length": 512, "packing": True,
        "gradient_accumulation_steps": 2})  # fmt: skip
    (tuned / "README.md").write_text(
        "### Training hyperparameters\n\nThe following hyperparameters were used during training:\n"
        "- num_devices: 3\n- total_train_batch_size: 24\n"
    )
    packed = compute_json(facts(tuned), None)
    assert packed["flop"] == packed["low"] == packed["high"] == 6 * 3360 * (10 * 24 * 512)
    rows = {r["name"]: r for r in packed["inputs"]}
    assert (
        rows["total batch (sequences per step)"]["source"] == "README.md (Training hyperparameters)"
    )
    assert rows["packing"]["source"] == "training_args.json:packing"
    # without a sequence length there is no D
    write_json(tuned / "training_args.json", {"per_device_train_batch_size": 4})
    (tuned / "README.md").unlink()
    none = compute_json(facts(tuned), None)
    assert none["method"] is None and "no sequence length in the training recipe" in none["notes"]


def test_verdict_against_a_configured_base_compute_and_the_fallback(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "trainer_state.json", {"global_step": 1, "total_flos": 4e21})
    declared = DeclaredCompute(flop=1e22, source="the base's card", where="models[0].compliance")
    got = compute_json(facts(tuned), None, declared=declared)
    assert got["base_compute"] == {"flop": 1e22, "kind": "config",
                                   "source": "the base's card (models[0].compliance)"}  # fmt: skip
    assert got["threshold_flop"] == pytest.approx(1e22 / 3)
    assert got["verdict"] == "above the indicative threshold"  # 4e21 > 3.33e21
    fallback = compute_json(facts(tuned), None)
    assert fallback["base_compute"]["kind"] == "fallback"
    assert fallback["threshold_flop"] == pytest.approx(FALLBACK_BASE_FLOP / 3)  # 3.3e22
    assert fallback["verdict"] == "below the indicative threshold"
    cited = compute_json(facts(tuned), None, original_id="meta-llama/Llama-3.1-405B")
    assert (
        cited["base_compute"]["flop"] == 3.8e25 and "2407.21783" in cited["base_compute"]["source"]
    )
    assert verdict(1.0, 5.0, 3.0) == "not determined: the range reaches across the threshold"
    assert verdict(None, 3.0, 3.0) == "below the indicative threshold"  # "more than" ⅓ is above


def project(tmp_path: Path, extra: str = "", sft: str = "") -> Path:
    base_model(tmp_path / "base")
    sft_folder = base_model(tmp_path / "sft")
    write_json(sft_folder / "trainer_state.json", {"global_step": 5, "total_flos": 7e20})
    adapter_model(tmp_path / "lora", {"global_step": 10, "num_input_tokens_seen": 81920})
    (tmp_path / "modelcards.yml").write_text(
        f"{extra}site: {{enabled: false}}\nmodels:\n"
        f"  - path: sft\n    base: {{path: base, id: acme/base}}\n{sft}"
        "  - path: lora\n    base: {path: sft, id: acme/sft}\n"
    )
    return tmp_path


def card_json(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "card.json").read_text())


def test_a_lineage_is_summed_and_shown_both_ways(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        sft="    compliance:\n      base_training_flop: {flop: 3e21, source: acme paper}\n",
    )
    api.build(root, site=False)
    sft, lora = card_json(root / "sft")["compute"], card_json(root / "lora")["compute"]
    assert (
        sft["verdict"] == "below the indicative threshold" and sft["lineage"] is None
    )  # 7e20 < 1e21
    own = (4 * (3360 + 512) + 2 * 512) * 81920  # the lora step: the sft model is its (full) base
    assert lora["method"] == "adapter" and lora["flop"] == own
    # the original (acme/base) is the reference for both: its compute is configured on sft
    assert lora["base_compute"]["source"] == "acme paper (models[0].compliance.base_training_flop)"
    lineage = lora["lineage"]
    assert [s["model"] for s in lineage["steps"]] == ["sft", None]
    assert lineage["flop"] == 7e20 + own and lineage["verdict"] == "below the indicative threshold"
    # shown on the site's compliance section, both ways
    config = load_config(root)
    pages = site_pages(config, render_project(config), make_environment(config.templates))
    report = pages["modelcards-site/docs/models/lora/report.md"]
    section = report.split("### Fine-tuning compute")[1].split("### NIST")[0]
    assert f"**{own:.3g} FLOP**, by (4·N_total + 2·N_trainable)·D, adapter training." in section
    assert (
        "| D, input tokens seen | 81,920 | `trainer_state.json:num_input_tokens_seen` |" in section
    )
    assert "This fine-tune is **below the indicative threshold**" in section
    assert "(sft, 7e+20 FLOP), the lineage used **7e+20 FLOP**: **below the indicative" in section
    assert compliance(card_json(root / "lora"), "")["compute"] == lora


def test_base_compute_by_base_id_and_lineage_verdict_above(tmp_path: Path) -> None:
    # one third of 2.100000000003e21 is 7e20 + 1e9: the sft step (7e20) stays below it, the
    # lineage (7e20 + 1.35e9, the lora step added) goes above: the two readings differ
    root = project(tmp_path, extra="compliance:\n  base_training_flop:\n"
                   "    acme/base: {flop: '2.100000000003e21', source: acme card}\n")  # fmt: skip
    api.build(root, site=False)
    sft, lora = card_json(root / "sft")["compute"], card_json(root / "lora")["compute"]
    assert sft["base_compute"]["flop"] == lora["base_compute"]["flop"] == 2.100000000003e21
    assert sft["base_compute"]["source"] == "acme card (compliance.base_training_flop.acme/base)"
    assert sft["verdict"] == lora["verdict"] == "below the indicative threshold"
    assert lora["lineage"]["flop"] == 7e20 + 16512 * 81920
    assert lora["lineage"]["verdict"] == "above the indicative threshold"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("compliance:\n  base_training_flop:\n    acme/base: {flop: 1e23}\n", "missing `source`"),
        (
            "compliance:\n  base_training_flop:\n    acme/base: {flop: -3, source: x}\n",
            "expected a positive number of FLOP",
        ),  # fmt: skip
        (
            "compliance:\n  base_training_flop:\n    acme/base: {flop: lots, source: x}\n",
            "expected a positive number of FLOP",
        ),  # fmt: skip
        (
            "compliance:\n  base_training_flop:\n    acme/base: {flop: .inf, source: x}\n",
            "expected a positive number of FLOP",
        ),  # fmt: skip
        ("compliance:\n  base_training_flop: 1e23\n", "expected a mapping of base ids"),
        ("compliance:\n  base_trainig_flop: {}\n", "did you mean 'base_training_flop'"),
        (
            "compliance:\n  base_training_flop:\n    acme/base: {flop: 1, source: x, by: y}\n",
            "unknown key",
        ),  # fmt: skip
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "modelcards.yml").write_text(yaml_text + "models:\n  - path: m\n")
    with pytest.raises(ConfigError) as error:
        api.load_project(tmp_path)
    assert message in str(error.value) and "modelcards.yml" in str(error.value)


def test_config_per_model_value_is_parsed() -> None:
    raw = {"models": [{"path": ".", "compliance": {"base_training_flop": {
        "flop": "3.8e25", "source": "Llama 3 paper"}}}]}  # fmt: skip
    config = parse_config(raw, root=Path("/tmp"), file="modelcards.yml")
    assert config.models[0].base_training_flop == DeclaredCompute(
        flop=3.8e25, source="Llama 3 paper", where="models[0].compliance.base_training_flop"
    )
    with pytest.raises(ConfigError, match="missing `flop`"):
        parse_config({"models": [{"path": ".", "compliance": {"base_training_flop": {
            "source": "x"}}}]}, root=Path("/tmp"), file="modelcards.yml")  # fmt: skip


# -- the real cases ---------------------------------------------------------------------------

needs_realcases = pytest.mark.skipif(
    not REALCASES.is_dir(), reason="../shared/realcases is not present beside this checkout"
)
REAL = {  # case → (method, figure, the file:key it is read from)
    "hf-trainer-whisper-large-v2-ja": ("total_flos", 5.27162132754432e20, "trainer_state.json:total_flos"),
    "llamafactory-qwen3-14b-lora": ("total_flos", 2.0772363998572052e18, "train_results.json:total_flos"),
    "axolotl-tinyllama-lora-out/outputs/lora-out": (
        "total_flos", 3.333665568325632e16, "checkpoint-20/trainer_state.json:total_flos"),
    "peft-lora-yandexgpt5-lite-8b": ("total_flos", 1.2380986071554458e17, "trainer_state.json:total_flos"),
}  # fmt: skip


@needs_realcases
@pytest.mark.parametrize("case", sorted(REAL))
def test_real_training_records(case: str) -> None:
    got = compute_json(facts(REALCASES / case), None)
    method, figure, source = REAL[case]
    assert got["method"] == method and got["flop"] == figure
    assert [r["source"] for r in got["inputs"]] == [source]
    assert all(r["source"] for r in got["inputs"])
    assert got["verdict"] == "below the indicative threshold"  # against the 3.3e22 fallback


@needs_realcases
def test_real_axolotl_checkpoint_is_a_quarter_of_the_run() -> None:
    got = compute_json(facts(REALCASES / "axolotl-tinyllama-lora-out/outputs/lora-out"), None)
    assert got["high"] == pytest.approx(3.333665568325632e16 * 80 / 20)  # 20 of 80 steps


@needs_realcases
def test_real_unsloth_adapter_without_a_record_says_why() -> None:
    got = compute_json(facts(REALCASES / "unsloth-llama31-8b-ros2-lora/ros2_model"), None)
    assert got["method"] is None and got["flop"] is None and got["inputs"] == []
    assert "parameters unknown: adapter weights not read" in got["notes"]  # LFS pointers
    assert got["verdict"] == "not determined: the compute is not known from the files"


def test_planned_steps_give_no_lower_bound(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "training_args.json", {
        "max_steps": 50, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1,
        "max_seq_length": 256, "packing": True})  # fmt: skip
    (tuned / "README.md").write_text(
        "### Training hyperparameters\n\nThe following hyperparameters were used during training:\n"
        "- num_devices: 1\n"
    )
    got = compute_json(facts(tuned), None)
    assert got["flop"] == got["high"] == 6 * 3360 * 50 * 2 * 256 and got["low"] is None
    rows = {r["name"]: r for r in got["inputs"]}
    assert rows["steps planned"] == {"name": "steps planned", "value": 50, "estimated": True,
                                     "source": "training_args.json:max_steps"}  # fmt: skip


def test_tokens_counted_up_to_a_checkpoint_reach_up_to_the_planned_steps(tmp_path: Path) -> None:
    tuned = base_model(tmp_path / "tuned")
    write_json(tuned / "checkpoint-30/trainer_state.json",
               {"global_step": 30, "max_steps": 90, "num_input_tokens_seen": 3000})  # fmt: skip
    got = compute_json(facts(tuned), None)
    assert got["method"] == "full" and got["flop"] == got["low"] == 6 * 3360 * 3000
    assert got["high"] == 6 * 3360 * 3000 * 3


def test_lineage_of_the_config_follows_folders_and_stops_on_a_cycle(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    raw = {"compliance": {"base_training_flop": {"acme/root": {"flop": 1e24, "source": "card"}}},
           "models": [{"path": "a", "base": {"path": "base", "id": "acme/root"}},
                      {"path": "b", "base": {"path": "./a", "id": "acme/a"}},
                      {"path": "c", "base": {"path": "b/", "id": "acme/b"}}]}  # fmt: skip
    (tmp_path / "base").mkdir()
    config = parse_config(raw, root=tmp_path, file="modelcards.yml")
    subjects = [card_subject(config, m) for m in config.models]
    assert [s.parent for s in subjects] == [None, "a", "b"]
    assert {s.original_base for s in subjects} == {"acme/root"}
    assert all(s.base_compute and s.base_compute.flop == 1e24 for s in subjects)
    loop = parse_config({"models": [{"path": "a", "base": "b"}, {"path": "b", "base": "a"}]},
                        root=tmp_path, file="modelcards.yml")  # fmt: skip
    assert [card_subject(loop, m).parent for m in loop.models] == ["b", "a"]
