"""How a model's weights are stored and computed, and the shape of an encoder-decoder, as the
config states them.

A bitsandbytes int8 model's config says `torch_dtype: float16`: that is its compute dtype, not
its weights'. The `quantization_config` says what the weights are, so it comes first:
"int8 weights (bitsandbytes), compute float16", "4-bit GPTQ, group size 128".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (row, keys in the order configs spell them): Whisper/BART/Marian, then T5
ENCODER_DECODER_KEYS = (
    ("encoder_layers", ("encoder_layers", "num_layers")),
    ("decoder_layers", ("decoder_layers", "num_decoder_layers")),
    ("encoder_attention_heads", ("encoder_attention_heads", "num_heads")),
    ("decoder_attention_heads", ("decoder_attention_heads", "num_heads")),
    ("encoder_ffn_dim", ("encoder_ffn_dim", "d_ff")),
    ("decoder_ffn_dim", ("decoder_ffn_dim", "d_ff")),
    ("encoder_positions", ("max_source_positions",)),  # Whisper, Speech2Text, Marian
    ("decoder_positions", ("max_target_positions",)),
)


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def encoder_decoder(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Encoder and decoder layers and heads, for a config that says it is an encoder-decoder."""
    if config.get("is_encoder_decoder") is not True:
        return None
    rows: dict[str, Any] = {}
    for name, keys in ENCODER_DECODER_KEYS:
        key = next((k for k in keys if _number(config.get(k))), None)
        rows[name] = config[key] if key else None
        rows[f"{name}_key"] = key
    return rows if rows["encoder_layers"] or rows["decoder_layers"] else None


def _dtype(value: Any) -> str | None:
    return value.removeprefix("torch.") if isinstance(value, str) and value else None


def _bitsandbytes(q: Mapping[str, Any], dtype: str | None) -> str | None:
    if q.get("load_in_8bit") is True:
        return "int8 weights (bitsandbytes)" + (f", compute {dtype}" if dtype else "")
    if q.get("load_in_4bit") is True:
        kind = q.get("bnb_4bit_quant_type")
        compute = _dtype(q.get("bnb_4bit_compute_dtype")) or dtype
        text = f"4-bit {str(kind).upper()} weights" if isinstance(kind, str) else "4-bit weights"
        text += " (bitsandbytes"
        text += ", double quantization)" if q.get("bnb_4bit_use_double_quant") is True else ")"
        return text + (f", compute {compute}" if compute else "")
    return None


def _grouped(q: Mapping[str, Any], method: str) -> str:
    bits = next((q[k] for k in ("bits", "w_bit") if _number(q.get(k))), None)
    group = next((q[k] for k in ("group_size", "q_group_size") if _number(q.get(k))), None)
    text = f"{bits}-bit {method}" if bits else method
    if group == -1:
        text += ", no grouping (group size -1)"
    elif group is not None:
        text += f", group size {group}"
    if q.get("desc_act") is True:
        text += ", act-order"
    return text


def precision(
    config: Mapping[str, Any] | None, *, where: str = "config.json"
) -> dict[str, Any] | None:
    """{"text": what the weights are, "source": the config's keys}, or None when not stated;
    `where` names the config (an adapter shows its base's: "base config.json")."""
    config = config or {}
    dtype = _dtype(config.get("dtype") or config.get("torch_dtype"))
    dtype_key = "dtype" if config.get("dtype") else "torch_dtype"
    q = config.get("quantization_config")
    if not isinstance(q, dict):
        return {"text": dtype, "source": f"{where} {dtype_key}"} if dtype else None
    method = str(q.get("quant_method") or "").lower()
    text = None
    if method in ("bitsandbytes", "") and (q.get("load_in_8bit") or q.get("load_in_4bit")):
        text = _bitsandbytes(q, dtype)
    elif method in ("gptq", "awq", "aqlm", "exl2", "hqq", "quanto", "eetq", "fbgemm_fp8", "fp8"):
        text = _grouped(q, method.upper())
        if dtype:
            text += f"; {dtype_key} {dtype}"
    elif method:
        text = f"{method} quantization" + (f"; {dtype_key} {dtype}" if dtype else "")
    if text is None:
        return {"text": dtype, "source": f"{where} {dtype_key}"} if dtype else None
    return {"text": text, "source": f"{where} quantization_config"}
