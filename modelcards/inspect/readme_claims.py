"""The evaluation numbers a README states in its own words, to hold against the files.

Two places: the Trainer's card sentence "It achieves the following results on the evaluation
set:" with its `- Loss: 0.4200` lines, and the author's own `model-index` metrics (one that
modelcards wrote from the files is not a claim: it is the files). A number stated with four
decimals agrees with the file's when it is that value rounded; a value 100 times the file's is
the same number as a percentage (WER 74.49 for 0.7449), and said so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelcards.inspect.facts import CardFacts

if TYPE_CHECKING:
    from modelcards.inspect.evaluation import EvalValue

TRAINER_SENTENCE = re.compile(
    r"following results on the evaluation set:[ \t]*\r?\n(?P<lines>(?:[ \t]*[-*][ \t]+[^\n]*\r?\n?)+)",
    re.IGNORECASE,
)
RESULT_LINE = re.compile(
    r"^[ \t]*[-*][ \t]+(?P<name>[^:\n]{1,60}):[ \t]*(?P<value>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)[ \t]*$"
)
MAX_CLAIMS = 50


@dataclass(frozen=True)
class ReadmeClaim:
    label: str  # as the card writes it: "Wer"
    stated: str  # the number as written
    where: str  # "README.md results list" or "README.md model-index"
    row: int | None  # the evaluation row (EvaluationRecord.rows) it was held against
    files_value: float | None
    files_sources: tuple[str, ...]
    agrees: bool
    scale: str | None = None  # "percent" when the card states the file's fraction × 100


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _agrees(stated: str, value: float) -> bool:
    """The stated number is `value` as written to its own decimals (0.4200 for 0.42001459)."""
    number = float(stated)
    decimals = len(stated.partition(".")[2].split("e")[0].split("E")[0]) if "." in stated else 0
    if "e" in stated.lower():
        return abs(number - value) <= abs(value) * 1e-4
    return abs(number - value) <= 0.5 * 10**-decimals + 1e-12


def _stated_results(body: str) -> list[tuple[str, str]]:
    match = TRAINER_SENTENCE.search(body)
    if not match:
        return []
    lines = (RESULT_LINE.match(line) for line in match.group("lines").splitlines())
    return [(m.group("name").strip(), m.group("value")) for m in lines if m]


def _index_metrics(index: Any) -> list[tuple[str, str]]:
    found = []
    for model in index if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for result in results if isinstance(results, list) else []:
            metrics = result.get("metrics") if isinstance(result, dict) else None
            for metric in metrics if isinstance(metrics, list) else []:
                if not isinstance(metric, dict):
                    continue
                value, name = metric.get("value"), metric.get("type") or metric.get("name")
                if isinstance(value, (int, float)) and not isinstance(value, bool) and name:
                    found.append(
                        (str(name), repr(float(value)) if isinstance(value, float) else str(value))
                    )
    return found


def readme_claims(
    card: CardFacts | None, generated: frozenset[str], rows: Sequence[EvalValue]
) -> list[ReadmeClaim]:
    """Each stated number, held against the shipped weights' row of the same metric."""
    if card is None:
        return []
    stated = [(n, v, "README.md results list") for n, v in _stated_results(card.body)]
    if "model-index" not in generated:
        stated += [
            (n, v, "README.md model-index")
            for n, v in _index_metrics(card.metadata.get("model-index"))
        ]
    claims = []
    for label, value, where in stated[:MAX_CLAIMS]:
        index = next(
            (
                i
                for i, r in enumerate(rows)
                if r.shipped
                and r.split in ("eval", "validation", "test")
                and _key(r.metric) == _key(label)
            ),
            None,
        )
        if index is None:
            continue  # nothing in the files to hold it against
        row = rows[index]
        agrees = _agrees(value, row.value)
        scale = None
        if not agrees and _agrees(value, row.value * 100):
            agrees, scale = True, "percent"
        claims.append(
            ReadmeClaim(label, value, where, index, row.value, row.sources, agrees, scale)
        )
    return claims
