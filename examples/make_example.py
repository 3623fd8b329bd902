#!/usr/bin/env python3
"""Make the bundled example: a small git repository with a base model and two models made from it.

    python examples/make_example.py OUT [--force]

OUT becomes a git repository holding

    base-model/          the upstream base "acme/tiny-llama-base" (a 2-layer Llama, vocab 320)
    models/chat-tuned/   a full fine-tune: ChatML tokens and template, resized embeddings,
                         new generation defaults, layer 1 retrained, Trainer records, a hand README
    models/chat-lora/    a PEFT LoRA adapter on q_proj/v_proj with a Llama-2 [INST] template
    modelcards.yml       which folders hold models and what each was made from

in four dated commits with two tags. The files are shaped like the ones transformers, PEFT and the
Hugging Face Trainer write, so every modelcards command has something real to read. Nothing is
downloaded, and the output is byte-for-byte the same on every run and every machine (fixed random
seeds, fixed git identities and dates), so the commit ids are too.

Only the standard library, numpy and safetensors are used, so a newcomer can run it right after
installing modelcards. Importable as well: `make_example(Path("out"))`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

BASE_ID = "acme/tiny-llama-base"
HIDDEN = 64
INTERMEDIATE = 172
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = HIDDEN // HEADS
VOCAB = 320
MAX_POSITIONS = 2048
LORA_R = 8

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}"
)

# Text the tiny tokenizer's merges are learned from: what matters is that the vocabulary is real
# BPE output (every merge's parts are in the vocabulary), not that it tokenizes well.
TOKENIZER_CORPUS = """
hello and thank you for contacting the support team. i can help you with your order today.
please tell me the order number and the email address on the account. the order was sent on
monday and it should arrive at the end of the week. if the parcel does not arrive, we will send
a new one or return the money to your card. thank you for your patience, and have a good day.
"""

# Git identity and dates: fixed, so that the commit ids are the same on every machine.
GIT_NAME = "Acme ML Team"
GIT_EMAIL = "ml-team@acme.example"
GIT_OPTIONS = (
    "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false",
    "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false",
)  # fmt: skip


# ---------------------------------------------------------------------------------------- files


def write_json(path: Path, value: Any, *, sort_keys: bool = True) -> None:
    """JSON the way transformers writes it: indent 2, sorted keys, a trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8", newline="\n")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.ascontiguousarray(t) for name, t in sorted(tensors.items())}
    save_file(arrays, str(path), metadata={"format": "pt"})


# ------------------------------------------------------------------------------------ tokenizer


def _added_token(content: str) -> dict[str, Any]:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False}  # fmt: skip


SPECIALS = ("<unk>", "<s>", "</s>")  # ids 0, 1, 2, as in Llama


def _learn_bpe(text: str, size: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Learn `size` tokens by plain BPE: the merged tokens (in merge order) then the characters."""
    words = Counter("\u2581" + word for word in text.split())
    chars = sorted({c for word in words for c in word})
    splits = {word: list(word) for word in words}
    known = set(chars)
    merged: list[str] = []
    merges: list[tuple[str, str]] = []
    while len(merged) + len(chars) < size:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            parts = splits[word]
            for pair in zip(parts, parts[1:], strict=False):
                if pair[0] + pair[1] not in known:
                    pairs[pair] += count
        if not pairs:
            raise RuntimeError("tokenizer corpus too small for the vocabulary size")
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))  # ties: first in code order
        merges.append(best)
        merged.append(best[0] + best[1])
        known.add(best[0] + best[1])
        for word, parts in splits.items():
            out: list[str] = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    out.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            splits[word] = out
    return merged + chars, merges


def tokenizer_json(extra_special: tuple[str, ...] = (), *, merges_as_pairs: bool) -> dict[str, Any]:
    """A Llama-style `tokenizer.json`: byte-fallback BPE, ids 3-258 the byte tokens <0x00>-<0xFF>.

    `merges_as_pairs`: tokenizers >= 0.20 (transformers 4.45+) writes merges as [a, b] lists,
    older versions as "a b" strings; the fine-tune was saved by the newer one.
    """
    learned, merges = _learn_bpe(TOKENIZER_CORPUS, VOCAB - len(SPECIALS) - 256)
    tokens = [*SPECIALS, *(f"<0x{b:02X}>" for b in range(256)), *learned]
    assert len(tokens) == len(set(tokens)) == VOCAB
    ids = [*range(len(SPECIALS)), *range(VOCAB, VOCAB + len(extra_special))]
    added = [
        {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, content in zip(ids, (*SPECIALS, *extra_special), strict=True)
    ]  # fmt: skip
    bos = {"SpecialToken": {"id": "<s>", "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "first",
            "split": False,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                bos,
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<s>", "type_id": 1}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": {token: i for i, token in enumerate(tokens)},
            "merges": [list(m) if merges_as_pairs else f"{m[0]} {m[1]}" for m in merges],
        },
    }


def tokenizer_config(
    extra_special: tuple[str, ...] = (), *, eos: str = "</s>", chat_template: str | None = None
) -> dict[str, Any]:
    decoder = {
        str(i): {**_added_token(content), "special": True}
        for i, content in [*enumerate(SPECIALS), *enumerate(extra_special, start=VOCAB)]
    }
    config: dict[str, Any] = {
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": None,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": eos,
        "legacy": False,
        "model_max_length": MAX_POSITIONS,
        "pad_token": None,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizerFast",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    if extra_special:
        config["additional_special_tokens"] = list(extra_special)
    if chat_template is not None:
        config["chat_template"] = chat_template
    return config


def special_tokens_map(extra_special: tuple[str, ...] = (), *, eos: str = "</s>") -> dict[str, Any]:
    mapping: dict[str, Any] = {
        "bos_token": _added_token("<s>"),
        "eos_token": _added_token(eos),
        "unk_token": _added_token("<unk>"),
    }
    if extra_special:
        mapping["additional_special_tokens"] = [_added_token(t) for t in extra_special]
    return mapping


# -------------------------------------------------------------------------------------- weights


def _layer_shapes() -> dict[str, tuple[int, ...]]:
    kv = KV_HEADS * HEAD_DIM
    return {
        "self_attn.q_proj.weight": (HEADS * HEAD_DIM, HIDDEN),
        "self_attn.k_proj.weight": (kv, HIDDEN),
        "self_attn.v_proj.weight": (kv, HIDDEN),
        "self_attn.o_proj.weight": (HIDDEN, HEADS * HEAD_DIM),
        "mlp.gate_proj.weight": (INTERMEDIATE, HIDDEN),
        "mlp.up_proj.weight": (INTERMEDIATE, HIDDEN),
        "mlp.down_proj.weight": (HIDDEN, INTERMEDIATE),
        "input_layernorm.weight": (HIDDEN,),
        "post_attention_layernorm.weight": (HIDDEN,),
    }


def base_weights() -> dict[str, np.ndarray]:
    """LlamaForCausalLM state dict for the config: normal(0, 0.02) matrices, RMSNorm weights 1."""
    rng = np.random.default_rng(20240110)

    def init(shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) == 1:
            return np.ones(shape, dtype=np.float32)
        return rng.normal(0.0, 0.02, size=shape).astype(np.float32)

    tensors = {"model.embed_tokens.weight": init((VOCAB, HIDDEN))}
    for layer in range(LAYERS):
        for name, shape in _layer_shapes().items():
            tensors[f"model.layers.{layer}.{name}"] = init(shape)
    tensors["model.norm.weight"] = init((HIDDEN,))
    tensors["lm_head.weight"] = init((VOCAB, HIDDEN))
    return tensors


def chat_tuned_weights(base: dict[str, np.ndarray], new_tokens: int) -> dict[str, np.ndarray]:
    """The base after fine-tuning: layer 1 attention and MLP moved a little, two token rows added.

    Everything else (layer 0, the norms) is the base bit for bit, so a per-tensor comparison has
    both changed and unchanged tensors to find.
    """
    rng = np.random.default_rng(20240201)
    tensors = {name: t.copy() for name, t in base.items()}
    for name in _layer_shapes():
        if name.startswith(("self_attn.", "mlp.")):
            key = f"model.layers.1.{name}"
            delta = rng.normal(0.0, 0.002, size=tensors[key].shape).astype(np.float32)
            tensors[key] = tensors[key] + delta
    for key in ("model.embed_tokens.weight", "lm_head.weight"):
        rows = rng.normal(0.0, 0.02, size=(new_tokens, HIDDEN)).astype(np.float32)
        tensors[key] = np.concatenate([tensors[key], rows])
    return tensors


def lora_weights() -> dict[str, np.ndarray]:
    """PEFT names for a LoRA on q_proj and v_proj; B is non-zero, so the adapter does something."""
    rng = np.random.default_rng(20240215)
    out = {"q_proj": HEADS * HEAD_DIM, "v_proj": KV_HEADS * HEAD_DIM}
    tensors: dict[str, np.ndarray] = {}
    for layer in range(LAYERS):
        for module, out_features in out.items():
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            bound = 1.0 / np.sqrt(HIDDEN)  # kaiming-uniform-like, as PEFT initialises A
            a = rng.uniform(-bound, bound, size=(LORA_R, HIDDEN))
            tensors[f"{prefix}.lora_A.weight"] = a.astype(np.float32)
            b = rng.normal(0.0, 0.01, size=(out_features, LORA_R))
            tensors[f"{prefix}.lora_B.weight"] = b.astype(np.float32)
    return tensors


# -------------------------------------------------------------------------------------- configs


def model_config(*, vocab: int, eos: int, newer: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": eos,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": MAX_POSITIONS,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.44.2",
        "use_cache": True,
        "vocab_size": vocab,
    }
    if newer:  # written by a newer transformers: the same model, spelled differently
        del config["torch_dtype"]
        config["dtype"] = "float32"
        config["transformers_version"] = "4.46.0"
        config["_name_or_path"] = BASE_ID
    return config


def base_readme() -> str:
    return """---
language:
- en
library_name: transformers
license: apache-2.0
pipeline_tag: text-generation
tags:
- llama
---

# tiny-llama-base

A two-layer Llama-architecture language model (64 hidden units, a 320-token byte-fallback BPE
vocabulary) pretrained by Acme as a small base for fine-tuning experiments. It is a base model:
it continues text and has no chat template.
"""


def chat_tuned_readme() -> str:
    return """---
license: apache-2.0
# dataset is internal, see the data sheet
datasets:
- acme/support-chats
language:
- en
---

# chat-tuned

## Intended use

An assistant for Acme's customer-support agents: it drafts replies to customer chats about
orders, deliveries and refunds, which an agent reads and edits before sending. It is not meant
to talk to customers directly, and it must not be used to make decisions about refunds or
accounts on its own.
"""


def trainer_records() -> dict[str, dict[str, Any]]:
    """trainer_state.json and the *_results.json files of a 3-epoch, 300-step run."""
    rng = np.random.default_rng(20240202)
    steps, per_epoch, lr = 300, 100, 2e-05
    log: list[dict[str, Any]] = []
    evals: dict[int, float] = {}
    for step in range(10, steps + 1, 10):
        loss = 1.35 + 1.6 * np.exp(-step / 60.0) + rng.normal(0.0, 0.03)
        log.append({
            "epoch": round(step / per_epoch, 4),
            "grad_norm": round(float(rng.uniform(0.6, 2.4)), 4),
            "learning_rate": lr * (steps - step) / steps,
            "loss": round(float(loss), 4),
            "step": step,
        })  # fmt: skip
        if step % per_epoch == 0:
            evals[step] = round(1.62 - 0.09 * (step // per_epoch) + float(rng.normal(0, 0.005)), 4)
            log.append({
                "epoch": step / per_epoch,
                "eval_loss": evals[step],
                "eval_runtime": 1.8421,
                "eval_samples_per_second": 108.572,
                "eval_steps_per_second": 13.571,
                "step": step,
            })  # fmt: skip
    train_loss = round(sum(e["loss"] for e in log if "loss" in e) / (steps // 10), 4)
    train = {
        "epoch": 3.0,
        "total_flos": 1523712000000.0,
        "train_loss": train_loss,
        "train_runtime": 142.6083,
        "train_samples_per_second": 16.829,
        "train_steps_per_second": 2.104,
    }
    log.append({**train, "step": steps})
    best_step = min(evals, key=lambda s: (evals[s], s))
    evaluation = {
        "epoch": 3.0,
        "eval_loss": evals[steps],
        "eval_runtime": 1.8421,
        "eval_samples_per_second": 108.572,
        "eval_steps_per_second": 13.571,
    }
    state = {
        "best_metric": evals[best_step],
        "best_model_checkpoint": f"outputs/checkpoint-{best_step}",
        "epoch": 3.0,
        "eval_steps": per_epoch,
        "global_step": steps,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": log,
        "logging_steps": 10,
        "max_steps": steps,
        "num_input_tokens_seen": 0,
        "num_train_epochs": 3,
        "save_steps": per_epoch,
        "stateful_callbacks": {
            "TrainerControl": {
                "args": {
                    "should_epoch_stop": False,
                    "should_evaluate": False,
                    "should_log": False,
                    "should_save": True,
                    "should_training_stop": True,
                },
                "attributes": {},
            }
        },
        "total_flos": train["total_flos"],
        "train_batch_size": 8,
        "trial_name": None,
        "trial_params": None,
    }
    return {
        "trainer_state.json": state,
        "train_results.json": train,
        "eval_results.json": evaluation,
        "all_results.json": {**train, **evaluation},
    }


def adapter_config() -> dict[str, Any]:
    """adapter_config.json as PEFT 0.12 writes it (sorted keys; every field, defaults included)."""
    return {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": BASE_ID,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layer_replication": None,
        "layers_pattern": None,
        "layers_to_transform": None,
        "loftq_config": {},
        "lora_alpha": 16,
        "lora_dropout": 0.05,
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": LORA_R,
        "rank_pattern": {},
        "revision": None,
        "target_modules": ["q_proj", "v_proj"],
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }


MODELCARDS_YML = """\
# modelcards configuration: which folders hold models, and what each was made from.
models:
  - path: models/chat-tuned
    base: {path: base-model, id: acme/tiny-llama-base}
  - path: models/chat-lora
    base: {path: base-model, id: acme/tiny-llama-base}
"""


# ------------------------------------------------------------------------------------ the folders


def write_base(root: Path) -> None:
    folder = root / "base-model"
    write_json(folder / "config.json", model_config(vocab=VOCAB, eos=2, newer=False))
    write_json(folder / "generation_config.json", {
        "bos_token_id": 1, "do_sample": True, "eos_token_id": 2, "max_length": MAX_POSITIONS,
        "temperature": 0.8, "top_p": 0.95, "transformers_version": "4.44.2",
    })  # fmt: skip
    write_json(folder / "tokenizer_config.json", tokenizer_config())
    write_json(folder / "special_tokens_map.json", special_tokens_map())
    # tokenizers writes tokenizer.json in its own field order, not sorted.
    write_json(folder / "tokenizer.json", tokenizer_json(merges_as_pairs=False), sort_keys=False)
    write_safetensors(folder / "model.safetensors", base_weights())
    write_text(folder / "README.md", base_readme())


def write_chat_tuned(root: Path) -> None:
    folder = root / "models" / "chat-tuned"
    added = (IM_START, IM_END)
    write_json(folder / "config.json", model_config(vocab=VOCAB + 2, eos=VOCAB + 1, newer=True))
    write_json(folder / "generation_config.json", {
        "bos_token_id": 1, "do_sample": True, "eos_token_id": [2, VOCAB + 1],
        "max_length": MAX_POSITIONS, "max_new_tokens": 256, "temperature": 0.7, "top_p": 0.9,
        "transformers_version": "4.46.0",
    })  # fmt: skip
    write_json(
        folder / "tokenizer_config.json",
        tokenizer_config(added, eos=IM_END, chat_template=CHATML_TEMPLATE),
    )
    write_json(folder / "special_tokens_map.json", special_tokens_map(added, eos=IM_END))
    write_json(
        folder / "tokenizer.json", tokenizer_json(added, merges_as_pairs=True), sort_keys=False
    )
    write_safetensors(folder / "model.safetensors", chat_tuned_weights(base_weights(), len(added)))
    for name, record in trainer_records().items():
        write_json(folder / name, record)
    write_text(folder / "README.md", chat_tuned_readme())


def write_config(root: Path) -> None:
    write_text(root / "modelcards.yml", MODELCARDS_YML)


def write_chat_lora(root: Path) -> None:
    folder = root / "models" / "chat-lora"
    write_json(folder / "adapter_config.json", adapter_config())
    write_safetensors(folder / "adapter_model.safetensors", lora_weights())
    write_json(folder / "tokenizer_config.json", tokenizer_config(chat_template=LLAMA2_TEMPLATE))
    write_json(folder / "special_tokens_map.json", special_tokens_map())
    write_json(folder / "tokenizer.json", tokenizer_json(merges_as_pairs=False), sort_keys=False)


# ------------------------------------------------------------------------------------------ git


def _git_env(date: str) -> dict[str, str]:
    """The caller's environment minus GIT_* variables and user/system git config; fixed dates."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": GIT_NAME, "GIT_AUTHOR_EMAIL": GIT_EMAIL, "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": GIT_NAME, "GIT_COMMITTER_EMAIL": GIT_EMAIL,
        "GIT_COMMITTER_DATE": date, "LC_ALL": "C", "TZ": "UTC",
    })  # fmt: skip
    return env


def git(repo: Path, *args: str, date: str = "2024-01-10T09:00:00+00:00") -> str:
    result = subprocess.run(
        ["git", *GIT_OPTIONS, *args], cwd=repo, env=_git_env(date),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def commit(repo: Path, paths: list[str], message: str, date: str) -> str:
    git(repo, "add", "--", *paths, date=date)
    git(repo, "commit", "-q", "--no-verify", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD", date=date)


# (date, writer, folder it fills, message, (tag, tag message) or None), oldest first.
HISTORY = (
    ("2024-01-10T09:00:00+00:00", write_base, "base-model",
     "chore: import base model acme/tiny-llama-base\n\n"
     "Weights and tokenizer as published upstream, unchanged.\n", None),
    ("2024-02-01T16:30:00+00:00", write_chat_tuned, "models/chat-tuned",
     "feat: fine-tune chat-tuned on support chats\n\n"
     "Full fine-tune for 3 epochs on acme/support-chats with the ChatML format;\n"
     "adds <|im_start|> and <|im_end|> and lowers the sampling temperature.\n",
     ("chat-tuned/v1.0", "chat-tuned v1.0: first release for the support pilot")),
    ("2024-02-15T11:00:00+00:00", write_chat_lora, "models/chat-lora",
     "train: LoRA adapter chat-lora\n\n"
     "Rank-8 LoRA on q_proj and v_proj, Llama-2 [INST] chat format.\n", None),
    ("2024-03-01T10:00:00+00:00", write_config, "modelcards.yml",
     "chore: add modelcards config\n\nLists both models and the base each was made from.\n",
     ("v0.1.0", "v0.1.0")),
)  # fmt: skip


def make_repository(root: Path) -> list[tuple[str, str, str | None]]:
    """Write the files commit by commit; returns (commit id, subject, tag) per commit."""
    git(root, "init", "-q")
    git(root, "config", "user.name", GIT_NAME)
    git(root, "config", "user.email", GIT_EMAIL)
    made = []
    for date, writer, path, message, tag in HISTORY:
        writer(root)
        sha = commit(root, [path], message, date)
        if tag is not None:
            git(root, "tag", "-a", tag[0], "-m", tag[1], sha, date=date)
        made.append((sha, message.splitlines()[0], tag[0] if tag else None))
    return made


# ------------------------------------------------------------------------------------- the entry


def make_example(out: Path, *, force: bool = False) -> list[tuple[str, str, str | None]]:
    """Create the example repository at `out`.

    Refuses a non-empty `out` unless `force`, which replaces it. The repository is built in a
    temporary sibling folder and moved into place, so a failure never leaves half an example.
    Returns (commit id, subject, tag) for each commit.
    """
    out = Path(out).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"{out} is not empty (use --force to replace it)")
        cwd = Path.cwd().resolve()
        if out.resolve() in (Path(out.anchor), Path.home().resolve(), cwd, *cwd.parents):
            raise FileExistsError(f"refusing to replace {out}: it holds the current folder or home")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        made = make_repository(work)
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.chmod(out, 0o755)  # mkdtemp makes 0700; the example is an ordinary folder
    return made


def _summary(out: Path, made: list[tuple[str, str, str | None]]) -> str:
    lines = [f"Made the modelcards example repository at {out}", ""]
    files = sorted(
        p for p in out.rglob("*") if p.is_file() and ".git" not in p.relative_to(out).parts
    )
    for path in files:
        lines.append(f"  {path.relative_to(out).as_posix():<48} {path.stat().st_size:>9,} bytes")
    lines += ["", "History (oldest first):"]
    for sha, subject, tag in made:
        lines.append(f"  {sha[:10]}  {subject}" + (f"  [tag {tag}]" if tag else ""))
    lines += ["", "Try:", f"  cd {out}", "  modelcards diff base-model models/chat-tuned"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to create the example repository in")
    parser.add_argument("--force", action="store_true", help="replace OUT if it is not empty")
    args = parser.parse_args(argv)
    try:
        made = make_example(args.out, force=args.force)
    except (OSError, RuntimeError) as exc:
        print(f"make_example: {exc}", file=sys.stderr)
        return 1
    print(_summary(args.out.absolute(), made))
    return 0


if __name__ == "__main__":
    sys.exit(main())
