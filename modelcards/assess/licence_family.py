"""The published licences of a few well-documented base-model families, each with where it is
published: used only when the base's own files (its card) are not there to say it.

Matched on the last part of the base's name, so a re-upload that keeps the family's name
(`unsloth/Meta-Llama-3.1-8B-bnb-4bit`) and a local copy (`/dev/shm/Qwen/Qwen3-14B`) are known
too. The table is small on purpose: a family whose sizes carry different licences lists the
exceptions first (Qwen2.5 3B and 72B), and a family it does not list stays unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.lineage import base_claims


@dataclass(frozen=True)
class FamilyLicence:
    family: str
    license: str  # the Hub licence id
    source: str  # where the family's licence is published

    @property
    def label(self) -> str:
        return f"known licence of the {self.family} family (source: {self.source})"


_QWEN25 = "https://huggingface.co/Qwen/Qwen2.5-7B/blob/main/LICENSE"
# (pattern on the name's last part, case-insensitive) -> licence; first match wins
FAMILIES: tuple[tuple[str, FamilyLicence], ...] = (
    (r"tinyllama", FamilyLicence("TinyLlama", "apache-2.0", "https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0")),
    (r"(^|[^a-z])llama-?3\.1([^0-9]|$)", FamilyLicence("Llama 3.1", "llama3.1", "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/LICENSE")),
    (r"(^|[^a-z])llama-?3\.2([^0-9]|$)", FamilyLicence("Llama 3.2", "llama3.2", "https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE")),
    (r"(^|[^a-z])llama-?3\.3([^0-9]|$)", FamilyLicence("Llama 3.3", "llama3.3", "https://github.com/meta-llama/llama-models/blob/main/models/llama3_3/LICENSE")),
    (r"(^|[^a-z])llama-?3([^.0-9]|$)", FamilyLicence("Llama 3", "llama3", "https://github.com/meta-llama/llama-models/blob/main/models/llama3/LICENSE")),
    (r"(^|[^a-z])llama-?2([^0-9]|$)", FamilyLicence("Llama 2", "llama2", "https://github.com/meta-llama/llama-models/blob/main/models/llama2/LICENSE")),
    (r"(^|[^a-z])gemma", FamilyLicence("Gemma", "gemma", "https://ai.google.dev/gemma/terms")),
    (r"^qwen2\.5(-[a-z]+)*-3b([^0-9]|$)", FamilyLicence("Qwen2.5 3B", "qwen-research", "https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE")),
    (r"^qwen2\.5(-[a-z]+)*-72b([^0-9]|$)", FamilyLicence("Qwen2.5 72B", "qwen", "https://huggingface.co/Qwen/Qwen2.5-72B/blob/main/LICENSE")),
    (r"^qwen2\.5([^0-9]|$)", FamilyLicence("Qwen2.5", "apache-2.0", _QWEN25)),
    (r"^qwen3([^0-9.]|$)", FamilyLicence("Qwen3", "apache-2.0", "https://huggingface.co/Qwen/Qwen3-8B/blob/main/LICENSE")),
    (r"^(mistral-7b|mixtral-8x(7|22)b|mistral-nemo)", FamilyLicence("Mistral", "apache-2.0", "https://huggingface.co/mistralai/Mistral-7B-v0.1")),
    (r"^yi-1\.5([^0-9]|$)", FamilyLicence("Yi-1.5", "apache-2.0", "https://huggingface.co/01-ai/Yi-1.5-6B")),
    (r"^whisper([^a-z]|$)", FamilyLicence("Whisper", "apache-2.0", "https://github.com/openai/whisper/blob/main/LICENSE")),
)  # fmt: skip


def family_licence(base_name: str | None) -> FamilyLicence | None:
    """The family licence a base's name shows, or None when the table does not know it."""
    if not base_name:
        return None
    last = base_name.rstrip("/").rsplit("/", 1)[-1].lower()
    for pattern, known in FAMILIES:
        if re.search(pattern, last):
            return known
    return None


@dataclass(frozen=True)
class BaseLicence:
    """The base's licence and where it was read: its card, else its family's known licence."""

    license: str | None
    source: str | None  # "the base model's card", or a FamilyLicence label
    family: FamilyLicence | None = None


def base_licence(
    base: ModelFacts | None, tuned: ModelFacts, *configured: str | None
) -> BaseLicence:
    """The base's own card first; only without it, the family its name shows (the names the
    project configures, else the bases the model's own files name)."""
    if base is not None and base.license:
        return BaseLicence(base.license, "the base model's card")
    names = [n for n in configured if n]
    if not names:
        meta = tuned.card.metadata if tuned.card else None
        names = [c.name.written for c in base_claims(tuned.adapter, meta, tuned.config)]
    for name in names:
        known = family_licence(name)
        if known:
            return BaseLicence(known.license, known.label, known)
    return BaseLicence(None, None)
