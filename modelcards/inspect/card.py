"""Split a README.md into YAML front matter and Markdown body (shared by inspect and render)."""

from __future__ import annotations

import re

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)
# the comment build puts on a front-matter key it filled in from the base (the licence): such a
# value is the base's, not the model's own, and follows the base until a person deletes it
INHERITED_NOTE = "inherited from the base model by modelcards (delete this comment to make it own)"
_INHERITED_KEY = re.compile(
    r"^(?P<key>[A-Za-z_][\w-]*):[^\n#]*#\s*" + re.escape(INHERITED_NOTE), re.MULTILINE
)


# the comment build puts on a front-matter key it wrote from the model's own files (the
# model-index, from the results files): rewritten on every build until a person deletes it
GENERATED_NOTE = "written by modelcards from the results files (delete this comment to make it own)"
_GENERATED_KEY = re.compile(
    r"^(?P<key>[A-Za-z_][\w-]*):[^\n#]*#\s*" + re.escape(GENERATED_NOTE), re.MULTILINE
)


def inherited_keys(front: str | None) -> frozenset[str]:
    """Top-level front-matter keys marked as filled in from the base."""
    return frozenset(m.group("key") for m in _INHERITED_KEY.finditer(front or ""))


def generated_keys(front: str | None) -> frozenset[str]:
    """Top-level front-matter keys marked as written by build from the model's files."""
    return frozenset(m.group("key") for m in _GENERATED_KEY.finditer(front or ""))


def model_index_metrics(index: object) -> int:
    """How many metrics a `model-index` value states (0 for `results: []`: it states none)."""
    count = 0
    for model in index if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for result in results if isinstance(results, list) else []:
            metrics = result.get("metrics") if isinstance(result, dict) else None
            count += sum(
                isinstance(m, dict) for m in (metrics if isinstance(metrics, list) else [])
            )
    return count


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter text or None, body). Only a block at the very top counts."""
    match = FRONT_MATTER.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]
