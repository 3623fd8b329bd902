"""Shard indexes whose `weight_map` names a file outside the model folder.

A loader joins each shard name to the index's folder and opens it: `../../etc/x` or an absolute
path makes loading the model read a file the folder never held (`diff` and `build` refuse such
an index; `scan` reports it).
"""

from __future__ import annotations

import json
import posixpath

from modelcards.assess.findings import Finding
from modelcards.assess.rules import finding
from modelcards.resolve.snapshot import relative_path_problem

INDEX_SUFFIX = ".index.json"
MAX_REPORTED = 20


def is_weight_index(name: str) -> bool:
    return name.endswith(INDEX_SUFFIX)


def index_findings(raw: bytes, file: str) -> list[Finding]:
    """One MC209 per shard name that escapes (up to MAX_REPORTED); nothing for an index that
    is not JSON (the loader refuses it, and inspect names it)."""
    try:
        weight_map = json.loads(raw).get("weight_map")
    except (ValueError, AttributeError, RecursionError):
        return []
    if not isinstance(weight_map, dict):
        return []
    folder = posixpath.dirname(file)
    escaping: dict[str, str] = {}
    for shard in weight_map.values():
        if not isinstance(shard, str) or shard in escaping:
            continue
        problem = relative_path_problem(posixpath.normpath(posixpath.join(folder, shard)))
        if problem is None and (shard.startswith("/") or ".." in shard.split("/")):
            problem = "escapes the index's folder (..)"
        if problem is not None:
            escaping[shard] = problem
    return [
        finding(
            "MC209",
            file,
            f"weight_map names {shard[:200]!r}, which {problem}",
            {"shard": shard[:200]},
        )  # fmt: skip
        for shard, problem in sorted(escaping.items())[:MAX_REPORTED]
    ]
