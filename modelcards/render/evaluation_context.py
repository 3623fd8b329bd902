"""card.json's `evaluation` rows, `evaluation_record` and the model-index build writes.

Every number carries its split, step, checkpoint and file:key; which weights are shipped, the
best checkpoint when it is another, a rising validation loss and the README's own numbers
are stated as read (inspect/evaluation.py). The model-index is written from the same rows,
only when the author has none (`results: []` is none), and marked as modelcards' own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from modelcards.inspect.card import model_index_metrics
from modelcards.inspect.evaluation import (
    EvaluationRecord,
    checkpoint_name,
    evaluation_record,
    figure,
)
from modelcards.inspect.facts import ModelFacts, TrainingRecord
from modelcards.inspect.training import as_number

SPLIT_NAMES = {"eval": "eval", "validation": "validation", "test": "test", "predict": "predict"}


def _card_meta(facts: ModelFacts) -> Mapping[str, Any]:
    return facts.card.metadata if facts.card else {}


def _author_index(facts: ModelFacts) -> Any:
    """The card's model-index when a person wrote it (not one build wrote from the files)."""
    if facts.card and "model-index" in facts.card.generated:
        return None
    return _card_meta(facts).get("model-index")


def _index_rows(facts: ModelFacts) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    index = _author_index(facts)
    for model in index if isinstance(index, list) else []:
        for result in model.get("results", []) if isinstance(model, dict) else []:
            if not isinstance(result, dict):
                continue
            given = result.get("dataset")
            dataset: dict[str, Any] = given if isinstance(given, dict) else {}
            for metric in result.get("metrics", []) or []:
                if isinstance(metric, dict):
                    value = metric.get("value")
                    rows.append(
                        {
                            "dataset": dataset.get("name"),
                            "metric": metric.get("name") or metric.get("type"),
                            "key": metric.get("type"),
                            "value": value,
                            "display": figure(number)
                            if (number := as_number(value)) is not None
                            else value,
                            "split": dataset.get("split"),
                            "step": None,
                            "epoch": None,
                            "checkpoint": None,
                            "shipped": None,
                            "sources": ["README.md model-index"],
                            "source": "README.md model-index",
                            "readme": None,
                        }
                    )
    return rows


def evaluation_rows(facts: ModelFacts, record: EvaluationRecord | None) -> list[dict[str, Any]]:
    """The author's model-index rows, then every number of the training record, labelled."""
    rows = _index_rows(facts)
    for row in record.rows if record else ():
        rows.append(
            {
                "dataset": None,
                "metric": row.metric,
                "key": row.key,
                "value": row.value,
                "display": figure(row.value),
                "split": row.split,
                "step": row.step,
                "epoch": row.epoch,
                "checkpoint": row.checkpoint,
                "shipped": row.shipped,
                "sources": list(row.sources),
                "source": ", ".join(row.sources),
                "readme": row.readme,
            }
        )
    return rows


def _statements(record: EvaluationRecord) -> list[str]:
    """The record's facts as sentences, each naming its files."""
    said: list[str] = []
    shipped, best, progress = record.shipped, record.best, record.progress
    if progress and progress.partway:
        epochs = (
            f", epoch {progress.epoch:.2f} of {progress.num_train_epochs:g}"
            if progress.epoch is not None and progress.num_train_epochs is not None
            else ""
        )
        what = (
            f"a checkpoint ({shipped.checkpoint})" if shipped and shipped.checkpoint else "a record"
        )
        said.append(
            f"The shipped record is {what} partway through training: step {progress.step} of "
            f"{progress.max_steps} ({progress.step}/{progress.max_steps} steps{epochs}; "
            f"{progress.source})."
        )
    if shipped and shipped.step is not None:
        said.append(f"The shipped weights are those of step {shipped.step}: {shipped.basis}.")
    if best and not best.shipped:
        metric = best.metric or "best_metric"
        value = f" {metric} {figure(best.value)}" if best.value is not None else ""
        against = (
            f" (the shipped weights: {metric} {figure(best.shipped_value)})"
            if best.shipped_value is not None
            else ""
        )
        said.append(
            f"Best{value} at step {best.step} ({best.checkpoint}), not the shipped weights"
            f"{against}; {best.source}."
        )
    elif best:
        said.append(
            f"The shipped weights are the best checkpoint ({best.checkpoint}; {best.source})."
        )
    if record.overfitting:
        trend = record.overfitting
        said.append(f"{trend.statement[0].upper()}{trend.statement[1:]} ({trend.source}).")
    for claim in record.claims:
        files = ", ".join(claim.files_sources)
        if claim.agrees and claim.scale == "percent":
            said.append(
                f"{claim.where} states {claim.label} {claim.stated}: the files' "
                f"{figure(claim.files_value or 0)} as a percentage ({files})."
            )
        elif not claim.agrees:
            said.append(
                f"{claim.where} states {claim.label} {claim.stated}; the files give "
                f"{figure(claim.files_value or 0)} ({files})."
            )
    return said


def evaluation_summary(facts: ModelFacts) -> tuple[EvaluationRecord | None, dict[str, Any] | None]:
    """(the record, card.json's `evaluation_record`), both None without a training record."""
    record = evaluation_record(facts)
    if record is None:
        return None, None
    shipped, best, progress, trend = (
        record.shipped,
        record.best,
        record.progress,
        record.overfitting,
    )
    return record, {
        "shipped": None
        if shipped is None
        else {
            "step": shipped.step,
            "epoch": shipped.epoch,
            "checkpoint": shipped.checkpoint,
            "basis": shipped.basis,
        },
        "best": None
        if best is None
        else {
            "checkpoint": best.checkpoint,
            "step": best.step,
            "metric": best.metric,
            "value": best.value,
            "shipped": best.shipped,
            "shipped_value": best.shipped_value,
            "source": best.source,
        },
        "progress": None
        if progress is None
        else {
            "step": progress.step,
            "max_steps": progress.max_steps,
            "epoch": progress.epoch,
            "num_train_epochs": progress.num_train_epochs,
            "partway": progress.partway,
            "source": progress.source,
        },
        "overfitting": None
        if trend is None
        else {
            "eval_loss_low": trend.eval_low,
            "eval_loss_low_step": trend.eval_low_step,
            "eval_loss_last": trend.eval_last,
            "eval_loss_last_step": trend.eval_last_step,
            "train_loss_then": trend.train_then,
            "train_loss_last": trend.train_last,
            "statement": trend.statement,
            "source": trend.source,
        },
        "readme": [
            {
                "label": c.label,
                "stated": c.stated,
                "where": c.where,
                "files_value": c.files_value,
                "files_sources": list(c.files_sources),
                "agrees": c.agrees,
                "scale": c.scale,
            }
            for c in record.claims
        ],
        "statements": _statements(record),
    }


def model_index(
    facts: ModelFacts,
    record: EvaluationRecord | None,
    *,
    name: str,
    pipeline_tag: str | None,
    datasets: Any,
) -> list[dict[str, Any]] | None:
    """The Hub model-index of the shipped weights' numbers, when the author states none.

    The dataset is named only when the card names exactly one; otherwise the split alone.
    """
    # a diverged run's NaN is stated in the table, never published as a Hub metric
    shipped = [r for r in record.rows if r.shipped and math.isfinite(r.value)] if record else []
    own = _author_index(facts)
    task = _card_meta(facts).get("pipeline_tag") or pipeline_tag
    if not shipped or not isinstance(task, str) or model_index_metrics(own):
        return None
    written = _card_meta(facts).get("model-index")  # the author's, or one an earlier build wrote
    if isinstance(written, list) and written and isinstance(written[0], dict):
        name = str(written[0].get("name") or name)  # the author's name for the model, kept
    named = datasets if isinstance(datasets, list) else [datasets] if datasets else []
    results = []
    for split in dict.fromkeys(r.split for r in shipped):
        dataset: dict[str, Any] = {"split": split}
        if len(named) == 1 and isinstance(named[0], str):
            dataset = {"name": named[0], "type": named[0], "split": split}
        results.append(
            {
                "task": {"type": task},
                "dataset": dataset,
                "metrics": [
                    {"type": r.metric, "value": r.value, "name": f"{r.metric} ({split})"}
                    for r in shipped
                    if r.split == split
                ],
            }
        )
    return [{"name": name, "results": results}]


def result_number(record: TrainingRecord, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The first positive number under one of `keys` in the results files, with where it was."""
    for file, values in record.results.items():
        for key in keys:
            value = values.get(key)
            if (number := as_number(value)) is not None and number > 0:  # not 1e400
                return {"value": value, "source": f"{file}:{key}"}
    return None


def training_totals(record: TrainingRecord) -> dict[str, Any]:
    """The best checkpoint by file name, and the run's totals with where each was read."""

    def first(keys: tuple[str, ...]) -> dict[str, Any] | None:
        return result_number(record, keys)

    flos = first(("total_flos",)) or (
        {"value": record.total_flos, "source": f"{record.state_file}:total_flos"}
        if record.total_flos and record.state_file
        else None
    )  # a results file's, else trainer_state.json's top level (the Trainer writes both)
    best = record.best_checkpoint
    return {
        # a path on the training machine is shown as its file name, never as the path
        "best_checkpoint": checkpoint_name(best) or re.split(r"[\\/]", best.rstrip("\\/"))[-1]
        if best
        else None,
        "total_flos": flos,
        "train_loss": first(("train_loss",)),  # the run's average, a training figure
        "runtime": first(("train_runtime",)),
        "samples": first(("train_samples",)),
        "max_steps": record.max_steps,
        "num_train_epochs": record.num_train_epochs,
    }
