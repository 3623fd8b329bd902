"""compare: real model folders in, the changes that matter first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from modelcards.compare import compare
from modelcards.inspect import inspect_snapshot
from modelcards.resolve import resolve_reference
from modelfiles import llama_config, llama_tensors, make_model, write_json


def diff_of(root: Path, base: str, tuned: str):
    return compare(
        inspect_snapshot(resolve_reference(base, project_root=root)),
        inspect_snapshot(resolve_reference(tuned, project_root=root)),
    )


def by_key(diff):
    return {(c.file, c.key): c for c in diff.changes}


def test_resized_embedding_and_added_tokens_are_significant(tmp_path: Path) -> None:
    make_model(
        tmp_path / "base",
        config=llama_config(),
        tensors=llama_tensors(),
        tokenizer={"bos_token": "<s>", "eos_token": "</s>", "model_max_length": 128},
    )
    tuned_tensors = llama_tensors(vocab=42)
    make_model(
        tmp_path / "tuned",
        config=llama_config(vocab_size=42, transformers_version="4.46.0"),
        tensors=tuned_tensors,
        tokenizer={
            "bos_token": "<s>",
            "eos_token": "<|im_end|>",
            "model_max_length": 128,
            "added_tokens_decoder": {
                "40": {"content": "<|im_start|>", "special": True},
                "41": {"content": "<|im_end|>", "special": True},
            },
            "chat_template": "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}",
        },
    )
    diff = diff_of(tmp_path, "base", "tuned")
    changes = by_key(diff)
    assert diff.relation == "finetune"
    vocab = changes[("config.json", "vocab_size")]
    assert vocab.significant and vocab.before == 40 and vocab.after == 42
    assert "+2 tokens" in vocab.meaning
    assert changes[("config.json", "transformers_version")].significant is False
    assert changes[("tokenizer_config.json", "special_tokens.eos_token")].after == "<|im_end|>"
    added = changes[("tokenizer_config.json", "added_tokens")]
    assert added.after == ["40: <|im_start|>", "41: <|im_end|>"]
    template = changes[("tokenizer_config.json", "chat_template")]
    assert template.area == "chat-template" and template.before is None
    assert "+{% for m in messages %}" in (template.detail or "")
    reshaped = {c.key for c in diff.changes if c.key.startswith("tensors.") and c.area == "weights"}
    assert reshaped == {"tensors.model.embed_tokens.weight", "tensors.lm_head.weight"}
    # significant changes come before every insignificant one
    flags = [c.significant for c in diff.changes]
    assert flags == sorted(flags, reverse=True)


def test_serializer_noise_is_not_significant(tmp_path: Path) -> None:
    base_config = llama_config()
    tuned_config = llama_config(
        transformers_version="4.50.0",
        _name_or_path="/tmp/run/outputs",
        output_attentions=False,
        use_cache=True,
    )
    tuned_config["dtype"] = tuned_config.pop("torch_dtype")  # the newer spelling, same value
    make_model(tmp_path / "base", config=base_config)
    make_model(tmp_path / "tuned", config=tuned_config)
    diff = diff_of(tmp_path, "base", "tuned")
    assert diff.significant == ()
    assert {c.key for c in diff.changes} == {
        "transformers_version",
        "_name_or_path",
        "output_attentions",
        "use_cache",
    }


def test_task_head_rename_is_matched_not_listed(tmp_path: Path) -> None:
    base = llama_tensors()
    tuned = {f"backbone.{k}": v for k, v in base.items()}
    tuned["classifier.weight"] = np.zeros((3, 16), dtype=np.float32)
    make_model(tmp_path / "base", config=llama_config(), tensors=base)
    make_model(tmp_path / "tuned", config=llama_config(), tensors=tuned)
    diff = diff_of(tmp_path, "base", "tuned")
    assert diff.weights.added == ("classifier.weight",)
    assert diff.weights.removed == ()
    assert [(r.base_prefix, r.tuned_prefix, r.count) for r in diff.weights.renames] == [
        ("", "backbone.", len(base))
    ]
    assert diff.weights.matched == len(base)


def test_retyped_tensors_are_grouped_by_dtype(tmp_path: Path) -> None:
    base = llama_tensors()
    tuned = {k: v.astype(np.float16) if "self_attn" in k else v for k, v in base.items()}
    make_model(tmp_path / "base", config=llama_config(), tensors=base)
    make_model(tmp_path / "tuned", config=llama_config(), tensors=tuned)
    diff = diff_of(tmp_path, "base", "tuned")
    precision = [c for c in diff.changes if c.area == "precision"]
    assert [(c.before, c.after) for c in precision] == [("F32", "F16")]
    assert precision[0].meaning.startswith("8 tensors stored as F16")


def test_lora_adapter_weights_attach_to_base_tensors(tmp_path: Path) -> None:
    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    adapter = tmp_path / "adapter"
    write_json(
        adapter / "adapter_config.json",
        {
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "r": 4,
            "lora_alpha": 8,
            "target_modules": ["q_proj", "v_proj"],
            "base_model_name_or_path": "org/base",
        },
    )
    from safetensors.numpy import save_file

    lora = {}
    for i in range(2):
        for proj in ("q_proj", "v_proj"):
            stem = f"base_model.model.model.layers.{i}.self_attn.{proj}"
            lora[f"{stem}.lora_A.weight"] = np.ones((4, 16), dtype=np.float32)
            lora[f"{stem}.lora_B.weight"] = np.zeros((16, 4), dtype=np.float32)
    save_file(lora, str(adapter / "adapter_model.safetensors"))
    diff = diff_of(tmp_path, "base", "adapter")
    assert diff.relation == "adapter"
    assert diff.weights.adapter is not None
    assert diff.weights.adapter.trainable_params == 4 * (4 * 16 + 16 * 4)  # 4 A/B pairs
    assert len(diff.weights.adapter.targeted_base_tensors) == 4
    assert diff.weights.adapter.unmatched == ()
    # the adapter runs with the base's config: no config change is reported
    assert not [c for c in diff.changes if c.file == "config.json"]
    assert {c.key for c in diff.changes if c.area == "adapter"} >= {
        "peft_type",
        "r",
        "target_modules",
    }


def test_real_tinyllama_lora_adapter(realcases: Path) -> None:
    diff = diff_of(realcases, "tinyllama-1.1b-chat-base", "tinyllama-lora-structured-output")
    assert diff.relation == "adapter"
    keys = [c.key for c in diff.significant]
    assert keys[:4] == ["peft_type", "task_type", "r", "lora_alpha"]
    target = next(c for c in diff.changes if c.key == "target_modules")
    assert sorted(target.after) == [
        "down_proj",
        "gate_proj",
        "k_proj",
        "o_proj",
        "q_proj",
        "up_proj",
        "v_proj",
    ]


def test_real_roberta_squad_finetune(realcases: Path) -> None:
    diff = diff_of(realcases, "roberta-base-legacy", "roberta-base-squad2")
    changes = by_key(diff)
    assert changes[("config.json", "architectures")].after == ["RobertaForQuestionAnswering"]
    assert changes[("README.md", "datasets")].after == ["squad_v2"]
    # legacy keys written with library defaults are noise, not changes
    for key in ("output_attentions", "torchscript", "output_hidden_states", "num_labels"):
        assert changes[("config.json", key)].significant is False
    # the LFS pointer gives size and sha256; the legacy base folder holds no weight file at all,
    # so the pointer is listed, not reported as a weight file "added" against it
    assert ("pytorch_model.bin", "files.pytorch_model.bin") not in changes
    (row,) = [r for r in diff.weights.opaque_files if r["file"] == "pytorch_model.bin"]
    assert row["status"] == "not compared" and "holds no weight files" in row["reason"]
    assert row["after"] == {
        "size": 496313727,
        "sha256": "e0b64ccefc1bcb569b604baea27eb873e5482fdf6eb3ceff1fb5368397db5aed",
    }


def test_real_yarn_context_extension_comes_first(realcases: Path) -> None:
    diff = diff_of(realcases, "tinyllama-1.1b-chat-base", "yarn-mistral-7b-128k")
    context = {c.key: c for c in diff.changes if c.area == "context"}
    assert context["rope_scaling"].after["type"] == "yarn"
    assert context["max_position_embeddings"].meaning.endswith("tokens (×16)")
    assert any(c.area == "remote-code" and c.key == "auto_map" for c in diff.significant)
    assert all(not c.significant for c in diff.changes if c.key == "transformers_version")


def test_real_dialogpt_history_chat_template_added(realcases: Path, tmp_path: Path) -> None:
    """dialogpt's commit abd2854 added a default chat template to tokenizer_config.json."""
    history = realcases / "dialogpt-small" / "history"
    for side, commit in (("old", "364722e"), ("new", "abd2854")):
        dest = tmp_path / side
        dest.mkdir()
        (dest / "config.json").write_bytes(
            (realcases / "dialogpt-small" / "config.json").read_bytes()
        )
        source = history / f"tokenizer_config-{commit}" / "tokenizer_config.json"
        (dest / "tokenizer_config.json").write_bytes(source.read_bytes())
    diff = diff_of(tmp_path, "old", "new")
    template = next(c for c in diff.changes if c.area == "chat-template")
    assert template.significant and template.before is None
    new = json.loads((history / "tokenizer_config-abd2854" / "tokenizer_config.json").read_text())
    assert template.after == new["chat_template"]
    # the same commit range also raised the tokenizer's max length
    context = next(c for c in diff.significant if c.key == "model_max_length")
    assert (context.before, context.after) == (512, 1024)


def sparse_safetensors(
    path: Path, header: dict, *, rename: str = "", extra: dict | None = None
) -> None:
    """A real-size safetensors file from a real header: JSON header written, data left sparse."""
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    entries, offset = {}, 0
    for name, spec in sorted(tensors.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        size = spec["data_offsets"][1] - spec["data_offsets"][0]
        entries[rename + name] = {**spec, "data_offsets": [offset, offset + size]}
        offset += size
    for name, spec in (extra or {}).items():
        size = spec["bytes"]
        entries[name] = {
            "dtype": spec["dtype"],
            "shape": spec["shape"],
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps({"__metadata__": header.get("__metadata__", {}), **entries}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(len(raw).to_bytes(8, "little") + raw)
    os.truncate(path, 8 + len(raw) + offset)


def test_real_minilm_header_wrapped_by_a_classifier_head(realcases: Path, tmp_path: Path) -> None:
    """all-MiniLM-L6-v2's real tensor names, and a fine-tune that wraps them as `bert.*`."""
    source = realcases / "all-minilm-l6-v2-pypi"
    header = json.loads((source / "model.safetensors.header.json").read_text())["header"]
    for side in ("base", "tuned"):
        (tmp_path / side).mkdir()
        shutil.copy(source / "config.json", tmp_path / side / "config.json")
    sparse_safetensors(tmp_path / "base" / "model.safetensors", header)
    head = {"classifier.weight": {"dtype": "F32", "shape": [3, 384], "bytes": 3 * 384 * 4},
            "classifier.bias": {"dtype": "F32", "shape": [3], "bytes": 12}}  # fmt: skip
    sparse_safetensors(tmp_path / "tuned" / "model.safetensors", header, rename="bert.", extra=head)
    diff = diff_of(tmp_path, "base", "tuned")
    tensors = len([k for k in header if k != "__metadata__"])
    assert [(r.base_prefix, r.tuned_prefix, r.count) for r in diff.weights.renames] == [
        ("", "bert.", tensors)
    ]
    assert diff.weights.added == ("classifier.bias", "classifier.weight")
    assert diff.weights.removed == () and diff.weights.reshaped == ()
    assert diff.weights.tuned_params - diff.weights.base_params == 3 * 384 + 3


def test_a_number_no_float_holds_is_compared_exactly(tmp_path: Path) -> None:
    """An int past 1e308 (the fuzzer wrote one into config.json) is a value like any other."""
    huge = 10**400
    make_model(tmp_path / "base", config=llama_config())
    make_model(tmp_path / "tuned", config=llama_config(max_position_embeddings=huge))
    make_model(tmp_path / "same", config=llama_config(max_position_embeddings=huge))
    changed = diff_of(tmp_path, "base", "tuned").changes
    line = next(c.meaning for c in changed if c.key == "max_position_embeddings")
    assert line.endswith("tokens (×more than 1e308)")
    assert not [c for c in diff_of(tmp_path, "tuned", "same").changes if "max_pos" in c.key]


def test_a_name_splits_at_every_dot_as_a_join_of_its_parts_would() -> None:
    """The rename matcher's (prefix, rest) splits are slices of the name: the same as joining
    its parts, for empty parts, leading and trailing dots, and names too short to split."""
    from modelcards.compare.tensors import MIN_SHARED_PARTS, _suffixes

    def joined(name: str) -> list[tuple[str, str]]:
        parts = name.split(".")
        return [
            (".".join(parts[:i]) + ("." if i else ""), ".".join(parts[i:]))
            for i in range(len(parts) - MIN_SHARED_PARTS + 1)
        ]

    names = ["weight", "a.weight", "model.layers.0.mlp.up_proj.weight", "a..b.c", ".a.b", "a.b.",
             "..", ".", "", "language_model.model.embed_tokens.weight"]  # fmt: skip
    for name in names:
        assert _suffixes(name) == joined(name), name
    assert _suffixes("model.layers.0.weight")[1] == ("model.", "layers.0.weight")
