"""The Hub metadata a card writes besides lineage and licence: the library, the task, the
relation to the base when no diff was made, and what a licence `other` needs (its name and
link). Each value comes from a file named with it; the author's own key is never replaced
(`card_file.py` keeps every key the author set).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.task import SENTENCE_TRANSFORMERS_FILE, Sourced, TaskFacts

LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING)(\.(txt|md))?", re.IGNORECASE)


def library_name(facts: ModelFacts) -> Sourced | None:
    """peft for an adapter, sentence-transformers when modules.json is there, else transformers
    when a config.json is."""
    names = {f.path for f in facts.files}
    if facts.is_adapter:
        return Sourced("peft", "adapter_config.json")
    if SENTENCE_TRANSFORMERS_FILE in names:
        return Sourced("sentence-transformers", SENTENCE_TRANSFORMERS_FILE)
    if facts.config:
        return Sourced("transformers", "config.json")
    return None


def task_of(tuned: ModelFacts, base: ModelFacts | None) -> TaskFacts | None:
    """The model's own task; an adapter whose files state none has its base's (it runs in it)."""
    own = tuned.task
    base_tag = base.task.pipeline_tag if base is not None and base.task else None
    if own is not None and own.pipeline_tag is not None:
        # a tag an earlier build wrote from the base keeps citing the base
        card_only = own.pipeline_tag.source == "README.md pipeline_tag"
        if not (
            card_only and tuned.is_adapter and base_tag and base_tag.value == own.pipeline_tag.value
        ):
            return own
    if tuned.is_adapter and base is not None and base.task and base_tag:

        def based(s: Sourced | None) -> Sourced | None:
            return None if s is None else Sourced(s.value, f"base model {s.source}")

        theirs = base.task
        return replace(
            theirs,
            pipeline_tag=based(theirs.pipeline_tag),
            inputs=tuple(s for s in map(based, theirs.inputs) if s),
            outputs=tuple(s for s in map(based, theirs.outputs) if s),
            sampling_rate=based(theirs.sampling_rate),
            image_size=based(theirs.image_size),
            processor=based(theirs.processor),
        )
    return own


def relation_from_files(facts: ModelFacts) -> Sourced | None:
    """The Hub's base_model_relation from the model's own files, for a card made without a
    diff: an adapter, a merge or a quantized copy says so itself; a fine-tune does not."""
    if facts.is_adapter:
        return Sourced("adapter", "adapter_config.json")
    if facts.merge_config:
        return Sourced("merge", facts.merge_config)
    if isinstance((facts.config or {}).get("quantization_config"), dict):
        return Sourced("quantized", "config.json quantization_config")
    if facts.gguf_quantization:
        return Sourced("quantized", f"{facts.gguf_quantization} general.file_type")
    return None


def licence_keys(
    licence_id: str | None, tuned: ModelFacts, base: ModelFacts | None, inherited: bool
) -> dict[str, Any]:
    """license_name / license_link for a licence `other`: a licence file shipped with the model
    is the link; an inherited `other` takes the base card's name and link."""
    if licence_id != "other":
        return {}
    found: dict[str, Any] = {}
    base_meta: Mapping[str, Any] = base.card.metadata if base and base.card else {}
    if inherited:
        for key in ("license_name", "license_link"):
            if isinstance(base_meta.get(key), str):
                found[key] = base_meta[key]
    shipped = sorted(f.path for f in tuned.files if LICENSE_FILE.fullmatch(f.path))
    if shipped and "license_link" not in found:
        found["license_link"] = shipped[0]
    return found
