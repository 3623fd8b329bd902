"""Strict JSON for files that come from models: hostile until checked.

Rejects duplicate keys (two parsers could disagree on which wins), NaN/Infinity (not JSON),
and nesting deep enough to exhaust the stack; the caller bounds the size before parsing.
Training records are the one exception: the HF Trainer writes NaN/Infinity when a run diverges,
so their readers opt in with `allow_nonfinite=True` and report the values instead of failing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from modelcards.safeio.errors import InspectError

MAX_DEPTH = 200


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built in C; a duplicate key leaves it shorter than its pairs
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _constant(name: str) -> float:
    return NONFINITE[name]


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: a number too large for a float is Infinity in disguise
        raise ValueError(f"number {text[:40]} overflows to {nonfinite_label(value)}")
    return value


def nonfinite_label(value: float) -> str:
    """The JSON spelling Python's json module writes for a non-finite float."""
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by "NaN" / "Infinity" / "-Infinity".

    Strict JSON has no such numbers, and card.json must parse everywhere; dicts, lists and
    tuples are walked (tuples come back as lists), everything else is returned as is.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return nonfinite_label(value)
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _depth(value: Any) -> int:
    """How many levels deep `value` goes (a scalar is one level, `[1]` two), one level of the
    tree at a time: a comprehension per level, not a Python step per value (a card.json of
    15 KB in 0.07 ms instead of 0.7)."""
    deepest = 0
    level = [value]
    while level:
        deepest += 1
        level = [
            child
            for item in level
            if type(item) is dict or type(item) is list
            for child in (item.values() if type(item) is dict else item)
        ]
    return deepest


def loads_strict(
    data: bytes | str, *, file: str, allow_nonfinite: bool = False, start: int | None = None
) -> Any:
    """Parse JSON or raise `InspectError` naming the file, the line and what is wrong.

    `allow_nonfinite` reads NaN/Infinity/-Infinity as floats: only for training records.
    `start`: parse the one value that begins there and ignore what follows it (a member of a
    large file whose layout the caller knows), as strictly as a whole file.
    """
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InspectError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    hooks: dict[str, Any] = {
        "object_pairs_hook": _no_duplicates,
        "parse_constant": _constant if allow_nonfinite else _no_constants,
        "parse_float": float if allow_nonfinite else _finite_float,
    }
    try:
        if start is None:
            value = json.loads(text, **hooks)
        else:
            value = json.JSONDecoder(**hooks).raw_decode(text, start)[0]
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
    if "\\ud" in text or "\\uD" in text:  # only an escape can make a lone surrogate
        value = _no_lone_surrogates(value)
    return value


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_lone_surrogates(value: Any) -> Any:
    """`"\\ud800"` is valid JSON but no Unicode text: shown as the escape it was, so that every
    output (UTF-8) can hold it."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, dict):
        return {_no_lone_surrogates(k): _no_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_lone_surrogates(v) for v in value]
    return value
