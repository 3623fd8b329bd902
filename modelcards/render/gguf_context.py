"""The card's rows for a weights-only llama.cpp model: what its GGUF headers say.

A GGUF repository has no config.json; its architecture, context window, parameters and
precision (the quantization) are the headers'. With several files (a repository of
quantizations) the rows hold what every file states alike, and card.json lists each file
with its own quantization.
"""

from __future__ import annotations

from typing import Any

from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.gguf_facts import shared_facts, variants


def gguf_source(facts: ModelFacts) -> str:
    """Where the rows come from: "model-q4_k_m.gguf (GGUF header)"."""
    files = [f.file for f in facts.gguf]
    if len(files) == 1:
        return f"{files[0]} (GGUF header)"
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return f"{shown} (GGUF headers)"


def _precision(facts: ModelFacts, source: str) -> dict[str, Any] | None:
    models = variants(facts.gguf)
    named = [(m["quantization"] or _file_type(m["file_type"]), m["files"][0]) for m in models]
    known = [(q, f) for q, f in named if q is not None]
    if not known:
        return None
    if len({q for q, _ in known}) == 1:
        return {"text": f"{known[0][0]} (GGUF)", "source": f"{source}: general.file_type"}
    shown = ", ".join(f"{q} ({f})" for q, f in known[:6])
    more = f" and {len(known) - 6} more" if len(known) > 6 else ""
    return {
        "text": f"{len(known)} GGUF quantizations: {shown}{more}",
        "source": "GGUF headers: general.file_type",
    }


def _file_type(value: int | None) -> str | None:
    return None if value is None else f"file type {value}"


def gguf_architecture(facts: ModelFacts) -> dict[str, Any]:
    """The architecture rows `render/context.py` shows, from the GGUF headers."""
    shared = shared_facts(facts.gguf)
    source = gguf_source(facts)
    return {
        "class": shared["architecture"],
        "model_type": shared["architecture"],
        "source": source,
        "layers": shared["block_count"],
        "hidden_size": shared["embedding_length"],
        "attention_heads": shared["head_count"],
        "kv_heads": shared["head_count_kv"],
        "intermediate_size": shared["feed_forward_length"],
        "vocab_size": shared["vocab_size"],
        "context_window": shared["context_length"],
        "rope_scaling": None,
        "rope_theta": None,
        "sliding_window": None,
        "dtype": None,
        "precision": _precision(facts, source),
        "encoder_decoder": None,
        "quantization": None,
        "auto_map": None,
    }


def gguf_json(facts: ModelFacts) -> dict[str, Any] | None:
    """card.json's `gguf`: the facts the files share, each model they hold, each file."""
    if not facts.gguf:
        return None
    return {
        "shared": shared_facts(facts.gguf),
        "models": variants(facts.gguf),
        "files": [f.as_json() for f in facts.gguf],
    }
