"""Keras models whose config carries Python code: Lambda layers and function references.

`.keras` files are zips with a `config.json`; `.h5` files keep the config as a JSON attribute
that we find by searching the raw bytes (no h5py), within a byte budget.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from modelcards.assess.findings import Finding
from modelcards.assess.rules import finding
from modelcards.assess.scan.policy import Verdict, classify

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_WALK = 200_000  # config nodes visited
MAX_CANDIDATES = 8  # places in raw HDF5 bytes tried as the start of the config JSON
MAX_CONFIG_BYTES = 16 * 1024 * 1024  # bytes decoded per candidate

_RAW_MARKERS = (
    (re.compile(rb'"class_name"\s*:\s*"Lambda"'), "Lambda layer"),
    (re.compile(rb'"class_name"\s*:\s*"__lambda__"'), "serialized lambda"),
    (re.compile(rb'"__lambda__"'), "serialized lambda"),
    (re.compile(rb'"class_name"\s*:\s*"function"'), "function reference"),
)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    seen = 0
    while stack and seen < MAX_WALK:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def config_findings(config: Any, file: str, *, member: str | None = None) -> list[Finding]:
    """Findings from a parsed Keras model config (any nesting of layers and functions)."""
    where = {"member": member} if member else {}
    findings: list[Finding] = []
    lambdas: list[str] = []
    functions: set[tuple[str, str]] = set()
    for node in _walk(config):
        class_name = node.get("class_name")
        conf = node.get("config")
        if class_name == "Lambda":
            name = conf.get("name") if isinstance(conf, dict) else None
            lambdas.append(str(name or "?"))
        elif class_name == "__lambda__" or "__lambda__" in node:
            lambdas.append("__lambda__")
        module = node.get("module")
        if not isinstance(module, str):
            continue
        if class_name == "function":  # a function by reference: config is its name
            name = conf if isinstance(conf, str) else node.get("registered_name")
        else:  # a class by reference (custom layers, losses...): deserialising imports it
            name = class_name
        if isinstance(name, str):
            functions.add((module, name))
    if lambdas:
        findings.append(
            finding(
                "MC401",
                file,
                f"{len(lambdas)} Lambda layer(s) or serialized "
                f"function(s): {', '.join(sorted(set(lambdas))[:5])}",
                {**where, "layers": sorted(set(lambdas))[:50]},
            )
        )
    for module, name in sorted(functions):
        if module.split(".")[0] in ("keras", "tf_keras", "tensorflow"):
            continue
        verdict, target = classify(module, name)
        rule = "MC403" if verdict is Verdict.DANGEROUS else "MC402"
        findings.append(
            finding(
                rule,
                file,
                f"config imports {module}.{name}",
                {**where, "module": module, "name": name, "resolves_to": target},
            )
        )
    return findings


def raw_marker_findings(chunk_hits: set[str], file: str) -> list[Finding]:
    if not chunk_hits:
        return []
    return [
        finding(
            "MC401",
            file,
            f"raw bytes contain a Keras {', '.join(sorted(chunk_hits))}",
            {"markers": sorted(chunk_hits)},
        )
    ]


def search_markers(data: bytes) -> set[str]:
    return {label for pattern, label in _RAW_MARKERS if pattern.search(data)}


def extract_model_config(data: bytes) -> Any | None:
    """Find the `model_config` JSON in raw HDF5 bytes: the first balanced object that parses."""
    anchor = data.find(b"model_config")
    starts = [m.start() for m in re.finditer(rb'\{"class_name"', data)][:MAX_CANDIDATES]
    if anchor >= 0:
        starts.sort(key=lambda s: (s < anchor, abs(s - anchor)))
    decoder = json.JSONDecoder()
    for start in starts:
        try:
            text = data[start : start + MAX_CONFIG_BYTES].decode("utf-8", errors="replace")
            value, _ = decoder.raw_decode(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and "config" in value:
            return value
    return None
