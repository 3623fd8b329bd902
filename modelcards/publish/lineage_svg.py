"""The lineage graph drawn as inline SVG when the site is built: no script, no CDN, nothing to
fetch, so it shows from `file://`, from a zip, offline, and in print.

Columns are generations (an upstream base, then what was made from it, then what was made from
that); each node is a box linking to its model's page, each edge an arrow labelled with the
relation. Every label is escaped for XML: a model's name is text, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

BOX_W, BOX_H = 210, 34
COL_GAP, ROW_GAP = 110, 18
MAX_LABEL = 30


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _generations(keys: list[str], edges: Sequence[tuple[str, str, str]]) -> dict[str, int]:
    """Each node's column: 0 for a node nothing points to, else one past its deepest parent."""
    parents: dict[str, list[str]] = {k: [] for k in keys}
    for a, b, _ in edges:
        parents[b].append(a)
    depth: dict[str, int] = {}

    def of(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key not in depth:
            up = [p for p in parents[key] if p not in seen]  # a cycle is cut, not followed
            depth[key] = 1 + max((of(p, seen | {key}) for p in up), default=-1)
        return depth[key]

    for key in keys:
        of(key)
    return depth


def lineage_svg(
    nodes: Mapping[str, Mapping[str, Any]], edges: Sequence[tuple[str, str, str]], *, link: str
) -> str:
    """One `<svg>` for `edges` and the `nodes` ({label, kind, slug}) they touch; `link` + slug
    + `/index.html` is a model's page from the page the graph is on."""
    keys = [k for k in nodes if any(k in (a, b) for a, b, _ in edges)]
    depth = _generations(keys, edges)
    columns: dict[int, list[str]] = {}
    for key in keys:
        columns.setdefault(depth[key], []).append(key)
    place = {
        key: (col * (BOX_W + COL_GAP), row * (BOX_H + ROW_GAP))
        for col, members in columns.items()
        for row, key in enumerate(members)
    }
    width = (max(columns) + 1) * (BOX_W + COL_GAP) - COL_GAP + 2
    height = max(len(m) for m in columns.values()) * (BOX_H + ROW_GAP) - ROW_GAP + 2
    parts = [
        f'<svg class="mc-lineage" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="-1 -1 {width} {height}" width="{width}" height="{height}">',
        "<title>Lineage: upstream bases and the models made from them</title>",
        '<defs><marker id="mc-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    for a, b, relation in edges:
        (ax, ay), (bx, by) = place[a], place[b]
        x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx, by + BOX_H / 2
        parts.append(
            f'<path class="mc-edge" d="M{x1},{y1} C{x1 + COL_GAP / 2},{y1} '
            f'{x2 - COL_GAP / 2},{y2} {x2},{y2}" marker-end="url(#mc-arrow)"/>'
            f'<text class="mc-edge-label" x="{(x1 + x2) / 2}" y="{(y1 + y2) / 2 - 4}" '
            f'text-anchor="middle">{escape(relation)}</text>'
        )
    for key in keys:
        node, (x, y) = nodes[key], place[key]
        upstream = node["kind"] == "upstream"
        box = (
            f'<rect class="mc-node mc-{"upstream" if upstream else "model"}" x="{x}" y="{y}" '
            f'width="{BOX_W}" height="{BOX_H}" rx="{BOX_H / 2 if upstream else 4}"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 5}" text-anchor="middle">'
            f"{escape(_short(node['label']))}</text><title>{escape(node['label'])}</title>"
        )
        slug = node.get("slug")
        if slug:
            box = f'<a href="{escape(link + slug)}/index.html">{box}</a>'
        parts.append(f"<g>{box}</g>")
    parts.append("</svg>")
    return "".join(parts)
