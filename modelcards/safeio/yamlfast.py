"""Plain YAML data in milliseconds, for a config of thousands of lines read on every `check`.

ruamel.yaml's round-trip parser is pure Python: a 2,000-line modelcards.yml takes it 1.6 s
(events checked, then loaded). libyaml's C parser (PyYAML's `CParser`) gives the same events
in 25 ms, and this module builds the data from them — but only when that data is certainly
what ruamel would give (YAML 1.2, as `yamlsafe.load_yaml` reads it): plain scalars are resolved
with ruamel's own 1.2 rules, and anything else (an alias, an anchor, a tag, a directive, a
duplicate key, a float, a date, an int not written plainly, a second document, a parse error,
deep nesting, no libyaml) returns None, and the caller loads the text with ruamel as before —
which also gives the error message with its line.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 100  # as yamlsafe.MAX_DEPTH
_TRUE, _FALSE = frozenset({"true", "True", "TRUE"}), frozenset({"false", "False", "FALSE"})
_NULL = frozenset({"~", "null", "Null", "NULL", ""})
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
# ruamel.yaml's YAML 1.2 implicit resolvers (resolver.py) for the scalars read as other than a
# string here, keyed as it keys them, by first character: a match is left to ruamel
_OTHER_RESOLVED = re.compile(
    r"""(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)
    |[-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?[0-9_]+
    |[-+]?0x[0-9a-fA-F_]+
    |<<
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]\ *-[0-9][0-9]?\ *-[0-9][0-9]?
     (?:[Tt]|[\ \t]+)[0-9][0-9]?\ *:[0-9][0-9]\ *:[0-9][0-9]\ *(?:\.[0-9]*)?
     (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    |=
    |!|&|\*)""",
    re.X,
)
_RESOLVED_FIRST = frozenset("-+0123456789.<=!&*")


class _Unsure(Exception):
    """The text holds something this reader leaves to ruamel."""


def _scalar(event: Any) -> Any:
    if event.tag is not None or event.anchor is not None:
        raise _Unsure
    value: str = event.value
    if event.style:  # quoted or a block scalar: a string whatever it holds
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value[0] in _RESOLVED_FIRST:
        if _PLAIN_INT.fullmatch(value):
            return int(value)
        if _OTHER_RESOLVED.fullmatch(value):
            raise _Unsure  # a float, an int written otherwise, a date, a merge key…
    return value


def _build(events: Any) -> Any:
    """The one document's data from the event stream (containers kept as a stack)."""
    stack: list[tuple[Any, list[Any]]] = []  # (container, pending mapping key or [])
    root: list[Any] = []
    documents = 0

    def add(value: Any) -> None:
        if not stack:
            root.append(value)
            return
        container, key = stack[-1]
        if isinstance(container, list):
            container.append(value)
        elif not key:
            if isinstance(value, (dict, list)) or value in container:
                raise _Unsure  # a complex key, or a duplicate key: ruamel's error, with its line
            key.append(value)
        else:
            container[key.pop()] = value

    for event in events:
        kind = type(event).__name__
        if kind == "ScalarEvent":
            add(_scalar(event))
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            if event.tag is not None or event.anchor is not None or len(stack) >= MAX_DEPTH:
                raise _Unsure
            container: Any = {} if kind == "MappingStartEvent" else []
            add(container)
            stack.append((container, []))
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            stack.pop()
        elif kind == "DocumentStartEvent":
            documents += 1
            if documents > 1 or event.version is not None or event.tags:
                raise _Unsure
        elif kind not in ("StreamStartEvent", "DocumentEndEvent", "StreamEndEvent", "NoneType"):
            raise _Unsure  # an alias
    return root[0] if root else None


def load_plain_yaml(text: str) -> tuple[Any] | None:
    """(data,) as `load_yaml(text, roundtrip=True)` would give it in plain types, or None when
    it is not certain to (see the module docstring): then load it with ruamel."""
    try:
        from yaml._yaml import CParser  # libyaml, through PyYAML (mkdocs needs it too)
    except ImportError:
        return None
    parser = CParser(text)

    def events() -> Any:
        while True:
            event = parser.get_event()
            yield event
            if event is None or type(event).__name__ == "StreamEndEvent":
                return

    try:
        return (_build(events()),)
    except Exception:  # noqa: BLE001 - a parse error, or anything unsure: ruamel decides
        return None
    finally:
        parser.dispose()
