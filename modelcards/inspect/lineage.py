"""What a model's own files say it was made from: the base claims, in the order of trust.

peft records the base it loaded in `adapter_config.json`; the author (or a training stack's
template) names it in the card's `base_model`; transformers records what `from_pretrained` was
given in `config.json` `_name_or_path`. Each is a claim, classified as a Hub id or a local path;
none is resolved here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelcards.resolve.hubid import BaseName, classify_base_name

# the published tags peft and the Hub derive from base_model: base_model:<relation>:<id>
BASE_TAG_PREFIX = "base_model:"


@dataclass(frozen=True)
class BaseClaim:
    file: str
    key: str
    name: BaseName

    @property
    def source(self) -> str:
        return f"{self.file} {self.key}"

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "key": self.key,
            "written": self.name.written,
            "kind": self.name.kind,
            "id": self.name.id,
            "revision": self.name.revision,
        }


def base_claims(
    adapter: Mapping[str, Any] | None,
    card_metadata: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
) -> tuple[BaseClaim, ...]:
    """Every base the files name, most trusted first; values that are neither id nor path skipped."""
    found: list[tuple[str, str, Any]] = []
    if adapter:
        found.append(("adapter_config.json", "base_model_name_or_path",
                      adapter.get("base_model_name_or_path")))  # fmt: skip
    if card_metadata:
        value = card_metadata.get("base_model")
        for item in value if isinstance(value, list) else [value]:
            found.append(("README.md", "base_model", item))
    if config:
        found.append(("config.json", "_name_or_path", config.get("_name_or_path")))
    claims = []
    for file, key, value in found:
        named = classify_base_name(value) if isinstance(value, str) else None
        if named is not None:
            claims.append(BaseClaim(file, key, named))
    return tuple(claims)


def local_path_tags(tags: Any) -> list[str]:
    """`base_model:<relation>:<path>` tags whose base is a path on some machine's disk."""
    bad = []
    for tag in tags if isinstance(tags, list) else []:
        if not isinstance(tag, str) or not tag.startswith(BASE_TAG_PREFIX):
            continue
        rest = tag[len(BASE_TAG_PREFIX) :]
        relation, colon, value = rest.partition(":")
        named = classify_base_name(value if colon else relation)
        if named is not None and named.kind == "path":
            bad.append(tag)
    return bad
