"""Tensor name → the block (layer) and the module type it belongs to, for the summaries."""

from __future__ import annotations

import re

from modelcards.compare.tensors import PEFT_PREFIX

__all__ = ["MODULES", "layer_of", "module_of", "place_label"]

LAYER = re.compile(r"(?:^|\.)(?:layers|layer|h|blocks|block)\.(\d+)\.")
STACK = re.compile(r"(?:^|\.)(encoder|decoder|vision_model|text_model|vision_tower)\.")
MODULE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (module, re.compile(pattern))
    for module, pattern in (
        ("norm", r"(norm|ln_\w+|ln\d*|layernorm|LayerNorm)(\.|$)"),
        ("embed", r"(embed\w*|wte|wpe|shared)\.(weight|lora_\w+)"),
        ("head", r"(^|\.)(lm_head|classifier|score|qa_outputs|cls|pooler|embed_out)\."),
        ("attn.qkv", r"\.(qkv_proj|c_attn|query_key_value|Wqkv|qkv|in_proj)(\.|_weight)"),
        ("attn.q", r"\.(q_proj|query|wq|q_lin|q)\."),
        ("attn.k", r"\.(k_proj|key|wk|k_lin|k)\."),
        ("attn.v", r"\.(v_proj|value|wv|v_lin|v)\."),
        (
            "attn.o",
            r"(attn|attention|Attention)\w*\.(o_proj|out_proj|c_proj|dense|wo|o|out_lin|"
            r"output\.dense)\.",
        ),
        ("mlp.gate", r"\.(gate_proj|w1|wi_0|gate)\."),
        ("mlp.up", r"\.(up_proj|w3|wi_1|wi|c_fc|fc1|dense_h_to_4h|intermediate\.dense|lin1)\."),
        ("mlp.down", r"\.(down_proj|w2|fc2|dense_4h_to_h|output\.dense|lin2|mlp\.c_proj)\."),
        ("mlp.fc", r"(mlp|ffn|feed_forward|DenseReluDense)\w*\.\w+\."),
    )
)
MODULES = (
    "embed", "attn.q", "attn.k", "attn.v", "attn.qkv", "attn.o",
    "mlp.gate", "mlp.up", "mlp.down", "mlp.fc", "norm", "head", "other",
)  # fmt: skip


def module_of(name: str) -> str:
    """Module type of a tensor from its name (`model.layers.3.self_attn.q_proj.weight` → attn.q)."""
    stripped = name[len(PEFT_PREFIX) :] if name.startswith(PEFT_PREFIX) else name
    if stripped.endswith("DenseReluDense.wo.weight"):
        return "mlp.down"
    for module, pattern in MODULE_RULES:
        if pattern.search(stripped):
            return module
    return "other"


def layer_of(name: str) -> tuple[str, int] | None:
    """(stack, index) of the block a tensor belongs to: `h.3.` → ("", 3); None outside blocks."""
    match = LAYER.search(name)
    if match is None:
        return None
    stack = STACK.search(name[: match.start() + 1])
    return (stack.group(1) if stack else "", int(match.group(1)))


def place_label(place: tuple[str, int]) -> str:
    """The label a `layer_of` place is shown by: ("", 3) → "3", ("encoder", 5) → "encoder.5"."""
    stack, index = place
    return f"{stack}.{index}" if stack else str(index)
