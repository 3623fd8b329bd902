"""A card's body as human and generated parts, found without a regular expression's lazy
scan: `check` splits every card of a project (1,000 of them) to fingerprint what build wrote.

Generated parts are fenced by `<!-- modelcards:begin NAME -->` / `<!-- modelcards:end NAME -->`;
`BLOCK` is the definition, `parse_body` finds exactly what `BLOCK.finditer` finds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

BLOCK = re.compile(
    r"<!-- modelcards:begin (?P<name>[a-z0-9-]+) -->\n(?P<body>.*?)<!-- modelcards:end (?P=name) -->\n?",
    re.DOTALL,
)
START = "^"  # key of the human text before the first generated block
_BEGIN = "<!-- modelcards:begin "
_HEAD = re.compile(r"<!-- modelcards:begin (?P<name>[a-z0-9-]+) -->\n")


@dataclass(frozen=True)
class Part:
    kind: str  # "human" or "generated"
    key: str  # generated: block name; human: name of the block it follows (or START)
    text: str


def blocks(body: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, name) of every generated block, as `BLOCK.finditer` gives them: a begin
    marker with no end after it is passed over, and the search goes on after it."""
    position = 0
    while (start := body.find(_BEGIN, position)) >= 0:
        head = _HEAD.match(body, start)
        end_marker = f"<!-- modelcards:end {head.group('name')} -->" if head else ""
        stop = body.find(end_marker, head.end()) if head else -1
        if head is None or stop < 0:
            position = start + 1
            continue
        end = stop + len(end_marker)
        end += body.startswith("\n", end)
        yield start, end, head.group("name")
        position = end


def parse_body(body: str) -> list[Part]:
    parts: list[Part] = []
    position, previous = 0, START
    for start, end, name in blocks(body):
        parts.append(Part("human", previous, body[position:start]))
        parts.append(Part("generated", name, body[start:end]))
        previous, position = name, end
    parts.append(Part("human", previous, body[position:]))
    return parts
