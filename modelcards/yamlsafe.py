"""YAML from untrusted files (card front matter, project config): plain data only.

Aliases (billion-laughs expansion) and custom tags (object construction) are refused before
anything is built; round-trip loading is used where comments and key order must survive.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent

from modelcards.errors import ModelcardsError

STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"


def _yaml(roundtrip: bool) -> YAML:
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
    yaml = _yaml(roundtrip)
    try:
        for event in yaml.parse(io.StringIO(text)):
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


def dump_yaml(data: Any) -> str:
    """Serialise (round-trip aware) YAML deterministically."""
    stream = io.StringIO()
    _yaml(True).dump(data, stream)
    return stream.getvalue()
