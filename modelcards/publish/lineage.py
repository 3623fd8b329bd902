"""The lineage graph: upstream bases → fine-tunes, adapters, quantized variants, merges.

Built from the cards' contexts and split into families; `lineage_svg` draws each as inline SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelcards.publish.lineage_svg import lineage_svg

MAX_EDGES = 150  # one drawing; past this a family is a table


@dataclass
class Graph:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {id, label, kind, slug}
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from key, to key, relation)

    def node(self, key: str, label: str, kind: str, slug: str | None = None) -> str:
        if key not in self.nodes:
            self.nodes[key] = {"id": f"n{len(self.nodes)}", "label": label, "kind": kind}
        if slug:  # a base that is also a model of the project becomes that model's node
            self.nodes[key].update(kind="model", slug=slug, label=label)
        return key


def build_graph(models: Sequence[dict[str, Any]]) -> Graph:
    """models: {slug, context} per model, in config order."""
    graph = Graph()
    paths = {m["context"]["model"]["path"]: m for m in models}
    for m in models:
        ctx = m["context"]
        graph.node(f"path:{ctx['model']['path']}", ctx["model"]["name"], "model", m["slug"])
    for m in models:
        ctx = m["context"]
        base = ctx.get("base")
        if not base:
            continue
        if base.get("path") and base["path"] in paths:
            key = f"path:{base['path']}"
        elif base.get("id"):
            key = graph.node(f"id:{base['id']}", base["id"], "upstream")
        else:
            key = graph.node(f"path:{base['path']}", base["path"], "upstream")
        relation = ctx["model"].get("relation") or "derived"
        graph.edges.append((key, f"path:{ctx['model']['path']}", relation))
    return graph


def families(graph: Graph) -> list[list[tuple[str, str, str]]]:
    """Edges split into connected families (one per upstream root), in first-seen order."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b, _ in graph.edges:
        parent[find(a)] = find(b)
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for edge in graph.edges:
        groups.setdefault(find(edge[0]), []).append(edge)
    return list(groups.values())


def lineage_context(models: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the lineage templates need: diagrams (small families) and tables (large ones)."""

    graph = build_graph(models)
    diagrams, tables = [], []
    for edges in families(graph):
        rows = [
            {
                "base": graph.nodes[a]["label"],
                "base_slug": graph.nodes[a].get("slug"),
                "model": graph.nodes[b]["label"],
                "slug": graph.nodes[b].get("slug"),
                "relation": relation,
            }
            for a, b, relation in edges
        ]
        if len(edges) <= MAX_EDGES:
            diagrams.append({"svg": lineage_svg(graph.nodes, edges, link="models/"), "rows": rows})
        else:
            tables.append({"root": rows[0]["base"], "rows": rows})
    return {
        "edges": len(graph.edges),
        "diagrams": diagrams,
        "tables": tables,
        "whole": lineage_svg(graph.nodes, graph.edges, link="models/")
        if 0 < len(graph.edges) <= MAX_EDGES
        else None,
    }
