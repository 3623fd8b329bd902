"""What only the provider can state for the EU documents, as given in `compliance:` of modelcards.yml.

The files cannot say who places a model on the market, how to reach them, when, under which
acceptable-use policy, or how text-and-data-mining opt-outs were honoured: the Model
Documentation Form and the public summary of training content take these from the config, each
with the key it was given under, and list the ones nobody gave as "to be provided".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# The values a person supplies, in the order the documents ask for them.
PROVIDER_FIELDS = (
    "provider_name",  # legal name of the provider placing the model on the market
    "provider_contact",  # a contact point (address, e-mail or page)
    "market_date",  # date of placement on the EU market (ISO date)
    "acceptable_use_policy",  # link or file of the acceptable-use policy
    "tdm_opt_out_policy",  # how text-and-data-mining reservations were respected
)


@dataclass(frozen=True)
class ProviderValue:
    value: str
    where: str  # the config key it was given under, e.g. "models[0].compliance.provider_name"


@dataclass(frozen=True)
class ProviderDetails:
    """The provider's own statements for one model: field name → value with its config key."""

    values: Mapping[str, ProviderValue] = field(default_factory=dict)

    def missing(self) -> tuple[str, ...]:
        return tuple(name for name in PROVIDER_FIELDS if name not in self.values)
