"""The `compliance:` section of modelcards.yml: values the files cannot give, checked up front.

Today one value: `base_training_flop`, the original model's training compute with where it is
stated, per model (`models[i].compliance.base_training_flop: {flop, source}`) or per base id
(`compliance.base_training_flop: {<hub id>: {flop, source}}`). A figure without a source is
refused: the threshold verdict rests on it, so an auditor must be able to look it up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from modelcards.render.subject import DeclaredCompute


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


def model_compliance(check: Checker, value: Any, where: str, parent: Any) -> DeclaredCompute | None:
    """`models[i].compliance`: this model's original's training compute, if given."""
    section = check.mapping(value, where, ("base_training_flop",), parent, "compliance")
    if "base_training_flop" not in section:
        return None
    return declared_compute(check, section["base_training_flop"], f"{where}.base_training_flop",
                            section, "base_training_flop")  # fmt: skip


def project_compliance(check: Checker, value: Any, parent: Any) -> dict[str, DeclaredCompute]:
    """Top-level `compliance`: the training compute of bases by Hub id."""
    section = check.mapping(value, "compliance", ("base_training_flop",), parent, "compliance")
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
    }
