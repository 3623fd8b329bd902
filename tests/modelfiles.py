"""Helpers that write real model folders: real JSON, real safetensors, real git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

REALCASES = Path(__file__).resolve().parents[2] / "shared" / "realcases"
EXAMPLE_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "make_example.py"


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def llama_config(**overrides: Any) -> dict[str, Any]:
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16,
        "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "num_key_value_heads": 1, "vocab_size": 40, "max_position_embeddings": 128,
        "rope_theta": 10000.0, "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
        "transformers_version": "4.40.0",
    }  # fmt: skip
    config.update(overrides)
    return config


def llama_tensors(
    vocab: int = 40, hidden: int = 16, layers: int = 2, seed: int = 0, prefix: str = ""
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tensors = {
        f"{prefix}model.embed_tokens.weight": rng.standard_normal((vocab, hidden), dtype=np.float32)
    }
    for i in range(layers):
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[f"{prefix}model.layers.{i}.self_attn.{name}.weight"] = rng.standard_normal(
                (hidden, hidden), dtype=np.float32
            )
        tensors[f"{prefix}model.layers.{i}.input_layernorm.weight"] = np.ones(
            hidden, dtype=np.float32
        )
    tensors[f"{prefix}lm_head.weight"] = rng.standard_normal((vocab, hidden), dtype=np.float32)
    return tensors


def make_model(
    folder: Path,
    *,
    config: dict[str, Any] | None = None,
    tensors: dict[str, np.ndarray] | None = None,
    tokenizer: dict[str, Any] | None = None,
    generation: dict[str, Any] | None = None,
    readme: str | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        write_json(folder / "config.json", config)
    if tensors is not None:
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer is not None:
        write_json(folder / "tokenizer_config.json", tokenizer)
    if generation is not None:
        write_json(folder / "generation_config.json", generation)
    if readme is not None:
        (folder / "README.md").write_text(readme, encoding="utf-8")
    return folder


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def run_modelcards(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: a real process, with its exit code and both streams."""
    import os
    import sys

    return subprocess.run(
        [sys.executable, "-m", "modelcards", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip
