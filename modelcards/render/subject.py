"""The model a card is about, as the project names it, and the compute its config declares: their
own module, light to import, because `check` reads the config and builds a subject for every
model to recompute its fingerprint, and renders none of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelcards.render.provider_details import ProviderDetails

if TYPE_CHECKING:
    from modelcards.resolve.base_spec import BaseSpec


@dataclass(frozen=True)
class DeclaredCompute:
    """A base's training compute someone stated in modelcards.yml, with where they read it."""

    flop: float
    source: str  # the card, paper or page the figure comes from
    where: str  # the config key it was given under


@dataclass(frozen=True)
class CardSubject:
    """The model a card is about, as the project names it."""

    name: str
    path: str
    base: BaseSpec | None
    card: Mapping[str, Any]  # this model's own front-matter defaults
    base_compute: DeclaredCompute | None = None  # the original's training compute, as configured
    original_base: str | None = None  # the Hub id at the root of the lineage (cited compute)
    parent: str | None = None  # the project's model this one was trained from, if any
    provider: ProviderDetails = ProviderDetails()  # compliance: what only the provider can state
