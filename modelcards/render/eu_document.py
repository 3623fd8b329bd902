"""The shape both EU documents share: sections of items, each filled, drafted or to be provided.

An item says only what the files support. `filled`: the value and the file or key it was read
from; `drafted`: a value worked out from the files (an estimate, a tag's date) that a person
confirms before it is sent; `to_provide`: what is needed, and why the files cannot give it.
The recipients are those the Model Documentation Form marks an item for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelcards.render.provider_details import ProviderDetails

FILLED, DRAFTED, TO_PROVIDE = "filled", "drafted", "to_provide"
STATUSES = (FILLED, DRAFTED, TO_PROVIDE)
AI_OFFICE, AUTHORITIES, DOWNSTREAM = "ai_office", "national_authorities", "downstream_providers"
EVERYONE = (AI_OFFICE, AUTHORITIES, DOWNSTREAM)
AUTHORITIES_ONLY = (AI_OFFICE, AUTHORITIES)  # only on request, never to downstream providers
PUBLIC = ("public",)  # the training-content summary is published


@dataclass(frozen=True)
class DocumentItem:
    key: str  # stable id ("total_model_size")
    ref: str  # the document's own numbering ("2.7")
    title: str
    status: str  # FILLED | DRAFTED | TO_PROVIDE
    value: Any = None  # JSON-ready; None when to be provided
    source: str | None = None  # filled: file/key; drafted: where the draft comes from
    needed: str | None = None  # drafted: what to confirm; to_provide: what is needed, and why
    recipients: tuple[str, ...] = EVERYONE

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.status == FILLED and not self.source:
            raise ValueError(f"{self.key}: a filled item names its source")
        if self.status == TO_PROVIDE and not self.needed:
            raise ValueError(f"{self.key}: an item to provide says what is needed")

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "ref": self.ref,
            "title": self.title,
            "status": self.status,
            "value": self.value,
            "source": self.source,
            "needed": self.needed,
            "recipients": list(self.recipients),
        }


@dataclass(frozen=True)
class DocumentSection:
    ref: str
    title: str
    items: tuple[DocumentItem, ...]

    def as_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "title": self.title, "items": [i.as_json() for i in self.items]}


@dataclass(frozen=True)
class EuDocument:
    """One document for one model: which template it follows, and its sections."""

    kind: str  # "model_documentation" | "training_content"
    title: str
    template: str  # the template it follows, with its date
    model: str
    sections: tuple[DocumentSection, ...]
    note: str  # what the document is, and is not

    def items(self) -> tuple[DocumentItem, ...]:
        return tuple(i for s in self.sections for i in s.items)

    def counts(self) -> dict[str, int]:
        items = self.items()
        return {status: sum(i.status == status for i in items) for status in STATUSES}

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "template": self.template,
            "model": self.model,
            "note": self.note,
            "counts": self.counts(),
            "sections": [s.as_json() for s in self.sections],
        }


def filled(key: str, ref: str, title: str, value: Any, source: str, **kw: Any) -> DocumentItem:
    return DocumentItem(key, ref, title, FILLED, value, source, **kw)


def drafted(
    key: str, ref: str, title: str, value: Any, source: str, confirm: str, **kw: Any
) -> DocumentItem:
    return DocumentItem(key, ref, title, DRAFTED, value, source, confirm, **kw)


def to_provide(key: str, ref: str, title: str, needed: str, **kw: Any) -> DocumentItem:
    return DocumentItem(key, ref, title, TO_PROVIDE, None, None, needed, **kw)


def provider_item(
    provider: ProviderDetails, field_name: str, ref: str, title: str, needed: str, **kw: Any
) -> DocumentItem:
    """An item only the provider can state: from `compliance:` in modelcards.yml, else asked."""
    given = provider.values.get(field_name)
    if given is None:
        return to_provide(
            field_name, ref, title, f"{needed} (modelcards.yml compliance.{field_name})", **kw
        )
    return filled(field_name, ref, title, given.value, f"modelcards.yml {given.where}", **kw)


def release_tags(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The model's releases (git tags), oldest first, as card.json's history lists them."""
    releases = (context.get("history") or {}).get("releases") or []
    tagged = [r for r in releases if r.get("tag")]
    return sorted(tagged, key=lambda r: (str(r.get("date") or ""), str(r["tag"])))
