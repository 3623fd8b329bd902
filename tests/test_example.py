"""The bundled example (examples/make_example.py): what a newcomer runs first, so it must work
offline, look like real transformers/PEFT/Trainer output, and be the same bytes on every run."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "make_example.py"

EXPECTED_FILES = {
    "modelcards.yml",
    *(
        f"base-model/{name}"
        for name in (
            "README.md", "config.json", "generation_config.json", "model.safetensors",
            "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
        )
    ),
    *(
        f"models/chat-tuned/{name}"
        for name in (
            "README.md", "config.json", "generation_config.json", "model.safetensors",
            "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
            "trainer_state.json", "all_results.json", "train_results.json", "eval_results.json",
        )
    ),
    *(
        f"models/chat-lora/{name}"
        for name in (
            "adapter_config.json", "adapter_model.safetensors", "special_tokens_map.json",
            "tokenizer.json", "tokenizer_config.json",
        )
    ),
}  # fmt: skip


def run_script(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(out), *args], capture_output=True, text=True, timeout=120
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def tree(root: Path) -> dict[str, str]:
    """sha256 of every file outside .git, by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example") / "repo"
    result = run_script(out)
    assert result.returncode == 0, result.stderr
    assert "chat-tuned/v1.0" in result.stdout and "models/chat-lora" in result.stdout
    return out


def test_tree(example: Path) -> None:
    assert set(tree(example)) == EXPECTED_FILES
    assert (example / "modelcards.yml").read_text().startswith("# modelcards configuration:")
    assert (
        "- path: models/chat-lora\n    base: {path: base-model, id: acme/tiny-llama-base}"
        in (example / "modelcards.yml").read_text()
    )


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} in JSON")


def test_every_json_parses_and_is_canonical(example: Path) -> None:
    for name in EXPECTED_FILES:
        if name.endswith(".json"):
            text = (example / name).read_text(encoding="utf-8")
            assert text.endswith("}\n"), name
            json.loads(text, parse_constant=_reject)  # NaN/Infinity are not JSON


def test_configs_tell_the_story(example: Path) -> None:
    def load(name: str) -> dict:
        return json.loads((example / name).read_text())

    base, tuned = load("base-model/config.json"), load("models/chat-tuned/config.json")
    assert (base["vocab_size"], tuned["vocab_size"]) == (320, 322)
    assert (base["eos_token_id"], tuned["eos_token_id"]) == (2, 321)
    assert base["torch_dtype"] == "float32" and "torch_dtype" not in tuned
    assert tuned["dtype"] == "float32" and tuned["transformers_version"] == "4.46.0"

    tok = load("models/chat-tuned/tokenizer_config.json")
    assert tok["eos_token"] == "<|im_end|>" and "<|im_start|>" in tok["chat_template"]
    assert {k: v["content"] for k, v in tok["added_tokens_decoder"].items()} == {
        "0": "<unk>", "1": "<s>", "2": "</s>", "320": "<|im_start|>", "321": "<|im_end|>",
    }  # fmt: skip
    assert "chat_template" not in load("base-model/tokenizer_config.json")
    assert "[INST]" in load("models/chat-lora/tokenizer_config.json")["chat_template"]

    tokenizer = load("models/chat-tuned/tokenizer.json")
    assert len(tokenizer["model"]["vocab"]) == 320
    assert [t["id"] for t in tokenizer["added_tokens"]] == [0, 1, 2, 320, 321]

    generation = load("models/chat-tuned/generation_config.json")
    assert (generation["temperature"], generation["top_p"]) == (0.7, 0.9)
    assert generation["eos_token_id"] == [2, 321] and generation["max_new_tokens"] == 256

    state = load("models/chat-tuned/trainer_state.json")
    assert (state["global_step"], state["epoch"]) == (300, 3.0)
    assert state["best_model_checkpoint"] == "outputs/checkpoint-300"
    losses = [e["step"] for e in state["log_history"] if "loss" in e]
    evals = [e["step"] for e in state["log_history"] if "eval_loss" in e]
    assert losses == list(range(10, 301, 10)) and evals == [100, 200, 300]

    adapter = load("models/chat-lora/adapter_config.json")
    assert adapter["peft_type"] == "LORA" and adapter["r"] == 8
    assert adapter["base_model_name_or_path"] == "acme/tiny-llama-base"

    readme = (example / "models/chat-tuned/README.md").read_text()
    assert "# dataset is internal, see the data sheet\n" in readme
    assert "## Intended use\n" in readme


def test_weights(example: Path) -> None:
    base = load_file(example / "base-model/model.safetensors")
    tuned = load_file(example / "models/chat-tuned/model.safetensors")
    assert base["model.embed_tokens.weight"].shape == (320, 64)
    assert base["lm_head.weight"].shape == (320, 64)
    assert base["model.layers.1.self_attn.k_proj.weight"].shape == (32, 64)
    assert base["model.layers.0.mlp.down_proj.weight"].shape == (64, 172)
    assert len(base) == 2 + 2 * 9 + 1 and all(t.dtype == np.float32 for t in base.values())
    assert tuned["model.embed_tokens.weight"].shape == (322, 64)
    assert tuned["lm_head.weight"].shape == (322, 64)
    for name, tensor in base.items():
        if name.startswith("model.layers.0."):
            assert tensor.tobytes() == tuned[name].tobytes(), name
    q = "model.layers.1.self_attn.q_proj.weight"
    assert not np.array_equal(base[q], tuned[q])
    assert np.abs(base[q] - tuned[q]).max() < 0.05  # a fine-tune, not a new model
    old_rows = tuned["model.embed_tokens.weight"][:320]
    assert old_rows.tobytes() == base["model.embed_tokens.weight"].tobytes()

    lora = load_file(example / "models/chat-lora/adapter_model.safetensors")
    prefix = "base_model.model.model.layers.1.self_attn"
    assert lora[f"{prefix}.q_proj.lora_A.weight"].shape == (8, 64)
    assert lora[f"{prefix}.v_proj.lora_B.weight"].shape == (32, 8)
    assert np.abs(lora[f"{prefix}.v_proj.lora_B.weight"]).max() > 0
    assert len(lora) == 8


def test_tokenizer_loads_in_tokenizers(example: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(example / "models/chat-tuned/tokenizer.json"))
    assert tok.get_vocab_size() == 322
    ids = tok.encode("thank you for your order<|im_end|>").ids
    assert ids[0] == 1 and ids[-1] == 321


def test_history(example: Path) -> None:
    log = git(example, "log", "--reverse", "--format=%ad|%s", "--date=short").splitlines()
    assert log == [
        "2024-01-10|chore: import base model acme/tiny-llama-base",
        "2024-02-01|feat: fine-tune chat-tuned on support chats",
        "2024-02-15|train: LoRA adapter chat-lora",
        "2024-03-01|chore: add modelcards config",
    ]
    assert git(example, "tag").splitlines() == ["chat-tuned/v1.0", "v0.1.0"]
    assert git(example, "cat-file", "-t", "v0.1.0") == "tag"  # annotated
    assert git(example, "rev-parse", "chat-tuned/v1.0^{commit}") == git(
        example, "rev-parse", "HEAD~2"
    )
    assert git(example, "rev-parse", "v0.1.0^{commit}") == git(example, "rev-parse", "HEAD")
    assert git(example, "show", "--name-only", "--format=", "HEAD~1").splitlines() == [
        f"models/chat-lora/{name}"
        for name in sorted(n.split("/")[-1] for n in EXPECTED_FILES if "chat-lora" in n)
    ]
    assert git(example, "status", "--porcelain") == ""


def test_same_bytes_and_commits_every_time(example: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert run_script(again).returncode == 0
    assert tree(again) == tree(example)
    for ref in ("HEAD", "HEAD~3", "chat-tuned/v1.0", "v0.1.0"):
        assert git(again, "rev-parse", ref) == git(example, "rev-parse", ref), ref


def test_refuses_non_empty_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_script(out)
    assert result.returncode == 1 and "not empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "keep.txt").exists()
    assert run_script(out, "--force").returncode == 0
    assert not (out / "keep.txt").exists() and (out / "modelcards.yml").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]  # no temporary folder left behind


def test_importable(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "imported"
    module.make_example(out)
    assert set(tree(out)) == EXPECTED_FILES
    with pytest.raises(FileExistsError):
        module.make_example(out)
