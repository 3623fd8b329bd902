"""The framework versions a model's files record, each with the file it was read from.

Three kinds of record: config.json's `transformers_version`, sentence-transformers'
`config_sentence_transformers.json` `__version__`, and the "### Framework versions" list the
Trainer, PEFT and sentence-transformers write into a README ("- PEFT 0.11.1",
"- Transformers: 4.51.3"). The first record of a framework wins; the others are not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelcards.resolve.model_files import ST_CONFIG

_SECTION = re.compile(r"^#{2,4}\s*Framework versions\s*$(?P<text>.*?)(?=^#|\Z)", re.M | re.S | re.I)
_ITEM = re.compile(r"^\s*[-*]\s*(?P<name>[A-Za-z][\w .-]{0,40}?)\s*:?\s+(?P<version>\d[\w.+-]{0,40})\s*$", re.M)  # fmt: skip
_NAMES = {
    "pytorch": "PyTorch",
    "torch": "PyTorch",
    "sentence_transformers": "Sentence Transformers",
}


@dataclass(frozen=True)
class FrameworkVersion:
    name: str  # as the record spells it ("Transformers", "PEFT")
    version: str
    source: str  # "config.json transformers_version", "README.md Framework versions"


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.lower())


def read_frameworks(
    config: Mapping[str, Any] | None,
    st_config: Mapping[str, Any] | None,
    card_body: str | None,
) -> tuple[FrameworkVersion, ...]:
    found: dict[str, FrameworkVersion] = {}

    def add(name: str, version: object, source: str) -> None:
        if isinstance(version, str) and version.strip() and _key(name) not in found:
            found[_key(name)] = FrameworkVersion(name, version.strip()[:60], source)

    add(
        "Transformers",
        (config or {}).get("transformers_version"),
        "config.json transformers_version",
    )
    versions = (st_config or {}).get("__version__")
    for name, version in versions.items() if isinstance(versions, dict) else ():
        add(_NAMES.get(name, name.capitalize()), version, f"{ST_CONFIG} __version__")
    section = _SECTION.search(card_body or "")
    for item in _ITEM.finditer(section.group("text") if section else ""):
        add(item.group("name").strip(), item.group("version"), "README.md Framework versions")
    return tuple(found.values())
