"""Changes in what a model records besides configs and weights: the card's licence and
datasets, remote code files, and the training run."""

from __future__ import annotations

from typing import Any

from modelcards.compare.keys import added_removed
from modelcards.compare.model import Change
from modelcards.inspect.facts import ModelFacts

__all__ = ["card_changes", "code_changes", "training_changes"]


def card_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    changes = []
    own = tuned.own_license  # a licence build filled in from the base is no change of licence
    if own is not None and base.license is not None and own != base.license:
        changes.append(
            Change(
                "license",
                "license",
                base.license,
                own,
                True,
                f"licence {base.license} → {own}",
                "README.md",
            )
        )
    datasets_b = _as_list(base.card.metadata.get("datasets") if base.card else None)
    datasets_a = _as_list(tuned.card.metadata.get("datasets") if tuned.card else None)
    if datasets_a != datasets_b and datasets_a:
        changes.append(
            Change(
                "data",
                "datasets",
                datasets_b or None,
                datasets_a,
                True,
                "training data named in the card: " + ", ".join(datasets_a),
                "README.md",
            )
        )
    return changes


def code_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    added = sorted(set(tuned.code_files) - set(base.code_files))
    removed = sorted(set(base.code_files) - set(tuned.code_files))
    if not added and not removed:
        return []
    return [
        Change(
            "remote-code",
            "files",
            sorted(base.code_files),
            sorted(tuned.code_files),
            True,
            added_removed("Python files", added, removed),
        )
    ]


def training_changes(base: ModelFacts, tuned: ModelFacts) -> list[Change]:
    """The training run that produced the tuned model, when it is not the base's own record."""
    record = tuned.training
    if record is None or record == base.training:
        return []
    parts = []
    if record.global_step is not None:
        parts.append(f"{record.global_step:,} steps")
    if record.epochs is not None:
        parts.append(f"{record.epochs:.2f} epochs")
    if record.final_loss is not None:
        parts.append(f"final training loss {record.final_loss:g}")
    summary = ", ".join(parts) or "training results recorded"
    after = {
        "global_step": record.global_step,
        "epochs": record.epochs,
        "final_loss": record.final_loss,
    }
    return [
        Change(
            "training", "trainer_state", None, after, True, f"trained: {summary}", record.files[0]
        )
    ]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
