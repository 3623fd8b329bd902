"""What a config key means: its area, whether a difference in it is noise, and a one-line meaning.

Knowledge about transformers' files lives here as data, so the diff logic stays generic.
"""

from __future__ import annotations

from typing import Any

# Keys that say how a file was written, not what the model is.
SERIALIZER_KEYS = frozenset({
    "transformers_version", "_name_or_path", "_commit_hash", "_attn_implementation",
    "_attn_implementation_autoset", "peft_version", "_from_model_config", "_diffusers_version",
})  # fmt: skip

# Values transformers' PretrainedConfig / GenerationConfig use when a key is absent: a key that
# appears (or disappears) with exactly this value changes nothing.
LIBRARY_DEFAULTS: dict[str, Any] = {
    "output_attentions": False, "output_hidden_states": False, "torchscript": False,
    "return_dict": True, "use_return_dict": True, "is_encoder_decoder": False,
    "is_decoder": False, "add_cross_attention": False, "tie_encoder_decoder": False,
    "pruned_heads": {}, "chunk_size_feed_forward": 0, "problem_type": None,
    "finetuning_task": None, "tokenizer_class": None, "prefix": None, "sep_token_id": None,
    "decoder_start_token_id": None, "task_specific_params": None, "cross_attention_hidden_size": None,
    "tf_legacy_loss": False, "use_bfloat16": False, "gradient_checkpointing": False,
    "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1, "rope_scaling": None,
    "max_length": 20, "min_length": 0, "do_sample": False, "early_stopping": False,
    "num_beams": 1, "num_beam_groups": 1, "diversity_penalty": 0.0, "temperature": 1.0,
    "top_k": 50, "top_p": 1.0, "typical_p": 1.0, "repetition_penalty": 1.0,
    "length_penalty": 1.0, "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None, "num_return_sequences": 1, "output_scores": False,
    "return_dict_in_generate": False, "forced_bos_token_id": None, "forced_eos_token_id": None,
    "remove_invalid_values": False, "exponential_decay_length_penalty": None,
    "suppress_tokens": None, "begin_suppress_tokens": None, "architectures": None,
    "num_labels": 2, "id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "label2id": {"LABEL_0": 0, "LABEL_1": 1},
}  # fmt: skip

CONTEXT_KEYS = frozenset({
    "max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length",
    "rope_scaling", "rope_theta", "rope_parameters", "sliding_window", "model_max_length",
    "max_seq_len", "original_max_position_embeddings",
})  # fmt: skip
PRECISION_KEYS = frozenset({"dtype", "torch_dtype"})
TOKEN_ID_KEYS = frozenset({
    "bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "sep_token_id",
    "decoder_start_token_id", "eos_token_ids",
})  # fmt: skip
TRAINING_ONLY_KEYS = frozenset({
    "attention_dropout", "attention_probs_dropout_prob", "hidden_dropout_prob", "hidden_dropout",
    "resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_first_dropout", "classifier_dropout",
    "dropout", "initializer_range", "gradient_checkpointing", "use_cache", "layerdrop",
})  # fmt: skip
GENERATION_KEYS_IN_CONFIG = frozenset(
    k
    for k in LIBRARY_DEFAULTS
    if k
    in {
        "max_length",
        "min_length",
        "do_sample",
        "early_stopping",
        "num_beams",
        "temperature",
        "top_k",
        "top_p",
        "typical_p",
        "repetition_penalty",
        "length_penalty",
        "no_repeat_ngram_size",
        "num_return_sequences",
    }
) | {"task_specific_params"}

LABELS = {
    "num_hidden_layers": "layers", "n_layer": "layers", "hidden_size": "hidden size",
    "n_embd": "hidden size", "num_attention_heads": "attention heads", "n_head": "attention heads",
    "num_key_value_heads": "key/value heads", "intermediate_size": "MLP size",
    "vocab_size": "vocabulary size", "head_dim": "head size", "model_type": "model type",
    "architectures": "model class", "hidden_act": "activation",
    "tie_word_embeddings": "tied input/output embeddings",
    "max_position_embeddings": "context window", "n_positions": "context window",
    "model_max_length": "tokenizer max length", "rope_theta": "RoPE base frequency",
    "sliding_window": "sliding-window attention span", "dtype": "weight dtype",
    "temperature": "sampling temperature", "top_p": "nucleus sampling top_p",
    "top_k": "top-k sampling", "do_sample": "sampling", "max_new_tokens": "max new tokens",
    "max_length": "max length", "repetition_penalty": "repetition penalty",
    "encoder_layers": "encoder layers", "decoder_layers": "decoder layers",
    "encoder_attention_heads": "encoder attention heads",
    "decoder_attention_heads": "decoder attention heads", "encoder_ffn_dim": "encoder MLP size",
    "decoder_ffn_dim": "decoder MLP size", "d_model": "hidden size",
    "max_source_positions": "encoder positions", "max_target_positions": "decoder positions",
}  # fmt: skip


def config_area(key: str) -> str:
    """The area of a (dotted) config.json key."""
    root = key.split(".", 1)[0]
    if root in PRECISION_KEYS:
        return "precision"
    if root == "quantization_config":
        return "quantization"
    if root == "auto_map":
        return "remote-code"
    if root in CONTEXT_KEYS:
        return "context"
    if root in TOKEN_ID_KEYS:
        return "tokenizer"
    if root in GENERATION_KEYS_IN_CONFIG:
        return "generation"
    if root in TRAINING_ONLY_KEYS:
        return "training"
    return "architecture"


def noise_reason(key: str, before: Any, after: Any) -> str | None:
    """Why a difference is serializer noise, or None when it is a real change."""
    root = key.split(".", 1)[0]
    if root in SERIALIZER_KEYS:
        return "written by the library, not part of the model"
    if before is None or after is None:
        present = after if before is None else before
        if present is None:
            return "null and absent mean the same"
        if key in LIBRARY_DEFAULTS and LIBRARY_DEFAULTS[key] == present:
            return "the library's default value, written out by a newer version"
    if root in TRAINING_ONLY_KEYS:
        return "used only while training"
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if abs(value) >= 1000 else str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) <= 6:
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict) and len(value) <= 4:
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, dict)):
        return f"{len(value)} entries"
    return str(value)


def _ratio(after: float, before: float) -> str:
    """after / before as `16`, or `1.2e+100`; a ratio no float holds is said in words."""
    try:
        return f"{after / before:g}"
    except OverflowError:
        return "more than 1e308"


def describe(key: str, before: Any, after: Any) -> str:
    """One line for a reader: `context window 2048 → 32768 tokens (×16)`."""
    leaf = key.rsplit(".", 1)[-1]
    label = LABELS.get(key, LABELS.get(leaf, key))
    if before is None:
        if key == "rope_scaling" and isinstance(after, dict):
            kind = after.get("rope_type") or after.get("type")
            return f"RoPE scaling added: {kind} ×{_fmt(after.get('factor'))}"
        if key == "auto_map":
            return f"loads custom code with trust_remote_code: {_fmt(after)}"
        if key == "quantization_config" and isinstance(after, dict):
            bits = after.get("bits") or (
                "4" if after.get("load_in_4bit") else "8" if after.get("load_in_8bit") else "?"
            )
            return f"quantized: {after.get('quant_method', 'unknown method')}, {bits}-bit"
        return f"{label} set to {_fmt(after)}"
    if after is None:
        return f"{label} removed (was {_fmt(before)})"
    text = f"{label} {_fmt(before)} → {_fmt(after)}"
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (before, after))
    if numeric and leaf in {"max_position_embeddings", "n_positions", "model_max_length"}:
        return text + (f" tokens (×{_ratio(after, before)})" if before else " tokens")
    if numeric and leaf == "vocab_size":
        return f"{text} ({after - before:+} tokens)"  # a float vocab size too
    return text


def added_removed(what: str, added: list[str], removed: list[str]) -> str:
    """One line for a set that changed: "2 tokens added: a, b; 1 tokens removed: c" (8 named)."""
    parts = []
    if added:
        parts.append(
            f"{len(added)} {what} added: " + ", ".join(added[:8]) + (" …" if len(added) > 8 else "")
        )
    if removed:
        parts.append(
            f"{len(removed)} {what} removed: "
            + ", ".join(removed[:8])
            + (" …" if len(removed) > 8 else "")
        )
    return "; ".join(parts)
