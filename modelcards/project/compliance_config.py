"""The `compliance:` section of modelcards.yml: values the files cannot give, checked up front.

`base_training_flop`, the original model's training compute with where it is stated, per model
(`models[i].compliance.base_training_flop: {flop, source}`) or per base id
(`compliance.base_training_flop: {<hub id>: {flop, source}}`). A figure without a source is
refused: the threshold verdict rests on it, so an auditor must be able to look it up.

The provider's own statements for the EU documents (`render/provider_details.py`), as defaults
for every model (`compliance.provider_name`) and per model (`models[i].compliance.provider_name`),
each kept with the key it was given under. They are checked here, not when a document is
written: a market date that is no date or a policy file that is not there is a mistake in the
config, named with its line before anything is read.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from modelcards.render.provider_details import PROVIDER_FIELDS, ProviderValue
from modelcards.render.subject import DeclaredCompute

MODEL_KEYS = ("base_training_flop", *PROVIDER_FIELDS)


class Checker(Protocol):
    def fail(self, where: str, message: str, node: Any = None, key: Any = None) -> Exception: ...

    def mapping(
        self, value: Any, where: str, allowed: tuple[str, ...], node: Any = None, key: Any = None
    ) -> Mapping[str, Any]: ...

    def string(self, value: Any, where: str, node: Any, key: Any) -> str: ...


def _flop(check: Checker, value: Any, where: str, node: Any) -> float:
    """A positive, finite number; "3.8e25" too (YAML 1.1 readers leave it a string)."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number <= 0:
        raise check.fail(where, f"expected a positive number of FLOP (e.g. 3.8e25), found {value!r}",
                         node, "flop")  # fmt: skip
    return number


def declared_compute(
    check: Checker, value: Any, where: str, parent: Any, key: Any
) -> DeclaredCompute:
    item = check.mapping(value, where, ("flop", "source"), parent, key)
    for needed in ("flop", "source"):
        if needed not in item:
            raise check.fail(where, f"missing `{needed}`"
                             + (" (the card, paper or page the figure is from)"
                                if needed == "source" else ""), parent, key)  # fmt: skip
    return DeclaredCompute(
        flop=_flop(check, item["flop"], f"{where}.flop", item),
        source=check.string(item["source"], f"{where}.source", item, "source"),
        where=where,
    )


def _known_keys(check: Checker, section: Any, where: str) -> None:
    """An unknown key is refused with every allowed key listed (and the closest one named)."""
    if not isinstance(section, Mapping):
        return  # `check.mapping` says what it is instead
    for name in section:
        if name not in MODEL_KEYS:
            hint = difflib.get_close_matches(str(name), MODEL_KEYS, n=1)
            close = f"did you mean {hint[0]!r}? " if hint else ""
            raise check.fail(f"{where}.{name}",
                             f"unknown key ({close}allowed: {', '.join(MODEL_KEYS)})",
                             section, name)  # fmt: skip


def _market_date(check: Checker, value: Any, where: str, section: Any) -> str:
    """An ISO date (YYYY-MM-DD); YAML reads an unquoted one as a date already."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise check.fail(where, f"expected a date as YYYY-MM-DD, found {value!r}", section,
                     "market_date")  # fmt: skip


def _policy_document(check: Checker, value: Any, where: str, section: Any, root: Path) -> str:
    """An https link, or a file inside the project that exists."""
    text = check.string(value, where, section, "acceptable_use_policy").strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "https" or not parts.netloc:
            raise check.fail(where, f"a link must be an https:// URL, found {text!r}", section,
                             "acceptable_use_policy")  # fmt: skip
        return text
    target = root / text
    inside = not Path(text).is_absolute() and target.resolve().is_relative_to(root.resolve())
    if not inside or not target.is_file():
        raise check.fail(where, f"{text!r} is no https:// link and no file inside the project",
                         section, "acceptable_use_policy")  # fmt: skip
    return text


def provider_values(
    check: Checker, section: Mapping[str, Any], where: str, root: Path
) -> dict[str, ProviderValue]:
    """The provider fields given in one `compliance:` section, in PROVIDER_FIELDS order."""
    values = {}
    for name in PROVIDER_FIELDS:
        if name not in section:
            continue
        key = f"{where}.{name}"
        if name == "market_date":
            text = _market_date(check, section[name], key, section)
        elif name == "acceptable_use_policy":
            text = _policy_document(check, section[name], key, section, root)
        else:
            text = check.string(section[name], key, section, name).strip()
        values[name] = ProviderValue(value=text, where=key)
    return values


def model_compliance(
    check: Checker, value: Any, where: str, parent: Any, root: Path
) -> tuple[DeclaredCompute | None, dict[str, ProviderValue]]:
    """`models[i].compliance`: this model's original's training compute, if given, and the
    provider fields this model states for itself."""
    _known_keys(check, value, where)
    section = check.mapping(value, where, MODEL_KEYS, parent, "compliance")
    provider = provider_values(check, section, where, root)
    if "base_training_flop" not in section:
        return None, provider
    return declared_compute(check, section["base_training_flop"], f"{where}.base_training_flop",
                            section, "base_training_flop"), provider  # fmt: skip


def project_compliance(
    check: Checker, value: Any, parent: Any, root: Path
) -> tuple[dict[str, DeclaredCompute], dict[str, ProviderValue]]:
    """Top-level `compliance`: the training compute of bases by Hub id, and the provider
    fields every model states unless it gives its own."""
    _known_keys(check, value, "compliance")
    section = check.mapping(value, "compliance", MODEL_KEYS, parent, "compliance")
    provider = provider_values(check, section, "compliance", root)
    by_id = section.get("base_training_flop", {})
    if not isinstance(by_id, Mapping):
        raise check.fail("compliance.base_training_flop",
                         "expected a mapping of base ids to {flop, source}", section,
                         "base_training_flop")  # fmt: skip
    return {
        str(base): declared_compute(
            check, item, f"compliance.base_training_flop.{base}", by_id, base
        )
        for base, item in by_id.items()
    }, provider
