"""Fixtures for the resolve tests: real model files (JSON configs, a real safetensors file)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

LFS_OID = hashlib.sha256(b"pretend these are 5 GB of weights").hexdigest()
LFS_POINTER = (
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{LFS_OID}\nsize 5000000000\n"
).encode()


def write_model(folder: Path, *, hidden: int, vocab: int = 32, lfs_pointer: bool = True) -> None:
    """A small but real model folder: config, tokenizer config, safetensors weights."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "vocab_size": vocab,
        "max_position_embeddings": 128,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"model_max_length": 128, "bos_token": "<s>", "eos_token": "</s>"}) + "\n"
    )
    tensors = {
        "model.embed_tokens.weight": np.arange(vocab * hidden, dtype=np.float32).reshape(
            vocab, hidden
        ),
        "lm_head.weight": np.ones((vocab, hidden), dtype=np.float16),
    }
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if lfs_pointer:
        (folder / "pytorch_model.bin").write_bytes(LFS_POINTER)


@pytest.fixture
def model_writer() -> Callable[..., None]:
    return write_model
