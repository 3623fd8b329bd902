"""How the model was trained, from what the training stacks leave in its folder (`Recipe`).

Each setting is one row with the file and key it came from. Sources are read in a fixed order —
what the saved artefacts record (adapter_config.json, the quantization config, mergekit's
config), then what the trainer was given (training_args.bin/.json/.yaml, ms-swift args.json, an
axolotl YAML, LLaMA-Factory's board), then what it recorded (trainer_state.json,
trainer_log.jsonl), then what the Trainer's README lists — and the first source of a setting
wins. A later source that says something else is kept as a conflict, so the card shows both.
A file that cannot be read is a note, never an error: the recipe is an optional record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelcards.inspect.recipe_keys import KEY_ORDER, RecipeValue, Value, agrees
from modelcards.resolve.snapshot import Snapshot

__all__ = ["Recipe", "RecipeValue", "Value", "read_recipe"]


@dataclass(frozen=True)
class Recipe:
    values: tuple[RecipeValue, ...] = ()  # one per setting, in KEY_LABELS order
    conflicts: tuple[RecipeValue, ...] = ()  # a later source that disagrees with values' row
    support: tuple[RecipeValue, ...] = ()  # a later source that says the same as values' row
    base_claims: tuple[RecipeValue, ...] = ()  # key "base_model": the base a training config names
    files: tuple[str, ...] = ()  # the files the recipe was read from
    notes: tuple[str, ...] = ()  # recipe files present but not read, and why

    def get(self, key: str) -> RecipeValue | None:
        return next((v for v in self.values if v.key == key), None)

    def conflicts_of(self, key: str) -> tuple[RecipeValue, ...]:
        return tuple(v for v in self.conflicts if v.key == key)

    def support_of(self, key: str) -> tuple[RecipeValue, ...]:
        return tuple(v for v in self.support if v.key == key)


def _order(value: RecipeValue) -> int:
    return KEY_ORDER.get(value.key, len(KEY_ORDER))


def merge(
    found: list[RecipeValue],
) -> tuple[tuple[RecipeValue, ...], tuple[RecipeValue, ...], tuple[RecipeValue, ...]]:
    """(winners in canonical order, later values that disagree, later values that agree): the
    first source of a key wins."""
    winners: dict[str, RecipeValue] = {}
    conflicts: list[RecipeValue] = []
    support: list[RecipeValue] = []
    for value in found:
        first = winners.get(value.key)
        if first is None:
            winners[value.key] = value
        elif agrees(first.value, value.value):
            if value.source != first.source:
                support.append(value)
        elif not any(c.key == value.key and agrees(c.value, value.value) for c in conflicts):
            conflicts.append(value)
    return (
        tuple(sorted(winners.values(), key=_order)),
        tuple(sorted(conflicts, key=_order)),
        tuple(sorted(support, key=_order)),
    )


def read_recipe(
    snapshot: Snapshot,
    present: set[str],
    *,
    adapter: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    card_metadata: Mapping[str, Any] | None,
    card_body: str | None,
    state_file: str | None,
) -> Recipe:
    """The recipe of one snapshot; `adapter`, `config` and the card are what inspect already
    parsed, `state_file` the trainer_state.json it read (top level or latest checkpoint)."""
    from modelcards.inspect.recipe_sources import SourceReader, recipe_sources  # not for check

    reader = SourceReader(snapshot, present)
    found, claims = recipe_sources(
        reader,
        adapter=adapter,
        config=config,
        card_metadata=card_metadata,
        card_body=card_body,
        state_file=state_file,
    )
    values, conflicts, support = merge(found)
    used = {v.source.split(":", 1)[0].split(" (", 1)[0] for v in (*found, *claims)}
    return Recipe(
        values=values,
        conflicts=conflicts,
        support=support,
        base_claims=tuple(claims),
        files=tuple(sorted(used)),
        notes=tuple(reader.notes),
    )
