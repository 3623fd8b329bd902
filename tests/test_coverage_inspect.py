"""Partial checkouts: inspect answers with what it read and its coverage, never with an error.

Real safetensors files, real Git-LFS pointer files written as text, real training records, and
the real partial checkouts under ../shared/realcases where they exist.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from modelcards.compare import compare
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.facts import MAX_NON_FINITE, ModelFacts
from modelcards.resolve import open_folder
from modelcards.safeio.errors import InspectError
from modelcards.safeio.jsonfile import json_safe, loads_strict
from modelfiles import llama_config, llama_tensors, make_model, write_json

SHARD_1 = "model-00001-of-00002.safetensors"
SHARD_2 = "model-00002-of-00002.safetensors"


def pointer_text(oid_char: str = "a", size: int = 5_000_000_000) -> str:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid_char * 64}\nsize {size}\n"


def facts_of(folder: Path) -> ModelFacts:
    return inspect_snapshot(open_folder(folder, project_root=folder.parent))


def split_tensors(tensors: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], ...]:
    """Layer 0 and the embeddings in shard 1, the rest in shard 2 (as HF's sharding would)."""
    first = {k: v for k, v in tensors.items() if "layers.0." in k or "embed_tokens" in k}
    return first, {k: v for k, v in tensors.items() if k not in first}


def sharded_model(
    folder: Path,
    tensors: dict[str, np.ndarray] | None = None,
    *,
    keep: tuple[str, ...] = (SHARD_1, SHARD_2),
    pointers: tuple[str, ...] = (),
    oids: str = "bc",
) -> dict[str, str]:
    """A two-shard safetensors model; shards not in `keep` are deleted, `pointers` are LFS text."""
    make_model(folder, config=llama_config())
    shards = split_tensors(tensors if tensors is not None else llama_tensors())
    weight_map = {}
    for name, part in zip((SHARD_1, SHARD_2), shards, strict=True):
        weight_map.update(dict.fromkeys(part, name))
        if name in pointers:
            (folder / name).write_text(pointer_text(oids[0] if name == SHARD_1 else oids[1]))
        elif name in keep:
            save_file(part, str(folder / name), metadata={"format": "pt"})
    write_json(
        folder / "model.safetensors.index.json",
        {"metadata": {"total_size": 1}, "weight_map": weight_map},
    )
    return weight_map


# --- weight files and indexes ------------------------------------------------------------------


def test_one_of_two_shards_present_is_a_partial_answer_with_deterministic_coverage(
    tmp_path: Path,
) -> None:
    weight_map = sharded_model(tmp_path / "m", keep=(SHARD_2,))
    facts = facts_of(tmp_path / "m")
    coverage = facts.weights.coverage
    assert coverage.expected == (SHARD_1, SHARD_2)
    assert coverage.read == (SHARD_2,)
    assert coverage.missing == (SHARD_1,)
    assert coverage.pointers == () and coverage.opaque == ()
    assert coverage.indexes == ("model.safetensors.index.json",)
    assert coverage.state == "partial" and coverage.names_known
    assert not coverage.tensors_complete
    assert coverage.unseen_tensors == {k for k, v in weight_map.items() if v == SHARD_1}
    assert set(facts.weights.tensors) == {k for k, v in weight_map.items() if v == SHARD_2}
    assert facts.weights.files == (SHARD_2,)
    assert facts_of(tmp_path / "m").weights.coverage == coverage  # same answer every time


def test_missing_shards_are_listed_sorted_however_the_index_orders_them(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    names = [f"model-0000{i}-of-00005.safetensors" for i in (5, 3, 1, 4, 2)]
    save_file({"w": np.zeros(2, dtype=np.float32)}, str(folder / names[-1]))
    write_json(
        folder / "model.safetensors.index.json",
        {"weight_map": {f"t{i}": n for i, n in enumerate(names[:-1])} | {"w": names[-1]}},
    )
    coverage = facts_of(folder).weights.coverage
    assert coverage.missing == tuple(sorted(names[:-1]))
    assert coverage.unseen_tensors == {"t0", "t1", "t2", "t3"}


def test_real_partial_shards_pygmalion(realcases: Path) -> None:
    folder = realcases / "partial-shards-pygmalion-7b"
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    facts = inspect_snapshot(open_folder(folder))
    coverage = facts.weights.coverage
    assert coverage.missing == ("model-00001-of-00002.safetensors",)
    assert coverage.pointers == ("model-00002-of-00002.safetensors",)
    assert coverage.read == () and coverage.state == "partial"
    assert coverage.unseen_tensors == set(weight_map) and len(weight_map) == 323
    assert [w.file for w in facts.weights.opaque] == ["model-00002-of-00002.safetensors"]
    assert facts.weights.tensors == {}
    assert facts.config is not None and facts.config["model_type"] == "llama"


def test_bin_index_with_a_missing_shard(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    (folder / "pytorch_model-00001-of-00002.bin").write_bytes(b"PK\x03\x04 never unpickled")
    write_json(
        folder / "pytorch_model.bin.index.json",
        {
            "weight_map": {
                "a.weight": "pytorch_model-00001-of-00002.bin",
                "b.weight": "pytorch_model-00002-of-00002.bin",
            }
        },
    )
    coverage = facts_of(folder).weights.coverage
    assert coverage.missing == ("pytorch_model-00002-of-00002.bin",)
    assert coverage.opaque == ("pytorch_model-00001-of-00002.bin",)
    assert coverage.indexes == ("pytorch_model.bin.index.json",)
    assert coverage.unseen_tensors == {"b.weight"}
    assert coverage.read == () and not coverage.names_known


def test_a_missing_bin_shard_beside_complete_safetensors_hides_no_tensor(tmp_path: Path) -> None:
    tensors = llama_tensors()
    folder = make_model(tmp_path / "m", config=llama_config(), tensors=tensors)
    write_json(
        folder / "pytorch_model.bin.index.json",
        {"weight_map": dict.fromkeys(tensors, "pytorch_model-00001-of-00002.bin")},
    )
    coverage = facts_of(folder).weights.coverage
    assert coverage.missing == ("pytorch_model-00001-of-00002.bin",)
    assert coverage.unseen_tensors == frozenset()  # every one was read from model.safetensors
    assert coverage.tensors_complete


def test_real_history_llama2_both_indexes_all_pointers(realcases: Path) -> None:
    folder = realcases / "history-llama2-7b-hf-base"
    maps = [
        json.loads((folder / name).read_text())["weight_map"]
        for name in ("model.safetensors.index.json", "pytorch_model.bin.index.json")
    ]
    coverage = inspect_snapshot(open_folder(folder)).weights.coverage
    assert coverage.indexes == ("model.safetensors.index.json", "pytorch_model.bin.index.json")
    assert coverage.pointers == (
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "pytorch_model-00001-of-00002.bin",
        "pytorch_model-00002-of-00002.bin",
    )
    assert coverage.expected == coverage.pointers
    assert coverage.missing == () and coverage.read == () and coverage.opaque == ()
    assert coverage.state == "pointers"
    assert coverage.unseen_tensors == set(maps[0]) | set(maps[1])


def test_a_folder_of_pointers_only(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    (folder / "model.safetensors").write_text(pointer_text("d", 123_456))
    facts = facts_of(folder)
    coverage = facts.weights.coverage
    assert coverage.pointers == ("model.safetensors",) and coverage.state == "pointers"
    assert not coverage.names_known and facts.weights.tensors == {}
    assert [(w.file, w.size, w.sha256) for w in facts.weights.opaque] == [
        ("model.safetensors", 123_456, "d" * 64)
    ]


def test_duplicate_tensors_across_shards_are_still_refused(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    for name in (SHARD_1, SHARD_2):
        save_file({"w": np.zeros(2, dtype=np.float32)}, str(folder / name))
    write_json(folder / "model.safetensors.index.json", {"weight_map": {"w": SHARD_1}})
    with pytest.raises(InspectError, match="also appears in"):
        facts_of(folder)


@pytest.mark.parametrize(
    ("index", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"weight_map": ["model.safetensors"]}, "no weight_map object"),
        ({"weight_map": {"w": 3}}, "not a file name"),
        ({"weight_map": {"w": "../outside/model.safetensors"}}, "escapes the model folder"),
        ({"weight_map": {"w": "sub/../../model.safetensors"}}, "escapes the model folder"),
        ({"weight_map": {"w": "/etc/passwd"}}, "is not a relative path"),
        ({"weight_map": {"w": "C:\\weights.bin"}}, "is not a relative path"),
        ({"weight_map": {"w": "a\nb.safetensors"}}, "is not a plain relative path"),
        ({"weight_map": {"w": "config.json"}}, "is not a weight file"),
    ],
)
def test_a_malformed_or_escaping_index_is_refused_in_one_line(
    tmp_path: Path, index: object, reason: str
) -> None:
    folder = make_model(tmp_path / "m", config=llama_config(), tensors=llama_tensors())
    write_json(folder / "model.safetensors.index.json", index)
    with pytest.raises(InspectError) as caught:
        facts_of(folder)
    message = str(caught.value)
    assert reason in message and "model.safetensors.index.json" in message
    assert "\n" not in message


# --- Git-LFS pointers for the files inspect reads ----------------------------------------------


def test_a_pointer_config_json_is_still_a_model(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", tensors=llama_tensors())
    (folder / "config.json").write_text(pointer_text())
    facts = facts_of(folder)
    assert facts.config is None and not facts.is_adapter
    assert facts.notes == (
        "config.json: only a Git-LFS pointer is present; run `git lfs pull` to read it",
    )
    assert facts.weights.coverage.read == ("model.safetensors",)


def test_a_pointer_adapter_config_is_still_an_adapter(tmp_path: Path) -> None:
    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(pointer_text())
    save_file(
        {"base_model.model.q_proj.lora_A.weight": np.zeros((4, 16), dtype=np.float32)},
        str(folder / "adapter_model.safetensors"),
    )
    facts = facts_of(folder)
    assert facts.is_adapter and facts.adapter is None and facts.config is None
    assert facts.notes == (
        "adapter_config.json: only a Git-LFS pointer is present; run `git lfs pull` to read it",
    )


def test_pointers_for_every_other_file_read_are_notes_not_errors(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config(), tensors=llama_tensors())
    names = ("README.md", "tokenizer.json", "tokenizer_config.json", "trainer_state.json")
    for name in names:
        (folder / name).write_text(pointer_text())
    (folder / "checkpoint-5").mkdir()
    (folder / "checkpoint-5" / "trainer_state.json").write_text(pointer_text())
    facts = facts_of(folder)
    assert facts.card is None and facts.tokenizer is None and facts.training is None
    assert facts.notes == tuple(
        f"{name}: only a Git-LFS pointer is present; run `git lfs pull` to read it"
        for name in sorted(("checkpoint-5/trainer_state.json", *names))
    )


def test_real_unsloth_adapter_with_a_pointer_tokenizer_json(realcases: Path) -> None:
    facts = inspect_snapshot(open_folder(realcases / "unsloth-llama31-8b-ros2-lora" / "ros2_model"))
    assert facts.is_adapter and facts.adapter is not None
    assert "tokenizer.json: only a Git-LFS pointer is present; run `git lfs pull` to read it" in (
        facts.notes
    )
    assert facts.tokenizer is not None and "tokenizer.json" not in facts.tokenizer.files
    assert facts.weights.coverage.pointers == ("adapter_model.safetensors",)


def test_no_config_at_all_is_still_not_a_model_folder(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "pytorch_model.bin").write_text(pointer_text())  # .bin alone: any pickle
    with pytest.raises(InspectError, match="not a model folder: no config.json, adapter_config"):
        facts_of(folder)


def test_a_safetensors_pointer_alone_makes_a_model_folder(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_text(pointer_text())
    facts = facts_of(folder)
    assert facts.config is None and facts.weights.coverage.state == "pointers"


# --- non-finite numbers ------------------------------------------------------------------------


def trainer_state(log: list[dict[str, object]], **extra: object) -> str:
    return json.dumps({"global_step": 130, "epoch": 1.0, "log_history": log, **extra})


def test_nan_and_infinity_in_trainer_state_are_read_and_listed(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    log = [
        {"step": 130, "loss": math.inf, "grad_norm": math.nan},
        {"step": 10, "loss": 1.5, "learning_rate": 1e-4},
        {"step": 120, "loss": math.nan, "grad_norm": math.nan},
        {"step": 120, "eval_loss": -math.inf, "loss": math.nan},  # the same step logged twice
    ]
    (folder / "trainer_state.json").write_text(trainer_state(log, best_metric=math.nan))
    (folder / "train_results.json").write_text(json.dumps({"train_loss": math.nan, "epoch": 1}))
    assert "NaN" in (folder / "trainer_state.json").read_text()  # as the Trainer writes it
    record = facts_of(folder).training
    assert record is not None
    assert record.non_finite == (
        "log_history step 120: grad_norm NaN",
        "log_history step 120: loss NaN",
        "log_history step 120: eval_loss -Infinity",
        "log_history step 130: grad_norm NaN",
        "log_history step 130: loss Infinity",
        "trainer_state.json: best_metric NaN",
        "train_results.json: train_loss NaN",
    )
    assert math.isnan(record.final_loss or 0.0)  # the last logged loss, in file order
    assert record.global_step == 130
    assert math.isnan(record.history[2].loss or 0.0)


def test_non_finite_entries_are_capped(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    log = [{"step": step, "loss": math.nan} for step in range(30, 0, -1)]
    (folder / "trainer_state.json").write_text(trainer_state(log))
    record = facts_of(folder).training
    assert record is not None and len(record.non_finite) == MAX_NON_FINITE
    assert record.non_finite[0] == "log_history step 1: loss NaN"
    assert record.non_finite[-1] == f"log_history step {MAX_NON_FINITE}: loss NaN"


def test_a_finite_real_training_record_lists_nothing(realcases: Path) -> None:
    record = inspect_snapshot(open_folder(realcases / "llamafactory-qwen3-14b-lora")).training
    assert record is not None and record.history and record.non_finite == ()


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("config.json", '{"model_type": "llama", "rope_theta": NaN}'),
        ("config.json", '{"model_type": "llama", "rope_theta": 1e999}'),
        ("tokenizer_config.json", '{"model_max_length": Infinity}'),
        ("model.safetensors.index.json", '{"metadata": {"total_size": NaN}, "weight_map": {}}'),
    ],
)
def test_non_finite_numbers_elsewhere_are_still_refused(
    tmp_path: Path, file: str, text: str
) -> None:
    folder = make_model(tmp_path / "m", config=llama_config())
    (folder / file).write_text(text)
    with pytest.raises(InspectError, match=rf"{file}: rejected JSON: .*(not valid JSON|overflows)"):
        facts_of(folder)


def test_json_safe_spells_non_finite_floats_as_strings() -> None:
    value = loads_strict(
        '{"a": [NaN, 1.5, {"b": -Infinity}], "c": Infinity, "d": "NaN", "e": 2}',
        file="trainer_state.json",
        allow_nonfinite=True,
    )
    safe = json_safe({**value, "t": (math.nan,)})
    assert safe == {
        "a": ["NaN", 1.5, {"b": "-Infinity"}],
        "c": "Infinity",
        "d": "NaN",
        "e": 2,
        "t": ["NaN"],
    }
    json.dumps(safe, allow_nan=False)  # strict JSON now
    with pytest.raises(InspectError, match="NaN is not valid JSON"):
        loads_strict('{"a": NaN}', file="x.json")


# --- compare respects coverage -----------------------------------------------------------------


def test_a_partial_tuned_model_does_not_report_its_unseen_tensors_as_removed(
    tmp_path: Path,
) -> None:
    sharded_model(tmp_path / "base")
    tuned_tensors = llama_tensors(seed=1)
    tuned_tensors["lm_head.weight"] = np.zeros((42, 16), dtype=np.float32)  # shard 2: read
    weight_map = sharded_model(tmp_path / "tuned", tuned_tensors, keep=(SHARD_2,))
    diff = compare(facts_of(tmp_path / "base"), facts_of(tmp_path / "tuned"))
    unseen = {k for k, v in weight_map.items() if v == SHARD_1}
    assert diff.weights.removed == () and diff.weights.added == ()
    assert [d.name for d in diff.weights.reshaped] == ["lm_head.weight"]
    keys = {c.key for c in diff.changes if c.area == "weights"}
    assert "tensors.removed" not in keys and "parameters" not in keys
    assert not any(name in c.meaning for c in diff.changes for name in unseen)
    coverage = diff.as_json()["weights"]["coverage"]
    assert coverage["tuned"]["missing"] == [SHARD_1]
    assert coverage["tuned"]["unseen_tensors"] == len(unseen)
    assert coverage["base"]["state"] == "complete"
    assert list(coverage["tuned"]) == sorted(coverage["tuned"])


def test_a_complete_tuned_model_still_reports_removed_tensors(tmp_path: Path) -> None:
    """The control for the test above: with nothing unseen, a removal is reported."""
    sharded_model(tmp_path / "base")
    tuned_tensors = llama_tensors()
    del tuned_tensors["model.layers.0.input_layernorm.weight"]
    sharded_model(tmp_path / "tuned", tuned_tensors)
    diff = compare(facts_of(tmp_path / "base"), facts_of(tmp_path / "tuned"))
    assert diff.weights.removed == ("model.layers.0.input_layernorm.weight",)
    assert any(c.key == "parameters" for c in diff.changes)


def test_a_shard_missing_on_one_side_is_not_a_removed_weight_file(tmp_path: Path) -> None:
    sharded_model(tmp_path / "base", pointers=(SHARD_1, SHARD_2))
    sharded_model(tmp_path / "tuned", pointers=(SHARD_2,), keep=(), oids="de")
    diff = compare(facts_of(tmp_path / "base"), facts_of(tmp_path / "tuned"))
    rows = {row["file"]: row for row in diff.weights.opaque_files}
    assert rows[SHARD_1]["status"] == "not compared"
    assert rows[SHARD_2]["status"] == "changed"  # different LFS oids
    assert {c.key for c in diff.changes if c.area == "weights"} == {f"files.{SHARD_2}"}


def test_an_adapter_without_weights_states_no_trainable_parameters(tmp_path: Path) -> None:
    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    adapter = tmp_path / "lora"
    write_json(
        adapter / "adapter_config.json",
        {"peft_type": "LORA", "r": 8, "target_modules": ["q_proj"], "task_type": "CAUSAL_LM"},
    )
    diff = compare(facts_of(tmp_path / "base"), facts_of(adapter))
    assert diff.relation == "adapter"
    assert diff.weights.adapter is None and diff.as_json()["weights"]["adapter"] is None
    assert diff.weights.opaque_files == ()
    assert not [c for c in diff.changes if c.area == "weights"]
    assert not any("trainable" in c.meaning or "parameter count" in c.meaning for c in diff.changes)


def test_an_adapter_of_pointers_vs_a_base_compares_no_weight_files(tmp_path: Path) -> None:
    base = make_model(tmp_path / "base", config=llama_config())
    (base / "pytorch_model.bin").write_text(pointer_text("e"))
    adapter = tmp_path / "lora"
    write_json(adapter / "adapter_config.json", {"peft_type": "LORA", "r": 8})
    (adapter / "adapter_model.safetensors").write_text(pointer_text("f"))
    diff = compare(facts_of(base), facts_of(adapter))
    assert diff.weights.adapter is None and diff.weights.opaque_files == ()
    assert not [c for c in diff.changes if c.area == "weights"]


def test_real_adapter_without_adapter_weights_vs_its_base(realcases: Path) -> None:
    diff = compare(
        inspect_snapshot(open_folder(realcases / "tinyllama-1.1b-chat-base")),
        inspect_snapshot(open_folder(realcases / "axolotl-tinyllama-lora-out/outputs/lora-out")),
    )
    assert diff.relation == "adapter" and diff.weights.adapter is None
    assert not [c for c in diff.changes if c.area == "weights"]
    json.dumps(diff.as_json(), allow_nan=False)
