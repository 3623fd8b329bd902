"""`policy.require_provider_details`: `check` fails on a model whose EU documents would go out
with the provider's own statements (name, contact, market date, AUP, TDM opt-out) missing.

`above_threshold` asks for them only where the card's compute verdict says the fine-tune is
above the indicative threshold (one third of the original's training compute): its own step,
or its lineage summed, since the guidelines leave cumulation open and a gate should not pass on
the reading that happens to be lower. A verdict the files cannot give ("not determined") does
not trigger it; `always` does. The verdict is read from card.json as build writes it (the card
a stale model would get), so the gate and the card can never disagree.
"""

from __future__ import annotations

from typing import Any

from modelcards.project.config import ModelEntry, ProjectConfig
from modelcards.project.state import card_subject, previous_member

ABOVE = "above the indicative threshold"


def _above(compute: Any) -> str | None:
    """Which reading of card.json's `compute` is above the threshold, said for the reason."""
    if not isinstance(compute, dict):
        return None
    threshold = compute.get("threshold_flop")
    limit = f" ({threshold:.3g} FLOP)" if isinstance(threshold, (int, float)) else ""
    if compute.get("verdict") == ABOVE:
        return f"its training compute is {ABOVE}{limit}"
    lineage = compute.get("lineage")
    if isinstance(lineage, dict) and lineage.get("verdict") == ABOVE:
        return f"its lineage's training compute, summed, is {ABOVE}{limit}"
    return None


def provider_problem(config: ProjectConfig, entry: ModelEntry, card_json: str | None) -> str | None:
    """Why the policy fails this model (the fields missing and the keys to add), or None;
    `card_json` as build writes it now."""
    rule = config.policy.require_provider_details
    if rule == "never":
        return None
    missing = card_subject(config, entry).provider.missing()
    if not missing:
        return None
    if rule == "always":
        why = "policy.require_provider_details is always"
    elif reason := _above(previous_member(card_json, "compute")):
        why = f"{reason}, and policy.require_provider_details is above_threshold"
    else:
        return None
    index = next(i for i, m in enumerate(config.models) if m is entry)  # only on a failure
    keys = ", ".join(f"compliance.{name}" for name in missing)
    return (
        f"EU provider details missing: {', '.join(missing)} ({why}); add {keys} to {config.file} "
        f"(every model) or under models[{index}].compliance (this model)"
    )
