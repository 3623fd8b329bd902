"""The training recipe: each reader on real files in tmp, the real cases, MC618 and the card.

`training_args.bin` fixtures are real pickles of a dataclass defined here at module level (a
pickle names its class by module and name, as the real file names transformers'), plain and
zipped the way torch.save writes them; transformers is not needed, and nothing is unpickled.
"""

from __future__ import annotations

import enum
import io
import json
import os
import pickle
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelcards.assess.lineage_rules import (
    recipe_base_findings,
    recipe_conflict_findings,
    same_base,
)
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.pickled_args import MAX_ARGS_BYTES, RefusedPickle, read_pickled_args
from modelcards.inspect.recipe import Recipe
from modelcards.inspect.recipe_keys import agrees
from modelcards.render.recipe_context import recipe_context, recipe_rows
from modelcards.resolve import open_folder
from modelcards.resolve.local import LocalSnapshot
from modelcards.resolve.snapshot import SourceRef
from modelfiles import (
    REALCASES,
    git,
    llama_config,
    llama_tensors,
    make_model,
    run_modelcards,
    write_json,
)

# -- fixtures: what a Trainer pickles ---------------------------------------------------------


class IntervalStrategy(enum.Enum):
    STEPS = "steps"
    EPOCH = "epoch"


class SchedulerType(enum.Enum):
    COSINE = "cosine"
    LINEAR = "linear"


@dataclass
class TrainingArguments:
    output_dir: str = "/workspace/runs/out"
    learning_rate: float = 2e-4
    lr_scheduler_type: SchedulerType = SchedulerType.COSINE
    warmup_ratio: float = 0.03
    warmup_steps: int = 0
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 4
    num_train_epochs: float = 6.0
    max_steps: int = -1
    bf16: bool = False
    fp16: bool = True
    optim: str = "paged_adamw_32bit"
    weight_decay: float = 0.01
    max_grad_norm: float = 0.3
    seed: int = 3407
    eval_strategy: IntervalStrategy = IntervalStrategy.STEPS
    save_strategy: IntervalStrategy = IntervalStrategy.STEPS  # the same member: a memo reference
    report_to: list[str] = field(default_factory=lambda: ["none"])
    blob: bytes = b"\x00\x01"  # pickled as _codecs.encode: left out, not a setting
    extra: Any = None


MARKER = Path("/tmp/modelcards-recipe-test-pwned")


class RunsCommand:
    """What a hostile file pickles: a call of os.system."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


class ForeignEnum:
    """A `cls('value')` call of a class from no training stack: not read as an enum."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path, ("/etc/passwd",))


def torch_zip(payload: bytes, stem: str = "training_args") -> bytes:
    """A file laid out as torch.save writes one: an uncompressed zip with `<stem>/data.pkl`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{stem}/data.pkl", payload)
        archive.writestr(f"{stem}/byteorder", "little")
        archive.writestr(f"{stem}/version", "3\n")
        archive.writestr(f"{stem}/.data/serialization_id", "0123456789")
    return buffer.getvalue()


def legacy_torch(payload: bytes) -> bytes:
    """torch.save's old format: magic number, protocol, sys info, the object, storage keys."""
    header = [0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}]
    return b"".join(pickle.dumps(v, protocol=2) for v in header) + payload + pickle.dumps([], 2)


def adapter_folder(tmp_path: Path, **adapter: Any) -> Path:
    folder = tmp_path / "adapter"
    config = {"peft_type": "LORA", "r": 16, "lora_alpha": 32, "lora_dropout": 0.1,
              "target_modules": ["q_proj", "v_proj"], "modules_to_save": None,
              "base_model_name_or_path": "acme/base", "task_type": "CAUSAL_LM"}  # fmt: skip
    config.update(adapter)
    write_json(folder / "adapter_config.json", config)
    return folder


def facts_of(folder: Path) -> ModelFacts:
    return inspect_snapshot(open_folder(folder))


def values(facts: ModelFacts) -> dict[str, Any]:
    return {v.key: v.value for v in facts.recipe.values}


def sources(facts: ModelFacts) -> dict[str, str]:
    return {v.key: v.source for v in facts.recipe.values}


# -- training_args.bin, statically ------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickled_training_arguments_are_read_as_plain_values(protocol: int) -> None:
    args = read_pickled_args(pickle.dumps(TrainingArguments(), protocol=protocol))
    assert args is not None
    assert args.cls == f"{__name__}.TrainingArguments"
    assert args.values["learning_rate"] == 2e-4
    assert args.values["lr_scheduler_type"] == "cosine"  # an enum member as its value
    assert args.values["save_strategy"] == "steps"  # reached through the memo
    assert args.values["report_to"] == ["none"]
    assert "blob" not in args.values  # bytes are not a setting
    assert args.values["extra"] is None


def test_training_args_bin_in_torch_zip_and_legacy_format(tmp_path: Path) -> None:
    payload = pickle.dumps(TrainingArguments(), protocol=2)
    for name, data in (("zip", torch_zip(payload)), ("legacy", legacy_torch(payload))):
        folder = adapter_folder(tmp_path / name)
        (folder / "training_args.bin").write_bytes(data)
        facts = facts_of(folder)
        got, where = values(facts), sources(facts)
        assert got["learning_rate"] == 2e-4 and where["learning_rate"] == (
            "training_args.bin:learning_rate"
        )
        assert got["lr_scheduler"] == "cosine"
        assert got["warmup"] == "ratio 0.03"
        assert got["per_device_batch"] == 4 and got["gradient_accumulation"] == 4
        assert got["epochs"] == 6.0 and "max_steps" not in got  # -1: no step limit
        assert got["precision"] == "fp16"
        assert got["optimizer"] == "paged_adamw_32bit"
        assert (got["weight_decay"], got["max_grad_norm"], got["seed"]) == (0.01, 0.3, 3407)
        assert facts.recipe.notes == ()


def test_hostile_training_args_bin_yields_nothing_and_runs_nothing(tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    for name, obj in (("bare", RunsCommand()), ("inside", TrainingArguments(extra=RunsCommand()))):
        folder = adapter_folder(tmp_path / name)
        (folder / "training_args.bin").write_bytes(torch_zip(pickle.dumps(obj, protocol=2)))
        facts = facts_of(folder)
        assert not any(v.source.startswith("training_args.bin") for v in facts.recipe.values)
        assert any(
            n.startswith("training_args.bin: not read") and "system" in n
            for n in facts.recipe.notes
        ), facts.recipe.notes
    assert not MARKER.exists()
    with pytest.raises(RefusedPickle, match="system"):
        read_pickled_args(pickle.dumps(RunsCommand()))


def test_a_list_that_holds_itself_is_left_out_quickly() -> None:
    loop: list[Any] = []
    loop.extend([loop] * 12)  # 12**20 paths through the memo, one list
    started = time.monotonic()
    args = read_pickled_args(pickle.dumps(TrainingArguments(extra=loop), protocol=2))
    assert time.monotonic() - started < 5
    assert args is not None and "extra" not in args.values and args.values["seed"] == 3407


def test_foreign_calls_are_left_out_and_bad_files_are_notes(tmp_path: Path) -> None:
    args = read_pickled_args(pickle.dumps(TrainingArguments(output_dir=ForeignEnum())))  # type: ignore[arg-type]
    assert args is not None and "output_dir" not in args.values  # pathlib.Path(...) is no enum
    for name, data in (
        ("garbage", b"\x80\x02not a pickle at all"),
        ("big", b"\x80\x02" + b"N" * (MAX_ARGS_BYTES + 10)),
        ("twozips", b"PK\x03\x04broken zip"),
    ):
        folder = adapter_folder(tmp_path / name)
        (folder / "training_args.bin").write_bytes(data)
        facts = facts_of(folder)
        assert [n for n in facts.recipe.notes if n.startswith("training_args.bin: not read")]
        assert values(facts)["lora_r"] == 16  # the rest of the recipe is still read


# -- the other readers ------------------------------------------------------------------------


def test_adapter_scaling_rslora_dora_and_modules_to_save(tmp_path: Path) -> None:
    plain = facts_of(adapter_folder(tmp_path / "plain"))
    assert values(plain)["method"] == "LoRA" and values(plain)["lora_scaling"] == 2.0
    assert values(plain)["modules_to_save"] is None
    rs = facts_of(adapter_folder(tmp_path / "rs", use_rslora=True, r=64, lora_alpha=16))
    assert values(rs)["method"] == "rsLoRA" and values(rs)["lora_scaling"] == 2.0  # 16/sqrt(64)
    assert "sqrt(r)" in sources(rs)["lora_scaling"]
    dora = facts_of(adapter_folder(tmp_path / "dora", use_dora=True,
                                   modules_to_save=["embed_tokens", "lm_head"]))  # fmt: skip
    assert values(dora)["method"] == "DoRA"
    assert values(dora)["modules_to_save"] == ("embed_tokens", "lm_head")


LLAMAFACTORY_ARGS = """\
bf16: true
cutoff_len: 4096
dataset: alpaca_en_demo,/workspace/data/private.json
dataset_dir: data
finetuning_type: lora
quantization_bit: 4
gradient_accumulation_steps: 8
learning_rate: 1.0e-04
lora_rank: 16
lora_alpha: 32
lora_target: all
lr_scheduler_type: cosine
model_name_or_path: acme/base
num_train_epochs: 2.0
per_device_train_batch_size: 2
stage: dpo
template: llama3
warmup_ratio: 0.1
"""


def test_llamafactory_args_board_and_log(tmp_path: Path) -> None:
    folder = adapter_folder(tmp_path, r=16, lora_alpha=32)
    (folder / "training_args.yaml").write_text(LLAMAFACTORY_ARGS)
    (folder / "llamaboard_config.yaml").write_text(
        "top.finetuning_type: lora\ntrain.training_stage: DPO\ntrain.learning_rate: '1e-4'\n"
        "train.batch_size: 2\ntrain.lora_target: ''\ntrain.compute_type: bf16\n"
    )
    (folder / "trainer_log.jsonl").write_text(
        '{"current_steps": 10, "total_steps": 120, "epoch": 0.1}\n'
        '{"current_steps": 120, "total_steps": 120, "epoch": 2.0}\n'
    )
    facts = facts_of(folder)
    got, where = values(facts), sources(facts)
    assert got["method"] == "LoRA"  # adapter_config.json first; the YAML's QLoRA agrees on LoRA
    assert got["stage"] == "dpo" and where["stage"] == "training_args.yaml:stage"
    assert got["precision"] == "bf16, load_in_4bit"
    assert got["lora_targets"] == ("q_proj", "v_proj")  # the adapter's list; "all" agrees
    assert got["datasets"] == ("alpaca_en_demo (local)", "private.json (local)")
    assert got["template"] == "llama3" and got["sequence_length"] == 4096
    assert got["warmup"] == "ratio 0.1"
    assert got["max_steps"] == 120 and where["max_steps"] == "trainer_log.jsonl:total_steps"
    assert facts.recipe.conflicts == ()  # the board says the same things in its own words
    assert [c.value for c in facts.recipe.base_claims] == ["acme/base"]
    assert recipe_base_findings(facts) == []


def test_ms_swift_args_and_a_conflict_shown_both_ways(tmp_path: Path) -> None:
    folder = adapter_folder(tmp_path)
    write_json(folder / "args.json", {
        "model": "acme/base", "train_type": "lora", "lora_rank": 16, "lora_alpha": 32,
        "target_modules": ["all-linear"], "dataset": ["AI-ModelScope/alpaca-gpt4-data-en#500",
        "/root/data/mine.jsonl"], "max_length": 2048, "learning_rate": 1e-4,
        "num_train_epochs": 1, "per_device_train_batch_size": 1, "seed": 42,
    })  # fmt: skip
    (folder / "README.md").write_text(
        "## Training procedure\n\nThe following hyperparameters were used during training:\n"
        "- learning_rate: 0.0002\n- train_batch_size: 1\n- seed: 42\n- num_epochs: 1.0\n\n"
    )
    facts = facts_of(folder)
    got = values(facts)
    assert got["datasets"] == ("AI-ModelScope/alpaca-gpt4-data-en#500", "mine.jsonl (local)")
    assert got["sequence_length"] == 2048 and got["lora_targets"] == ("q_proj", "v_proj")
    assert got["learning_rate"] == 1e-4
    (conflict,) = facts.recipe.conflicts
    assert (conflict.key, conflict.value) == ("learning_rate", 0.0002)
    assert conflict.source == "README.md (Training hyperparameters)"
    (disagree,) = recipe_conflict_findings(facts)
    assert disagree.rule == "MC619" and disagree.file == "README.md"
    assert disagree.evidence["sources"] == [
        "args.json:learning_rate",
        "README.md (Training hyperparameters)",
    ]
    assert disagree.message == (
        "Learning rate: 0.0001 in args.json:learning_rate; "
        "0.0002 in README.md (Training hyperparameters)"
    )
    rows = [r for r in recipe_rows(facts.recipe) if r["key"] == "learning_rate"]
    assert [(r["text"], r["source"], r["conflict"]) for r in rows] == [
        ("0.0001", "args.json:learning_rate", True),
        ("0.0002", "README.md (Training hyperparameters)", True),
    ]


AXOLOTL = """\
base_model: TinyLlama/TinyLlama_v1.1
load_in_8bit: false
load_in_4bit: true
datasets:
  - path: ./data/train.jsonl
    type: alpaca
  - path: jamesliu1/c4
    type: completion
sequence_len: 4096
sample_packing: true
adapter: qlora
lora_r: 32
lora_alpha: 16
lora_dropout: 0.05
lora_target_linear: true
micro_batch_size: 2
gradient_accumulation_steps: 4
num_epochs: 4
optimizer: adamw_bnb_8bit
lr_scheduler: cosine
learning_rate: 0.0002
warmup_steps: 10
bf16: auto
"""


def test_axolotl_yaml_in_configs_and_mc618(tmp_path: Path) -> None:
    folder = adapter_folder(tmp_path, r=32, lora_alpha=16, lora_dropout=0.05,
                            base_model_name_or_path="TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T")  # fmt: skip
    (folder / "configs").mkdir()
    (folder / "configs" / "lora.yml").write_text(AXOLOTL)
    (folder / "notes.yml").write_text("just: notes\n")  # a YAML that is no axolotl config
    facts = facts_of(folder)
    got, where = values(facts), sources(facts)
    assert got["datasets"] == ("train.jsonl (local) (alpaca)", "jamesliu1/c4 (completion)")
    assert got["sequence_length"] == 4096 and got["packing"] is True
    assert got["per_device_batch"] == 2 and where["per_device_batch"] == (
        "configs/lora.yml:micro_batch_size"
    )
    assert got["precision"] == "bf16 auto, load_in_4bit"
    assert got["warmup"] == "10 steps"
    assert got["lora_scaling"] == 0.5
    assert "notes.yml" not in facts.recipe.files
    (found,) = recipe_base_findings(facts)
    assert found.rule == "MC618" and found.file == "configs/lora.yml"
    assert found.message.startswith("training config names TinyLlama/TinyLlama_v1.1 as base, "
                                    "the model's files say TinyLlama/TinyLlama-1.1B-intermediate")  # fmt: skip
    assert found.evidence["model_file"] == "adapter_config.json"
    assert found.evidence["config_key"] == "base_model"
    context = recipe_context(facts)
    assert context["recipe_doubtful_files"] == ["configs/lora.yml"]
    doubtful = {r["key"]: r["doubtful"] for r in context["recipe"]}
    assert doubtful["datasets"] and doubtful["sequence_length"]  # read from the YAML only
    assert not doubtful["lora_r"] and not doubtful["method"]  # read from adapter_config.json


def test_hub_and_locked_snapshots_are_not_asked_for_a_recipe(tmp_path: Path) -> None:
    folder = adapter_folder(tmp_path)
    (folder / "training_args.yaml").write_text(LLAMAFACTORY_ARGS)
    assert values(facts_of(folder))["learning_rate"] == 1e-4
    for kind in ("hub", "lock"):
        snapshot = LocalSnapshot(folder, SourceRef(kind=kind, location="acme/base"))  # type: ignore[arg-type]
        assert inspect_snapshot(snapshot).recipe == Recipe()


def test_same_base_across_paths_and_ids() -> None:
    assert same_base("/dev/shm/Qwen/Qwen3-14B", "Qwen/Qwen3-14B")
    assert same_base("https://huggingface.co/acme/base", "acme/base")
    assert not same_base("TinyLlama/TinyLlama_v1.1", "TinyLlama/TinyLlama-1.1B-step-50K")


def test_agreement_allows_spelling_not_other_values() -> None:
    assert agrees(3, 3.0) and agrees("5e-5", 5e-05) and agrees(("a", "b"), ("B", "A"))
    assert agrees("all linear modules", ("q_proj", "k_proj"))
    assert agrees("adamw_torch", "Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08")
    assert not agrees(1e-4, 2e-4) and not agrees("cosine", "linear")
    assert not agrees(("q_proj",), ("q_proj", "v_proj"))


def test_mergekit_and_quantization_configs(tmp_path: Path) -> None:
    merge = make_model(tmp_path / "merge", config=llama_config(_name_or_path="acme/a"))
    (merge / "mergekit_config.yml").write_text(
        "models:\n  - model: acme/a\n    parameters: {weight: 0.6, density: 0.5}\n"
        "  - model: /models/local-b\nmerge_method: ties\nbase_model: acme/a\n"
        "parameters:\n  normalize: true\ndtype: float16\n"
    )
    got = values(facts_of(merge))
    assert got["method"] == "merge (ties)" and got["precision"] == "float16"
    assert got["merge_sources"] == ("acme/a", "local-b (local)")
    assert got["merge_parameters"] == ("normalize: true", "acme/a: weight: 0.6, density: 0.5")
    gptq = make_model(tmp_path / "gptq", config=llama_config(quantization_config={
        "quant_method": "gptq", "bits": 3, "group_size": -1, "desc_act": True,
        "damp_percent": 0.01, "sym": True}))  # fmt: skip
    write_json(gptq / "quantize_config.json", {"bits": 4, "group_size": -1})
    facts = facts_of(gptq)
    assert values(facts)["quant_group_size"] == "none (-1)"
    assert values(facts)["quant_bits"] == 3
    (conflict,) = facts.recipe.conflicts
    assert (conflict.value, conflict.source) == (4, "quantize_config.json:bits")
    bnb = make_model(tmp_path / "bnb", config=llama_config(quantization_config={
        "quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_compute_dtype": "bfloat16"}))  # fmt: skip
    got = values(facts_of(bnb))
    assert (got["method"], got["precision"], got["quant_type"], got["quant_compute_dtype"]) == (
        "quantization (bitsandbytes)", "load_in_4bit", "nf4", "bfloat16")  # fmt: skip


def test_checkpoint_state_and_hostile_yaml_are_read_or_noted(tmp_path: Path) -> None:
    folder = adapter_folder(tmp_path)
    write_json(folder / "checkpoint-5/trainer_state.json", {"max_steps": 9, "train_batch_size": 1})
    write_json(folder / "checkpoint-10/trainer_state.json",
               {"max_steps": 40, "train_batch_size": 2, "num_train_epochs": 4,
                "total_flos": 1.5e15})  # fmt: skip
    (folder / "training_args.yaml").write_text("a: &x [1]\nb: *x\n")  # aliases are refused
    (folder / "llamaboard_config.yaml").write_text("- just\n- a list\n")
    facts = facts_of(folder)
    got, where = values(facts), sources(facts)
    assert (got["max_steps"], got["per_device_batch"], got["epochs"]) == (40, 2, 4)
    assert where["total_flos"] == "checkpoint-10/trainer_state.json:total_flos"
    notes = "\n".join(facts.recipe.notes)
    assert "training_args.yaml: not read" in notes
    assert "llamaboard_config.yaml: not read (not a mapping of settings)" in notes


SENTENCE_TRANSFORMERS = """\
---
tags:
- sentence-transformers
- loss:MultipleNegativesRankingLoss
---
### Training Hyperparameters
#### Non-Default Hyperparameters

- `per_device_train_batch_size`: 16
- `num_train_epochs`: 2

#### All Hyperparameters
<details><summary>Click to expand</summary>

- `learning_rate`: 5e-05
- `per_device_train_batch_size`: 16
- `max_steps`: -1
- `warmup_ratio`: 0.0
- `bf16`: False
- `fp16`: False
- `tf32`: None
- `seed`: 42

</details>

### Training Logs
"""


def test_sentence_transformers_lists_and_loss_tag(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "st", config=llama_config(), readme=SENTENCE_TRANSFORMERS)
    facts = facts_of(folder)
    got, where = values(facts), sources(facts)
    assert got["loss"] == "MultipleNegativesRankingLoss" and where["loss"] == "README.md:tags"
    assert (got["per_device_batch"], got["epochs"], got["learning_rate"]) == (16, 2, 5e-05)
    assert got["precision"] == "no mixed precision (bf16, fp16 off)"
    assert got["warmup"] == "none" and "max_steps" not in got
    assert where["learning_rate"] == "README.md (Training hyperparameters)"


# -- the real cases ---------------------------------------------------------------------------

needs_realcases = pytest.mark.skipif(
    not REALCASES.is_dir(), reason="../shared/realcases is not present beside this checkout"
)


def real(case: str) -> ModelFacts:
    return facts_of(REALCASES / case)


@needs_realcases
def test_real_llamafactory_qwen3_lora() -> None:
    facts = real("llamafactory-qwen3-14b-lora")
    got = values(facts)
    assert (got["method"], got["stage"], got["template"]) == ("LoRA", "sft", "qwen3")
    assert (got["lora_r"], got["lora_alpha"], got["lora_dropout"]) == (8, 16, 0)
    assert sorted(got["lora_targets"]) == sorted(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    assert (got["learning_rate"], got["lr_scheduler"], got["epochs"]) == (5e-05, "cosine", 3.0)
    assert (got["per_device_batch"], got["gradient_accumulation"]) == (2, 8)
    assert (got["devices"], got["total_batch"]) == (7, 112)  # from the Trainer's README list
    assert (got["sequence_length"], got["precision"], got["packing"]) == (32768, "bf16", False)
    assert got["datasets"] == ("tcm (local)", "mdk (local)", "NLI (local)")
    assert got["max_steps"] == 768 and got["total_flos"] == pytest.approx(2.0772e18, rel=1e-4)
    assert facts.recipe.conflicts == () and recipe_conflict_findings(facts) == []
    assert recipe_base_findings(facts) == []  # the YAML and the adapter name the same path


@needs_realcases
def test_real_hf_trainer_whisper() -> None:
    facts = real("hf-trainer-whisper-large-v2-ja")
    got, where = values(facts), sources(facts)
    assert (got["learning_rate"], got["per_device_batch"], got["seed"]) == (1e-05, 50, 42)
    assert (got["lr_scheduler"], got["warmup"], got["max_steps"]) == ("linear", "500 steps", 5000)
    assert got["precision"] == "Native AMP"
    assert where["precision"] == "README.md (Training hyperparameters)"
    assert got["optimizer"].startswith("Adam with betas=(0.9,0.999)")
    assert got["total_flos"] == pytest.approx(5.2716e20, rel=1e-4)
    assert any(
        n.startswith("training_args.bin: only a Git-LFS pointer") for n in facts.recipe.notes
    )
    assert set(facts.recipe.notes) <= set(facts.notes)  # the card's "files present but not read"


@needs_realcases
def test_real_sentence_transformers_mnrl() -> None:
    facts = real("st-movie-minilm-l6-v2-mnrl/movie_query_engine/data/sbert-finetuned-movie-model")
    got = values(facts)
    assert (got["per_device_batch"], got["epochs"], got["learning_rate"]) == (16, 2, 5e-05)
    assert got["loss"] == "MultipleNegativesRankingLoss"
    assert (got["lr_scheduler"], got["seed"], got["warmup"]) == ("linear", 42, "none")


@needs_realcases
def test_real_mergekit_slerp() -> None:
    facts = real("mergekit-yi15-6b-slerp")
    got = values(facts)
    assert got["method"] == "merge (slerp)" and got["precision"] == "bfloat16"
    assert got["merge_sources"] == (
        "01-ai/Yi-1.5-6B-Chat (layers 0–32)",
        "01-ai/Yi-1.5-6B (layers 0–32)",
    )
    assert got["merge_base"] == "01-ai/Yi-1.5-6B-Chat"
    assert got["merge_parameters"] == (
        "t: self_attn [0, 0.25, 0.5, 0.75, 1]; mlp [1, 0.75, 0.5, 0.25, 0]; otherwise 0.5",
    )
    assert recipe_base_findings(facts) == []


@needs_realcases
def test_real_gptq_branches() -> None:
    main = values(real("gptq-genz-70b-multibranch"))
    assert main["method"] == "quantization (gptq)"
    assert (main["quant_bits"], main["quant_group_size"]) == (4, 128)
    assert (main["quant_desc_act"], main["quant_damp"], main["quant_sym"]) == (True, 0.1, True)
    ungrouped = values(real("gptq-genz-70b-multibranch/branches/gptq-3bit--1g-actorder_True"))
    assert (ungrouped["quant_bits"], ungrouped["quant_group_size"]) == (3, "none (-1)")


@needs_realcases
def test_real_unsloth_rslora() -> None:
    got = values(real("unsloth-llama31-8b-ros2-lora/ros2_model"))
    assert (got["method"], got["lora_r"], got["lora_alpha"]) == ("rsLoRA", 16, 16)
    assert got["lora_scaling"] == 4.0 and got["lora_dropout"] == 0
    assert len(got["lora_targets"]) == 7 and got["modules_to_save"] is None


@needs_realcases
def test_real_axolotl_lora_out(tmp_path: Path) -> None:
    out = REALCASES / "axolotl-tinyllama-lora-out/outputs/lora-out"
    facts = facts_of(out)
    got, where = values(facts), sources(facts)
    assert (got["lora_r"], got["lora_alpha"], got["lora_scaling"]) == (32, 16, 0.5)
    assert got["lora_dropout"] == 0.05
    assert (got["per_device_batch"], got["max_steps"], got["epochs"]) == (2, 80, 4)
    assert where["max_steps"] == "checkpoint-20/trainer_state.json:max_steps"
    # the YAML committed beside the outputs, put in the model's configs/ folder: the trap
    model = tmp_path / "lora-out"
    shutil.copytree(out, model)
    (model / "configs").mkdir()
    shutil.copy(REALCASES / "axolotl-tinyllama-lora-out/examples/tiny-llama/lora.yml",
                model / "configs/lora.yml")  # fmt: skip
    trapped = facts_of(model)
    (found,) = recipe_base_findings(trapped)
    assert found.evidence["config_base"] == "TinyLlama/TinyLlama_v1.1"
    assert found.evidence["model_base"] == "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T"
    assert values(trapped)["datasets"] == ("jamesliu1/c4 (completion)",)
    rows = {r["key"]: r for r in recipe_context(trapped)["recipe"]}
    assert (
        rows["datasets"]["doubtful"] and rows["datasets"]["source"] == "configs/lora.yml:datasets"
    )


# -- the card ---------------------------------------------------------------------------------


def test_build_shows_the_recipe_table_with_sources(tmp_path: Path) -> None:
    project = tmp_path / "project"
    model = make_model(project / "tuned", config=llama_config(), tensors=llama_tensors())
    trained = TrainingArguments(learning_rate=1e-4)
    (model / "training_args.bin").write_bytes(torch_zip(pickle.dumps(trained, 2)))
    (model / "configs").mkdir()
    (model / "configs" / "run.yml").write_text(AXOLOTL.replace("adapter: qlora\n", "adapter:\n"))
    write_json(model / "trainer_state.json", {"global_step": 3, "max_steps": 3,
                                              "total_flos": 12345.0, "log_history": []})  # fmt: skip
    (project / "modelcards.yml").write_text("models:\n  - name: tuned\n    path: tuned\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "tuned")
    home = tmp_path / "hf"
    env = {"HF_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    result = run_modelcards("build", "--no-site", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    card = (model / "README.md").read_text()
    block = card[card.index("<!-- modelcards:begin training -->") :]
    block = block[: block.index("<!-- modelcards:end training -->")]
    assert "| Setting | Value | Source |" in block
    assert (
        "| Learning rate (files disagree) | 0.0001 | `training_args.bin:learning_rate` |" in block
    )
    assert "| Learning rate (files disagree) | 0.0002 | `configs/run.yml:learning_rate` |" in block
    assert "| Method | full fine-tune | `configs/run.yml:adapter` |" in block
    assert "| Datasets | train.jsonl (local) (alpaca), jamesliu1/c4 (completion) |" in block
    assert "Names marked (local)" in block
    context = json.loads((model / "card.json").read_text())
    rows = context["training"]["recipe"]
    assert {"key": "seed", "value": 3407, "source": "training_args.bin:seed"}.items() <= next(
        r for r in rows if r["key"] == "seed"
    ).items()
    assert context["training"]["total_flos"] == {
        "value": 12345.0,
        "source": "trainer_state.json:total_flos",
    }
