"""Strict JSON for files that come from models: hostile until checked.

Rejects duplicate keys (two parsers could disagree on which wins), NaN/Infinity (not JSON),
and nesting deep enough to exhaust the stack; the caller bounds the size before parsing.
"""

from __future__ import annotations

import json
from typing import Any

from modelcards.errors import InspectError

MAX_DEPTH = 200


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def loads_strict(data: bytes | str, *, file: str) -> Any:
    """Parse JSON or raise `InspectError` naming the file, the line and what is wrong."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InspectError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise InspectError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=file
        ) from None
    except ValueError as exc:
        raise InspectError(f"rejected JSON: {exc}", file=file) from None
    except RecursionError:
        raise InspectError("rejected JSON: nested too deeply", file=file) from None
    if _depth(value) > MAX_DEPTH:
        raise InspectError(f"rejected JSON: nested more than {MAX_DEPTH} levels", file=file)
    return value
