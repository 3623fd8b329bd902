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


def inherited_keys(front: str | None) -> frozenset[str]:
    """Top-level front-matter keys marked as filled in from the base."""
    return frozenset(m.group("key") for m in _INHERITED_KEY.finditer(front or ""))


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter text or None, body). Only a block at the very top counts."""
    match = FRONT_MATTER.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]
