"""Walking a loaded config with the file name and line numbers at hand: every error names the
file, the line and the key, with a suggestion for a mistyped one."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from modelcards.safeio.errors import ConfigError

__all__ = ["Checker", "kind_of", "string_list"]


class Checker:
    """Walks the loaded YAML with the file name and line numbers at hand."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: str, message: str, node: Any = None, key: Any = None) -> ConfigError:
        line = _line(node, key)
        return ConfigError(f"{where}: {message}", file=f"{self.file}:{line}" if line else self.file)

    def mapping(
        self, value: Any, where: str, allowed: tuple[str, ...], node: Any = None, key: Any = None
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping, found {kind_of(value)}", node, key)
        for name in value:
            if name not in allowed:
                hint = difflib.get_close_matches(str(name), allowed, n=1)
                suggestion = (
                    f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
                )
                raise self.fail(
                    f"{where}.{name}" if where else str(name),
                    f"unknown key{suggestion}",
                    value,
                    name,
                )
        return value

    def string(self, value: Any, where: str, node: Any, key: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                where, f"expected a non-empty string, found {kind_of(value)}", node, key
            )
        return value


def _line(node: Any, key: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is not None and isinstance(key, int):
            return int(lc.item(key)[0]) + 1
        if key is not None:
            return int(lc.key(key)[0]) + 1
        return int(lc.line) + 1
    except (KeyError, IndexError, TypeError):
        return None


def kind_of(value: Any) -> str:
    """What a YAML value is, in words; the round-trip reader's CommentedSeq is a list too."""
    kinds = ((bool, "true/false"), (Mapping, "a mapping"), (list, "a list"), (str, "a string"),
             ((int, float), "a number"), (type(None), "nothing"))  # fmt: skip
    return next((word for kind, word in kinds if isinstance(value, kind)), type(value).__name__)


def string_list(check: Checker, value: Any, where: str, parent: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise check.fail(where, "expected a list of strings", parent, key)
    return list(value)
