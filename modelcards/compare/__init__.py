"""compare: `ModelFacts` × `ModelFacts` → `ModelDiff`, significant changes first.

The changes are found by area, one module each: `configs` (the JSON files), `tokenizer`,
`weights` (from the headers, via `tensors`) and `records` (card, remote code, training run);
`keys` says what a key means; `serializer_noise` judges what only the other side's files show
is noise; `modules` compares sentence-transformers pipelines and GPTQ settings; `token_ids`
compares added tokens id by id. `deep` compares tensor contents, on request.
"""

from __future__ import annotations

from modelcards.compare.configs import adapter_changes, file_changes
from modelcards.compare.keys import config_area
from modelcards.compare.model import AREAS, Change, ModelDiff, Relation
from modelcards.compare.modules import module_changes
from modelcards.compare.records import card_changes, code_changes, training_changes
from modelcards.compare.serializer_noise import judge_noise
from modelcards.compare.tensors import compare_weights
from modelcards.compare.tokenizer import tokenizer_changes
from modelcards.compare.weights import weight_changes
from modelcards.inspect.facts import ModelFacts

__all__ = ["Change", "ModelDiff", "compare"]


def compare(base: ModelFacts, tuned: ModelFacts) -> ModelDiff:
    changes: list[Change] = []
    # An adapter carries no config of its own: it runs with the base's, so nothing changed there.
    inherits = tuned.is_adapter and not base.is_adapter
    changes += file_changes(base.config, tuned.config, "config.json", config_area, inherits)
    changes += file_changes(
        base.generation,
        tuned.generation,
        "generation_config.json",
        lambda _k: "generation",
        inherits,
    )
    changes = judge_noise(changes, base, tuned)
    base_vocab = _vocab(base)
    changes += tokenizer_changes(
        base.tokenizer,
        tuned.tokenizer,
        base_vocab=base_vocab,
        tuned_vocab=base_vocab if inherits else _vocab(tuned),
        tuned_is_adapter=tuned.is_adapter,
    )
    changes += module_changes(base, tuned)
    changes += adapter_changes(base.adapter, tuned.adapter)
    weights = compare_weights(base.weights, tuned.weights, tuned_is_adapter=inherits)
    changes += weight_changes(weights, adapter_relation=inherits)
    changes += card_changes(base, tuned)
    changes += code_changes(base, tuned)
    changes += training_changes(base, tuned)
    changes.sort(key=lambda c: (not c.significant, AREAS.index(c.area)))
    return ModelDiff(
        relation=relation(base, tuned),
        base=base.source,
        tuned=tuned.source,
        changes=tuple(changes),
        weights=weights,
        notes=tuple(f"base: {n}" for n in base.notes) + tuple(f"tuned: {n}" for n in tuned.notes),
    )


def _vocab(facts: ModelFacts) -> int | None:
    vocab = (facts.config or {}).get("vocab_size")
    return vocab if isinstance(vocab, int) and not isinstance(vocab, bool) else None


def relation(base: ModelFacts, tuned: ModelFacts) -> Relation:
    """The relation as the Hub names it, from the files first and the card's claim for merges."""
    if tuned.is_adapter and not base.is_adapter:
        return "adapter"
    if (tuned.config or {}).get("quantization_config") and not (base.config or {}).get(
        "quantization_config"
    ):
        return "quantized"
    if tuned.gguf_quantization and not base.gguf_quantization:  # a llama.cpp quantization
        return "quantized"
    claimed = tuned.card.metadata.get("base_model_relation") if tuned.card else None
    bases = tuned.card.metadata.get("base_model") if tuned.card else None
    if tuned.merge_config or claimed == "merge" or (isinstance(bases, list) and len(bases) > 1):
        return "merge"
    return "finetune"
