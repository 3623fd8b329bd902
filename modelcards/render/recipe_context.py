"""The training recipe as the card and card.json show it: `training.recipe`, one row per setting.

Each row is `{key, label, value, text, source, also, conflict, doubtful}`: `value` as read (a list for several
names, null for a setting the file states as none), `text` as the card prints it. A setting two
files disagree on is two rows, the first source's then the other's, both marked `conflict`, so
a reader sees both values and both files. A row from a training config that names another
base than the model's files (MC618) is `doubtful` unless another file says the same: that
config may not be the one of this run. `also` lists the later sources that agree.
"""

from __future__ import annotations

from typing import Any

from modelcards.assess.lineage_rules import recipe_base_findings
from modelcards.inspect.facts import ModelFacts
from modelcards.inspect.recipe import Recipe, RecipeValue, Value
from modelcards.inspect.recipe_keys import LABELS, LOCAL


def value_text(value: Value) -> str:
    """How the card prints a setting: lists joined, booleans lower-case, null as "none"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, float) and abs(value) >= 1e6:
        return f"{value:.4g}"
    return str(value)


def _file(source: str) -> str:
    return source.split(":", 1)[0].split(" (", 1)[0]


def _row(item: RecipeValue, conflict: bool, doubtful: bool, also: list[str]) -> dict[str, Any]:
    return {
        "key": item.key,
        "label": LABELS.get(item.key, item.key),
        "value": list(item.value) if isinstance(item.value, tuple) else item.value,
        "text": value_text(item.value),
        "source": item.source,
        "also": also,
        "conflict": conflict,
        "doubtful": doubtful,
    }


def recipe_rows(recipe: Recipe, doubtful: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The rows; `doubtful` names configs that name another base (MC618): a row read from one
    is doubtful unless another file says the same (`also`: the later sources that agree)."""
    rows: list[dict[str, Any]] = []
    for item in recipe.values:
        others = recipe.conflicts_of(item.key)
        also = [s.source for s in recipe.support_of(item.key)]
        unconfirmed = _file(item.source) in doubtful and all(_file(s) in doubtful for s in also)
        rows.append(_row(item, bool(others), unconfirmed, also))
        rows += [_row(o, True, _file(o.source) in doubtful, []) for o in others]
    return rows


def recipe_context(facts: ModelFacts) -> dict[str, Any]:
    """The keys `training` gets: the rows, the files read and what could not be read."""
    doubtful = frozenset(f.file for f in recipe_base_findings(facts))
    rows = recipe_rows(facts.recipe, doubtful)
    return {
        "recipe": rows,
        "recipe_doubtful_files": sorted(doubtful),
        "recipe_conflicts": any(r["conflict"] for r in rows),
        "recipe_local": any(LOCAL in r["text"] for r in rows),
        "recipe_files": list(facts.recipe.files),
        "recipe_notes": list(facts.recipe.notes),
    }


def has_recipe(facts: ModelFacts) -> bool:
    """Whether the files say anything about how the model was trained (or tried to)."""
    return bool(facts.recipe.values or facts.recipe.notes)
