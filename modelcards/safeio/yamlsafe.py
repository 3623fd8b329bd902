"""YAML from untrusted files (card front matter, project config): plain data only.

Aliases (billion-laughs expansion) and custom tags (object construction) are refused before
anything is built; round-trip loading is used where comments and key order must survive.
Nesting is bounded before parsing (`MAX_DEPTH`): ruamel's scanner slows quadratically and its
constructor recurses on thousands of levels, where no real config goes past a dozen.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from modelcards.safeio.errors import ModelcardsError

if TYPE_CHECKING:
    from ruamel.yaml import YAML

STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"
MAX_DEPTH = 100
_FLOW = re.compile(r"""[\[\]{}]|"(?:\\.|[^"\\])*"|'(?:''|[^'])*'""")
_INDENT = re.compile(r"^( *)\S", re.MULTILINE)


def too_deep(text: str) -> bool:
    """A cheap upper bound on nesting, before the parser sees the text: flow brackets outside
    quotes, and block indentation (one level needs at least one column)."""
    depth = deepest = 0
    for match in _FLOW.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(0, depth - 1)
    indents = (len(m.group(1)) for m in _INDENT.finditer(text))
    return deepest > MAX_DEPTH or max(indents, default=0) > 8 * MAX_DEPTH


def _yaml(roundtrip: bool) -> YAML:
    from ruamel.yaml import YAML  # 0.06 s to import: only where a YAML file is parsed

    yaml = YAML(typ="rt" if roundtrip else "safe", pure=True)
    yaml.allow_duplicate_keys = False
    if roundtrip:
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def load_yaml(
    text: str, *, file: str, error: type[ModelcardsError], roundtrip: bool = False
) -> Any:
    """Parse YAML text, raising `error` (naming `file` and the line) for anything not plain data."""
    if too_deep(text):
        raise error(f"YAML nested deeper than {MAX_DEPTH} levels", file=file)
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent

    yaml = _yaml(roundtrip)
    depth = 0
    try:
        for event in yaml.parse(io.StringIO(text)):
            depth += isinstance(event, CollectionStartEvent) - isinstance(event, CollectionEndEvent)
            if depth > MAX_DEPTH:
                raise error(f"YAML nested deeper than {MAX_DEPTH} levels", file=file)
            if isinstance(event, AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise error(f"line {line}: YAML aliases are not allowed", file=file)
            tag = getattr(event, "tag", None)
            if tag and not tag.startswith(STANDARD_TAG_PREFIX) and tag != "!":
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise error(f"line {line}: custom YAML tag {tag!r} is not allowed", file=file)
        return _yaml(roundtrip).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}invalid YAML: {problem}", file=file) from None
    except (ValueError, TypeError, OverflowError) as exc:  # `!!int notanint`: a tag it fails
        raise error(f"invalid YAML: a value does not fit its tag ({exc})", file=file) from None


_TAGGED: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": lambda v: str(v).lower() == "true",
}


def plain_data(value: Any) -> Any:
    """Round-trip YAML as plain dicts, lists and scalars: an explicitly tagged scalar
    (`!!str 1.0`) becomes its value, as a safe load would give it."""
    if isinstance(value, Mapping):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_data(v) for v in value]
    comments = sys.modules.get("ruamel.yaml.comments")  # not loaded: nothing is ruamel's
    if comments is not None and isinstance(value, comments.TaggedScalar):
        tag = str(getattr(value.tag, "value", value.tag) or "").removeprefix("!!")
        tag = tag.removeprefix(STANDARD_TAG_PREFIX)
        try:
            return _TAGGED.get(tag, str)(value.value)
        except ValueError:
            return str(value.value)
    return value


def dump_yaml(data: Any) -> str:
    """Serialise (round-trip aware) YAML deterministically."""
    stream = io.StringIO()
    _yaml(True).dump(data, stream)
    return stream.getvalue()
