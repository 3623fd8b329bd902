"""Coverage: what a card was made from, and what it was not — so no sentence claims more.

Every card states it: the base (compared / named but not available, and why / recorded only as
a path on the training machine / not named) and the weights (all read / N of M present / Git-LFS
pointers only / absent), plus each file that could not be read and why. Templates choose their
sentences from these states, never from the mere presence of a section.
"""

from __future__ import annotations

from typing import Any

from modelcards.inspect.facts import ModelFacts, WeightsCoverage
from modelcards.inspect.lineage import base_claims


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _files(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return shown


def weights_coverage(coverage: WeightsCoverage, *, adapter: bool) -> dict[str, Any]:
    """The weights' coverage as card.json states it, with one sentence for people."""
    what = "adapter weights" if adapter else "weights"
    expected = len(coverage.expected)
    state = coverage.state
    if state == "absent":
        summary = f"no {what} in the folder: nothing about them was read"
    elif state == "partial":
        present = expected - len(coverage.missing)
        summary = f"{present} of {_count(expected, 'weight file')} present; missing: {_files(coverage.missing)}"
    elif state == "pointers":
        summary = (
            f"Git-LFS pointers only: size and sha256 of {_count(len(coverage.pointers), 'weight file')} "
            "known, the tensors not read (git lfs pull fetches them)"
        )
    elif coverage.gguf and not coverage.read and len(coverage.gguf) == expected:
        summary = f"{_count(expected, 'GGUF file')}, header read (tensor data not read)"
    elif coverage.fully_read:
        files = "the safetensors file" if expected == 1 else f"all {expected} safetensors files"
        summary = f"{files} read (headers: tensor names, dtypes, shapes)"
    else:
        parts = []
        if coverage.read:
            parts.append(f"{len(coverage.read)} safetensors read")
        if coverage.pointers:
            parts.append(f"{len(coverage.pointers)} only as Git-LFS pointers")
        if coverage.gguf:
            parts.append(f"{_count(len(coverage.gguf), 'GGUF header')} read (tensor data not read)")
        if len(coverage.opaque) > len(coverage.gguf):
            unlisted = len(coverage.opaque) - len(coverage.gguf)
            parts.append(f"{unlisted} in a format whose tensors are not listed")
        summary = f"{_count(expected, 'weight file')}: " + ", ".join(parts)
    if state == "partial" and coverage.pointers:
        summary += f"; {len(coverage.pointers)} present only as Git-LFS pointers"
    return {
        "state": state,
        "summary": summary,
        "expected": list(coverage.expected),
        "read": list(coverage.read),
        "pointers": list(coverage.pointers),
        "opaque": list(coverage.opaque),
        "missing": list(coverage.missing),
        "indexes": list(coverage.indexes),
        "gguf": list(coverage.gguf),
        "fully_read": coverage.fully_read,
    }


def base_coverage(
    configured: bool,
    configured_id: str | None,
    base: ModelFacts | None,
    tuned: ModelFacts,
    unavailable: str | None,
) -> dict[str, Any]:
    """How the base was (or was not) compared, with what the model's own files claim.

    `configured`: modelcards.yml gives a base (`configured_id` is its Hub id, if it has one);
    `unavailable`: why a configured base could not be read.
    """
    meta = tuned.card.metadata if tuned.card else None
    claims = base_claims(tuned.adapter, meta, tuned.config)
    # config.json _name_or_path is only what from_pretrained was given (often a local folder
    # name): a base is "named" by adapter_config.json or the card; _name_or_path is mentioned
    hub_claims = [c for c in claims if c.name.kind == "hub" and c.file != "config.json"]
    weak = [c for c in claims if c.name.kind == "hub" and c.file == "config.json"]
    path_claims = [c for c in claims if c.name.kind == "path"]
    named = configured_id if configured_id else (hub_claims[0].name.id if hub_claims else None)
    if base is not None:
        state, reason = "compared", None
    elif configured:
        state, reason = "unavailable", unavailable or "not read"
    elif hub_claims:
        state = "not-configured"
        reason = f"{hub_claims[0].source} names it; modelcards.yml gives no base for this model"
    elif path_claims:
        state = "path-only"
        reason = f"{path_claims[0].source}: {path_claims[0].name.written}"
    elif weak:
        state = "not-named"
        reason = (
            f"{weak[0].source} says it was loaded from {weak[0].name.written}, which may be a "
            "Hub id or a folder on the training machine"
        )
    else:
        state, reason = "not-named", None
    return {
        "state": state,
        "named": named,
        "reason": reason,
        "claims": [c.as_json() for c in claims],
        "summary": _base_summary(state, named, base, reason),
    }


def _base_summary(
    state: str, named: str | None, base: ModelFacts | None, reason: str | None
) -> str:
    if state == "compared" and base is not None:
        where = base.source.describe()
        return f"compared with {named or where} (files read from {base.source.kind} {where})"
    if state == "unavailable":
        return f"named ({named or 'a local folder'}), not compared: {reason}"
    if state == "not-configured":
        return f"named ({named}), not compared: {reason}"
    if state == "path-only":
        return f"not compared: recorded only as a path on the training machine ({reason})"
    named_nowhere = "not named in modelcards.yml or the model's files: nothing was compared"
    return f"{named_nowhere} ({reason})" if reason else named_nowhere


def coverage(
    configured: bool,
    configured_id: str | None,
    tuned: ModelFacts,
    base: ModelFacts | None,
    unavailable: str | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "base": base_coverage(configured, configured_id, base, tuned, unavailable),
        "weights": weights_coverage(tuned.weights.coverage, adapter=tuned.is_adapter),
        "base_weights": None
        if base is None
        else weights_coverage(base.weights.coverage, adapter=base.is_adapter),
        "unread": list(tuned.notes),
        "architecture": None,  # where the architecture comes from, when not config.json
    }
    if tuned.config is None and tuned.gguf:
        result["architecture"] = (
            "no config.json: the architecture is read from the GGUF "
            + ("header" if len(tuned.gguf) == 1 else "headers")
            + f" ({_files(tuple(f.file for f in tuned.gguf))})"
        )
    # complete: every claim a card makes by default (compared, scanned) rests on what was read
    result["complete"] = (
        result["base"]["state"] == "compared" and not weights_gaps(tuned, base) and not tuned.notes
    )
    return result


def weights_gaps(tuned: ModelFacts, base: ModelFacts | None) -> list[str]:
    """The sides whose weights were not all there, e.g. "base weights partial". An adapter is
    measured by its own weights only: a full base's files are not what it is compared by."""
    sides = [("fine-tune", tuned)]
    if base is not None and not (tuned.is_adapter and not base.is_adapter):
        sides.append(("base", base))
    return [
        f"{label} weights {facts.weights.coverage.state}"
        for label, facts in sides
        if facts.weights.coverage.state != "complete"
    ]
