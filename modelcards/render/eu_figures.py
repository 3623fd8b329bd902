"""The figures the EU documents ask for that are worked out, not read: size bands and the memory
a model needs to run.

The bands are those of the Model Documentation Form (AI Office, July 2025: "total model size"
ranges) and of the Commission's template for the public summary of training content (24 July
2025: text size ranges). Neither document's own wording came back from our searches; the bands
below are as we read those documents, one table each, to be checked against them.

The memory estimate is the weights as stored (parameters × bytes of their dtype, from the
safetensors headers) plus the key-value cache of one sequence at the full context window
(2 × layers × key-value heads × head size × context tokens × bytes per value): what inference
with batch size 1 holds at least, before activations and the framework's own overhead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PARAMETER_BANDS = (  # (upper bound, label): the form's ranges of total model size
    (500e6, "up to 500M"),
    (5e9, "500M–5B"),
    (15e9, "5B–15B"),
    (50e9, "15B–50B"),
    (100e9, "50B–100B"),
    (500e9, "100B–500B"),
    (1e12, "500B–1T"),
)
ABOVE_ALL_PARAMETERS = ">1T"
TOKEN_BANDS = (  # the summary template's sizes of text training data
    (1e9, "less than 1 billion tokens"),
    (10e12, "1 billion to 10 trillion tokens"),
)
ABOVE_ALL_TOKENS = "more than 10 trillion tokens"
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2,
    "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip
CONFIG_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
GB = 1e9


def band(value: float, bands: tuple[tuple[float, str], ...], above: str) -> str:
    """The first band whose upper bound `value` does not exceed."""
    return next((label for upper, label in bands if value <= upper), above)


def parameter_band(parameters: int) -> str:
    return band(parameters, PARAMETER_BANDS, ABOVE_ALL_PARAMETERS)


def token_band(tokens: float) -> str:
    return band(tokens, TOKEN_BANDS, ABOVE_ALL_TOKENS)


def weight_bytes(by_dtype: Mapping[str, int]) -> int | None:
    """Bytes of the weights as stored, or None when a dtype's size is unknown."""
    if not by_dtype or any(d not in DTYPE_BYTES for d in by_dtype):
        return None
    return sum(count * DTYPE_BYTES[d] for d, count in by_dtype.items())


def kv_cache(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The key-value cache of one sequence at the full context window, with its inputs; None
    for a config without what it takes (an encoder, a config that does not name them)."""
    layers = config.get("num_hidden_layers") or config.get("n_layer")
    heads = config.get("num_attention_heads") or config.get("n_head")
    hidden = config.get("hidden_size") or config.get("n_embd")
    context = config.get("max_position_embeddings") or config.get("n_positions")
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or (hidden // heads if hidden and heads else None)
    dtype = str(config.get("dtype") or config.get("torch_dtype") or "")
    per_value = CONFIG_DTYPE_BYTES.get(dtype)
    values = (layers, kv_heads, head_dim, context, per_value)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        return None
    assert layers and kv_heads and head_dim and context and per_value  # checked above
    return {
        "bytes": 2 * layers * kv_heads * head_dim * context * per_value,
        "layers": layers,
        "kv_heads": kv_heads,
        "head_dim": head_dim,
        "context_tokens": context,
        "bytes_per_value": per_value,
        "dtype": dtype,
    }


def gigabytes(count: int) -> str:
    """Bytes as GB (decimal), or as MB below one GB."""
    return f"{count / GB:.3g} GB" if count >= GB else f"{count / 1e6:.3g} MB"
