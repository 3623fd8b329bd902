"""Evaluation numbers labelled with the weights they belong to: split, step, checkpoint and
every file:key they were read from; the shipped step read from the files; results files counted;
the model-index written from them; the README's own numbers held against them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from test_real_fine_tunes import initialised_and_built

from modelcards import api
from modelcards.assess.evaluation_rules import evaluation_findings, has_evaluation
from modelcards.inspect import inspect_snapshot
from modelcards.inspect.card import GENERATED_NOTE, split_front_matter
from modelcards.inspect.evaluation import evaluation_record, split_of
from modelcards.resolve import open_folder
from modelfiles import REALCASES, git, write_json

SCHEMA = json.loads((Path(__file__).parents[1] / "modelcards/schema/card.schema.json").read_text())
TRAINER_CARD = """---
license: mit
model-index:
- name: my-model
  results: []
datasets:
- org/data
---
# my-model

It achieves the following results on the evaluation set:
- Loss: {loss}
- Accuracy: {accuracy}
"""


def state(evals: list[tuple[int, float, float]], **top: Any) -> dict[str, Any]:
    """A trainer_state.json: train loss every step, an evaluation at each of `evals`."""
    log: list[dict[str, Any]] = []
    for step, eval_loss, accuracy in evals:
        log.append({"step": step, "epoch": step / 10, "loss": 2.0 / step, "learning_rate": 1e-5})
        log.append({"step": step, "epoch": step / 10, "eval_loss": eval_loss,
                    "eval_accuracy": accuracy, "eval_runtime": 3.5,
                    "eval_samples_per_second": 9.0})  # fmt: skip
    last = evals[-1][0]
    return {"global_step": last, "max_steps": last, "epoch": last / 10, "num_train_epochs": 3,
            "log_history": log, **top}  # fmt: skip


def model_folder(tmp_path: Path, trainer_state: dict[str, Any] | None, **files: Any) -> Path:
    folder = tmp_path / "model"
    write_json(
        folder / "config.json",
        {"architectures": ["BertForSequenceClassification"], "model_type": "bert"},
    )
    if trainer_state is not None:
        write_json(folder / "trainer_state.json", trainer_state)
    for name, content in files.items():
        target = folder / name.replace("__json", ".json").replace("__md", ".md")
        if isinstance(content, str):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        else:
            write_json(target, content)
    return folder


def record_of(folder: Path):  # type: ignore[no-untyped-def]
    facts = inspect_snapshot(open_folder(folder))
    return facts, evaluation_record(facts)


def built(folder: Path) -> tuple[str, dict[str, Any]]:
    """Build the model folder as a project (no base), as a user would."""
    (folder / "modelcards.yml").write_text(
        "models:\n  - path: .\n    name: my-model\n    base: null\n"
    )
    if not (folder / ".git").exists():
        git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(
        folder,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-qm",
        "files",
        "--allow-empty",
    )
    api.build(folder, site=False)
    context = json.loads((folder / "card.json").read_text())
    jsonschema.validate(context, SCHEMA)
    return (folder / "README.md").read_text(), context


def front(text: str) -> dict[str, Any]:
    return YAML(typ="safe").load(split_front_matter(text)[0] or "") or {}


# --- the labels ---------------------------------------------------------------------------


def test_the_split_comes_from_the_prefix_and_a_split_file_wins() -> None:
    assert split_of("eval_wer", "all_results.json") == ("eval", "wer")
    assert split_of("test_accuracy", "all_results.json") == ("test", "accuracy")
    assert split_of("eval_rouge1", "test_results.json") == ("test", "rouge1")
    assert split_of("predict_rouge1", "predict_results.json") == ("predict", "rouge1")
    assert split_of("rouge1", "eval_results.json") == ("eval", "rouge1")
    assert split_of("test_f1", "eval_results.json") == ("test", "f1")  # only eval_ gives way
    # training figures, throughput and counts are not metrics; an unprefixed key means nothing
    # in a file of every split
    for key in ("train_loss", "eval_runtime", "eval_samples_per_second", "eval_samples", "epoch"):
        assert split_of(key, "eval_results.json") is None, key
    assert split_of("rouge1", "all_results.json") is None


def test_results_files_are_evaluation_one_row_with_both_sources(tmp_path: Path) -> None:
    folder = model_folder(
        tmp_path,
        state([(10, 0.5, 0.7), (20, 0.4, 0.8)]),
        eval_results__json={
            "epoch": 2.0,
            "eval_loss": 0.4,
            "eval_accuracy": 0.8,
            "eval_runtime": 3.1,
            "eval_samples": 100,
        },  # fmt: skip
        train_results__json={"train_loss": 0.9, "train_runtime": 10.0, "train_samples": 500},
    )
    _, record = record_of(folder)
    shipped = [r for r in record.rows if r.shipped]
    assert [(r.key, r.value, r.step) for r in shipped] == [
        ("eval_accuracy", 0.8, 20),
        ("eval_loss", 0.4, 20),
    ]
    assert shipped[0].sources == (
        "trainer_state.json:log_history[step 20].eval_accuracy",
        "eval_results.json:eval_accuracy",
    )
    assert not any(r.key.startswith("train_") or "runtime" in r.key for r in record.rows)
    assert record.shipped.step == 20 and "eval_results.json" in record.shipped.basis


def test_results_equal_to_an_earlier_step_make_that_the_shipped_step(tmp_path: Path) -> None:
    # load_best_model_at_end: the final evaluation is of step 10's weights, not step 20's
    folder = model_folder(
        tmp_path,
        state(
            [(10, 0.3, 0.9), (20, 0.4, 0.8)],
            best_model_checkpoint="/data/u/run/checkpoint-10",
            best_metric=0.9,
        ),  # fmt: skip
        eval_results__json={"eval_loss": 0.3, "eval_accuracy": 0.9},
    )
    _, record = record_of(folder)
    assert record.shipped.step == 10
    assert record.best.checkpoint == "checkpoint-10" and record.best.shipped
    assert record.best.metric == "eval_accuracy"
    assert evaluation_findings(inspect_snapshot(open_folder(folder))) == []  # nothing to say


def test_test_and_predict_results_are_their_own_splits(tmp_path: Path) -> None:
    folder = model_folder(
        tmp_path,
        None,
        test_results__json={"test_accuracy": 0.77, "test_runtime": 2.0},
        predict_results__json={"predict_rouge1": 41.2, "predict_samples": 9},
        all_results__json={"train_loss": 1.1, "total_flos": 1e15},
    )
    _, record = record_of(folder)
    assert {(r.split, r.metric, r.value) for r in record.rows} == {
        ("test", "accuracy", 0.77),
        ("predict", "rouge1", 41.2),
    }
    assert all(r.shipped and r.step is None for r in record.rows)  # no step is recorded


def test_only_a_training_loss_is_no_evaluation(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, None, train_results__json={"train_loss": 0.97, "epoch": 3})
    facts, record = record_of(folder)
    assert record.rows == () and not has_evaluation(facts, record)
    card, context = built(folder)
    assert context["evaluation"] == []
    assert "No evaluation was reported" in card
    assert "training loss is not an evaluation" in card
    assert context["training"]["train_loss"] == {
        "value": 0.97,
        "source": "train_results.json:train_loss",
    }
    assert "model-index" not in front(card)


def test_an_int_no_float_holds_is_no_figure_and_no_crash(tmp_path: Path) -> None:
    """The fuzzer's `total_flos = 1e400` (an int): an OverflowError traceback before."""
    huge = 10**400
    folder = model_folder(
        tmp_path,
        state([(10, 0.5, 0.8)], total_flos=huge),
        train_results__json={"total_flos": huge, "train_loss": 0.9},
        eval_results__json={"eval_loss": huge, "eval_accuracy": 0.8},
    )
    facts, record = record_of(folder)
    assert all(row.key != "eval_loss" or row.value != huge for row in record.rows)
    card, context = built(folder)
    assert "eval_accuracy" in json.dumps(context["evaluation"])


# --- overfitting, conservatively --------------------------------------------------------------


@pytest.mark.parametrize(
    ("curve", "said"),
    [
        ([0.30, 0.36, 0.40], True),  # rose 33 % without falling back
        ([0.30, 0.31, 0.32], False),  # 7 %: within noise
        ([0.30, 0.45, 0.35], False),  # up, then down again: not a plain rise
        ([0.30, 0.40], False),  # two evaluations are too few
        ([0.50, 0.40, 0.30], False),  # falling
    ],
)
def test_overfitting_is_said_only_when_plain(
    tmp_path: Path, curve: list[float], said: bool
) -> None:
    evals = [(10 * (i + 1), loss, 0.5) for i, loss in enumerate(curve)]
    facts, record = record_of(model_folder(tmp_path, state(evals)))
    assert (record.overfitting is not None) == said
    assert ("MC628" in {f.rule for f in evaluation_findings(facts)}) == said
    if said:
        assert record.overfitting.statement.startswith(
            "validation loss rose from 0.3000 (step 10) to 0.4000 (step 30) while training loss fell"
        )


def test_training_loss_that_did_not_fall_is_no_overfitting(tmp_path: Path) -> None:
    trainer_state = state([(10, 0.30, 0.5), (20, 0.36, 0.5), (30, 0.40, 0.5)])
    for entry in trainer_state["log_history"]:
        if "loss" in entry:
            entry["loss"] = 1.0
    _, record = record_of(model_folder(tmp_path, trainer_state))
    assert record.overfitting is None


# --- the README's own numbers ------------------------------------------------------------------


def test_readme_numbers_are_confirmed_or_a_finding(tmp_path: Path) -> None:
    results = {"eval_loss": 0.42001, "eval_accuracy": 0.8123}
    agreeing = model_folder(
        tmp_path / "a", state([(10, 0.42001, 0.8123)]), eval_results__json=results,
        README__md=TRAINER_CARD.format(loss="0.4200", accuracy="81.23"),
    )  # fmt: skip
    facts, record = record_of(agreeing)
    assert all(c.agrees for c in record.claims) and len(record.claims) == 2
    assert {c.scale for c in record.claims} == {None, "percent"}
    assert "MC629" not in {f.rule for f in evaluation_findings(facts)}
    differing = model_folder(
        tmp_path / "d", state([(10, 0.42001, 0.8123)]), eval_results__json=results,
        README__md=TRAINER_CARD.format(loss="0.3900", accuracy="0.8123"),
    )  # fmt: skip
    facts, record = record_of(differing)
    mc629 = [f for f in evaluation_findings(facts) if f.rule == "MC629"]
    assert len(mc629) == 1
    assert "states Loss 0.3900; the files give 0.4200" in mc629[0].message
    assert "eval_results.json:eval_loss" in mc629[0].message
    card, context = built(differing)
    assert "MC629" in {r["rule"] for r in context["risks"]}
    assert "0.8123 (confirmed: README.md results list)" in card


# --- the model-index, and MC608 ---------------------------------------------------------------


def test_model_index_is_written_marked_and_taken_over(tmp_path: Path) -> None:
    folder = model_folder(
        tmp_path, state([(10, 0.42, 0.81)]), eval_results__json={"eval_loss": 0.42},
        README__md=TRAINER_CARD.format(loss="0.4200", accuracy="0.8100"),
    )  # fmt: skip
    card, context = built(folder)
    index = front(card)["model-index"]
    assert index == [
        {
            "name": "my-model",
            "results": [
                {
                    "task": {"type": "text-classification"},
                    "dataset": {"name": "org/data", "type": "org/data", "split": "eval"},
                    "metrics": [
                        {"type": "accuracy", "value": 0.81, "name": "accuracy (eval)"},
                        {"type": "loss", "value": 0.42, "name": "loss (eval)"},
                    ],
                }
            ],
        }
    ]
    assert re.search(rf"^model-index: +# {re.escape(GENERATED_NOTE)}$", card, re.MULTILINE)
    assert "MC608" not in {r["rule"] for r in context["risks"]}
    # a rebuild reads its own model-index as the files again: same bytes
    before = (folder / "README.md").read_bytes()
    built(folder)
    assert (folder / "README.md").read_bytes() == before
    facts = inspect_snapshot(open_folder(folder))
    assert "model-index" in facts.card.generated
    # the files change: the generated model-index follows them
    write_json(folder / "eval_results.json", {"eval_loss": 0.5})
    write_json(folder / "trainer_state.json", state([(10, 0.5, 0.7)]))
    card, _ = built(folder)
    assert {
        m["type"]: m["value"] for m in front(card)["model-index"][0]["results"][0]["metrics"]
    } == {
        "loss": 0.5,
        "accuracy": 0.7,
    }
    # a person deletes the comment: the model-index is theirs and stays as they left it
    (folder / "README.md").write_text(card.replace(f"  # {GENERATED_NOTE}", ""))
    write_json(folder / "eval_results.json", {"eval_loss": 0.6})
    card, _ = built(folder)
    assert GENERATED_NOTE not in card
    assert front(card)["model-index"][0]["results"][0]["metrics"][1]["value"] == 0.5


def test_no_dataset_is_invented_and_an_own_index_is_kept(tmp_path: Path) -> None:
    two = TRAINER_CARD.replace("- org/data\n", "- org/data\n- org/other\n")
    folder = model_folder(
        tmp_path / "two", state([(10, 0.42, 0.81)]),
        README__md=two.format(loss="0.4200", accuracy="0.8100"),
    )  # fmt: skip
    card, _ = built(folder)
    assert front(card)["model-index"][0]["results"][0]["dataset"] == {"split": "eval"}
    own = "---\nmodel-index:\n- name: x\n  results:\n  - task: {type: text-classification}\n    metrics:\n    - {type: f1, value: 0.5}\n---\n# x\n"
    folder = model_folder(tmp_path / "own", state([(10, 0.42, 0.81)]), README__md=own)
    card, context = built(folder)
    assert front(card)["model-index"] == [
        {
            "name": "x",
            "results": [
                {"task": {"type": "text-classification"}, "metrics": [{"type": "f1", "value": 0.5}]}
            ],
        }
    ]
    assert GENERATED_NOTE not in card
    assert [r["source"] for r in context["evaluation"]][0] == "README.md model-index"


def test_a_generated_model_index_alone_is_no_evaluation(tmp_path: Path) -> None:
    readme = f"---\nmodel-index:  # {GENERATED_NOTE}\n- name: x\n  results:\n  - task: {{type: t}}\n    metrics:\n    - {{type: loss, value: 0.1}}\n---\n# x\n"
    folder = model_folder(tmp_path, None, README__md=readme)
    facts = inspect_snapshot(open_folder(folder))
    assert not has_evaluation(facts)  # the files it came from are gone
    card, _ = built(folder)
    assert "model-index" not in front(card)  # and so it goes too


# --- totals and paths ---------------------------------------------------------------------------


def test_totals_from_the_state_and_no_training_machine_path(tmp_path: Path) -> None:
    folder = model_folder(
        tmp_path,
        state(
            [(10, 0.5, 0.7), (20, 0.4, 0.8)],
            total_flos=5.27e20,
            best_model_checkpoint="/storage/someone/run-24h/checkpoint-10",
            best_metric=0.8,
        ),  # fmt: skip
        all_results__json={"train_runtime": 77350.9, "train_samples": 6505, "eval_loss": 0.4},
    )
    card, context = built(folder)
    training = context["training"]
    assert training["total_flos"] == {"value": 5.27e20, "source": "trainer_state.json:total_flos"}
    assert training["runtime"]["source"] == "all_results.json:train_runtime"
    assert training["samples"] == {"value": 6505, "source": "all_results.json:train_samples"}
    assert training["best_checkpoint"] == "checkpoint-10"
    everything = card + json.dumps(context)
    assert "/storage/" not in everything
    best = context["evaluation_record"]["best"]
    assert best["checkpoint"] == "checkpoint-10" and not best["shipped"]
    assert "MC630" in {r["rule"] for r in context["risks"]}


# --- the real fine-tunes ---------------------------------------------------------------------


needs_cases = pytest.mark.skipif(
    not REALCASES.is_dir(), reason="../shared/realcases is not present beside this checkout"
)


def evaluation_block(card: str) -> str:
    return card.split("<!-- modelcards:begin evaluation -->")[1].split("<!-- modelcards:end")[0]


@needs_cases
def test_whisper_ships_step_5000_not_its_best_checkpoint(tmp_path: Path) -> None:
    project = initialised_and_built("hf-trainer-whisper-large-v2-ja", tmp_path)
    card, context = (
        (project / "README.md").read_text(),
        json.loads((project / "card.json").read_text()),
    )
    shipped = {r["metric"]: r for r in context["evaluation"] if r["shipped"]}
    assert shipped["loss"]["display"] == "0.4200" and shipped["wer"]["display"] == "0.7449"
    assert shipped["wer"]["step"] == 5000
    assert "eval_results.json:eval_wer" in shipped["wer"]["sources"]
    assert shipped["wer"]["readme"] == "README.md results list"  # "- Wer: 0.7449" confirmed
    record = context["evaluation_record"]
    assert record["shipped"]["step"] == 5000
    best = {k: record["best"][k] for k in ("checkpoint", "step", "metric", "shipped")}
    assert best == {
        "checkpoint": "checkpoint-3000",
        "step": 3000,
        "metric": "eval_wer",
        "shipped": False,
    }
    block = evaluation_block(card)
    assert "Best eval_wer 0.7432 at step 3000 (checkpoint-3000), not the shipped weights" in block
    assert (
        "validation loss rose from 0.3210 (step 1000) to 0.4200 (step 5000) while training loss fell"
        in block.lower()
    )
    rules = {r["rule"] for r in context["risks"]}
    assert {"MC628", "MC630"} <= rules and "MC629" not in rules and "MC608" not in rules
    assert "/storage/elsayedissa" not in card + json.dumps(context)
    assert "| Best checkpoint | checkpoint-3000 |" in card
    assert (
        context["training"]["total_flos"]["source"] == "trainer_state.json:total_flos"
    )  # only there
    # results: [] was "none": the model-index is written from the files, under the author's name
    index = front(card)["model-index"]
    assert index[0]["name"] == "whisper-large-v2-japanese-5k-steps"
    metrics = {m["type"]: m["value"] for m in index[0]["results"][0]["metrics"]}
    assert metrics == {"loss": pytest.approx(0.42001459), "wer": pytest.approx(0.74493657)}
    assert index[0]["results"][0]["dataset"]["name"] == "mozilla-foundation/common_voice_11_0"


@needs_cases
def test_axolotl_ships_a_checkpoint_partway_through(tmp_path: Path) -> None:
    project = initialised_and_built("axolotl-tinyllama-lora-out", tmp_path)
    model = project / "outputs" / "lora-out"
    card, context = (model / "README.md").read_text(), json.loads((model / "card.json").read_text())
    progress = context["evaluation_record"]["progress"]
    assert (progress["step"], progress["max_steps"], progress["partway"]) == (20, 80, True)
    block = evaluation_block(card)
    assert "partway through training: step 20 of 80 (20/80 steps, epoch 0.98 of 4" in block
    rows = context["evaluation"]
    assert [(r["metric"], r["display"], r["step"], r["checkpoint"]) for r in rows] == [
        ("loss", "2.4008", 20, "checkpoint-20")
    ]
    assert "MC628" not in {r["rule"] for r in context["risks"]}  # eval loss fell throughout


@needs_cases
def test_llamafactory_reports_no_evaluation(tmp_path: Path) -> None:
    project = initialised_and_built("llamafactory-qwen3-14b-lora", tmp_path)
    card, context = (
        (project / "README.md").read_text(),
        json.loads((project / "card.json").read_text()),
    )
    assert context["evaluation"] == []
    block = evaluation_block(card)
    assert "No evaluation was reported" in block and "0.9732" not in block
    assert context["training"]["train_loss"]["value"] == pytest.approx(0.9732094605763754)
    assert "model-index" not in front(card) or not front(card)["model-index"][0].get("results")
    assert context["training"]["total_flos"]["source"] == "train_results.json:total_flos"


@needs_cases
def test_sentence_transformers_case_has_no_evaluation(tmp_path: Path) -> None:
    project = initialised_and_built("st-movie-minilm-l6-v2-mnrl", tmp_path)
    model = project / "movie_query_engine" / "data" / "sbert-finetuned-movie-model"
    context = json.loads((model / "card.json").read_text())
    assert context["evaluation"] == [] and context["evaluation_record"] is None
    assert "No evaluation results were found" in (model / "README.md").read_text()


def test_an_authors_model_index_value_is_held_against_the_files(tmp_path: Path) -> None:
    readme = (
        "---\nmodel-index:\n- name: x\n  results:\n  - task: {type: text-classification}\n"
        "    metrics:\n    - {type: accuracy, value: 0.91}\n    - {type: loss, value: 0.42}\n---\n# x\n"
    )
    folder = model_folder(
        tmp_path, state([(10, 0.42, 0.81)]), eval_results__json={"eval_accuracy": 0.81},
        README__md=readme,
    )  # fmt: skip
    facts, record = record_of(folder)
    assert [(c.where, c.label, c.agrees) for c in record.claims] == [
        ("README.md model-index", "accuracy", False),
        ("README.md model-index", "loss", True),
    ]
    (mc629,) = [f for f in evaluation_findings(facts) if f.rule == "MC629"]
    assert "README.md model-index states accuracy 0.91; the files give 0.8100" in mc629.message
    assert "eval_results.json:eval_accuracy" in mc629.message
