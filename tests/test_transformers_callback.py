"""ModelcardsCallback in a real Trainer run: a tiny Llama trained two steps inside a git repo."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # the Trainer needs it

from modelcards.integrations.transformers import ModelcardsCallback  # noqa: E402
from modelfiles import git  # noqa: E402

VOCAB = 64


def tiny_llama(seed: int = 0) -> Any:
    config = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(config)


def train(repo: Path, callback: ModelcardsCallback, **overrides: Any) -> Path:
    """Two steps on eight short sequences, a checkpoint at step 2; returns output_dir."""
    model = transformers.LlamaForCausalLM.from_pretrained(repo / "base")  # _name_or_path: base
    rows = [torch.arange(i, i + 8) % VOCAB for i in range(8)]
    data = [{"input_ids": r, "labels": r} for r in rows]
    args = transformers.TrainingArguments(
        output_dir=str(repo / "out"), max_steps=2, save_strategy="steps", save_steps=2,
        per_device_train_batch_size=4, learning_rate=1e-2, report_to=[], use_cpu=True,
        disable_tqdm=True, logging_steps=1, seed=0, **overrides,
    )  # fmt: skip
    transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[callback]).train()
    return repo / "out"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    tiny_llama().save_pretrained(repo / "base")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base model")
    return repo


def test_each_checkpoint_gets_its_card(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    callback = ModelcardsCallback(check=True)
    with caplog.at_level(logging.INFO, logger="modelcards.integrations.transformers"):
        out = train(repo, callback)
    checkpoint = out / "checkpoint-2"
    card = (checkpoint / "README.md").read_text()
    data = json.loads((checkpoint / "card.json").read_text())
    assert (checkpoint / "CHANGES.md").is_file()
    assert data["coverage"]["base"]["state"] == "compared"
    assert data["model"]["relation"] == "finetune"
    assert data["diff"]["base"]["location"] == "base"
    weights = data["diff"]["weights"]
    assert weights["base_params"] == weights["tuned_params"] > 0
    assert "trainer_state.json" in json.dumps(data)  # the training record was read
    assert "base_model: base\n" not in card  # a folder of the project is never a Hub id
    assert [r.models[0].path for r in callback.reports] == ["out/checkpoint-2"]
    assert "wrote out/checkpoint-2/README.md (base compared" in caplog.text
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "no card" in r.message
    ]


def test_modelcards_yml_names_the_base(repo: Path) -> None:
    """A configured output_dir: its checkpoints are built with the configured base."""
    (repo / "modelcards.yml").write_text("models:\n  - {path: out, base: base}\n")
    train(repo, ModelcardsCallback())
    data = json.loads((repo / "out/checkpoint-2/card.json").read_text())
    assert data["coverage"]["base"]["state"] == "compared"
    assert data["diff"]["base"]["location"] == "base"


def test_a_failure_is_a_warning_not_a_crash(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    (repo / "modelcards.yml").write_text("models: [{path: out, bogus: 1}]\n")
    callback = ModelcardsCallback()
    with caplog.at_level(logging.WARNING):
        train(repo, callback)  # the run finishes
    assert (repo / "out/checkpoint-2/model.safetensors").is_file()
    assert not (repo / "out/checkpoint-2/README.md").exists()
    (warning,) = [r.getMessage() for r in caplog.records if "modelcards" in r.getMessage()]
    assert "no card for" in warning and "bogus" in warning and "\n" not in warning
    assert callback.reports == []


def test_save_model_then_document_the_output_folder(repo: Path) -> None:
    callback = ModelcardsCallback(checkpoints=False)
    out = train(repo, callback)
    assert not (out / "checkpoint-2/README.md").exists()
    model = transformers.LlamaForCausalLM.from_pretrained(out / "checkpoint-2")
    model.save_pretrained(out / "final")
    report = callback.document(out / "final", model=model)
    assert report is not None and not report.failed
    data = json.loads((out / "final/card.json").read_text())
    assert data["diff"]["base"]["location"] == "out/checkpoint-2"  # what it was loaded from


def test_the_callback_is_there_from_the_integrations_package() -> None:
    from modelcards import integrations

    assert integrations.ModelcardsCallback is ModelcardsCallback
    with pytest.raises(AttributeError):
        integrations.NoSuchCallback  # noqa: B018
