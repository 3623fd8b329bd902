"""Split a README.md into YAML front matter and Markdown body (shared by inspect and render)."""

from __future__ import annotations

import re

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter text or None, body). Only a block at the very top counts."""
    match = FRONT_MATTER.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]
