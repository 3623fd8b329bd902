"""The training record the Hugging Face Trainer leaves behind (trainer_state.json, *_results.json).

A diverged run leaves NaN/Infinity in these files: the caller parses them with non-finite
numbers allowed, and the record lists where they were so a rule can say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from modelcards.inspect.facts import MAX_NON_FINITE, LogPoint, TrainingRecord
from modelcards.resolve.model_files import CHECKPOINT_STATE, RESULT_FILES
from modelcards.safeio.jsonfile import nonfinite_label

THROUGHPUT_SUFFIXES = ("_runtime", "_per_second")  # speed of the eval run, not of the model


def as_number(value: Any) -> float | None:
    """A JSON number as a float; None for anything else, and for an int no float holds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int no float holds (1e400) is no figure of a training run
        return None


def _non_finite(entries: Iterable[tuple[str, Any]]) -> list[str]:
    """`key NaN` (or Infinity, -Infinity) for each non-finite number in `entries`, by key."""
    return [
        f"{key} {nonfinite_label(value)}"
        for key, value in sorted(entries)
        if isinstance(value, float) and not math.isfinite(value)
    ]


def trainer_state_path(present: set[str]) -> str | None:
    """The top-level trainer_state.json, else the one of the latest checkpoint-N folder."""
    if "trainer_state.json" in present:
        return "trainer_state.json"
    checkpoints = [(int(m.group(1)), p) for p in present if (m := CHECKPOINT_STATE.match(p))]
    return max(checkpoints)[1] if checkpoints else None


def read_training(
    present: set[str], read_json: Callable[[str], dict[str, Any]]
) -> TrainingRecord | None:
    """The record, or None without training files; `read_json` must accept NaN/Infinity."""
    state_file = trainer_state_path(present)
    result_files = [name for name in RESULT_FILES if name in present]
    if state_file is None and not result_files:
        return None
    state = read_json(state_file) if state_file else {}
    history: list[LogPoint] = []
    final_loss: float | None = None
    eval_metrics: dict[str, float] = {}
    by_step: dict[int, list[str]] = {}
    log = state.get("log_history")
    for entry in log if isinstance(log, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int):
            continue
        by_step.setdefault(entry["step"], []).extend(_non_finite(entry.items()))
        evals = {
            k: v
            for k, v in entry.items()
            if k.startswith("eval_")
            and not k.endswith(THROUGHPUT_SUFFIXES)
            and as_number(v) is not None
        }
        point = LogPoint(
            step=entry["step"],
            epoch=as_number(entry.get("epoch")),
            loss=as_number(entry.get("loss")),
            learning_rate=as_number(entry.get("learning_rate")),
            eval={k: float(v) for k, v in sorted(evals.items())},
        )
        history.append(point)
        if point.loss is not None:
            final_loss = point.loss
        eval_metrics.update(point.eval)
    non_finite = [
        f"log_history step {step}: {what}"
        for step in sorted(by_step)
        for what in dict.fromkeys(by_step[step])  # one entry per key and step, order kept
    ]
    if state_file:
        non_finite += [f"{state_file}: {what}" for what in _non_finite(state.items())]
    results: dict[str, dict[str, Any]] = {}
    for name in result_files:
        values = {k: v for k, v in read_json(name).items() if isinstance(v, (int, float, str))}
        results[name] = dict(sorted(values.items()))
        non_finite += [f"{name}: {what}" for what in _non_finite(values.items())]
    step = state.get("global_step")
    best = state.get("best_model_checkpoint")
    tokens = state.get("num_input_tokens_seen")  # 0 unless the run counted them
    return TrainingRecord(
        global_step=step if isinstance(step, int) else None,
        epochs=as_number(state.get("epoch")),
        best_checkpoint=best if isinstance(best, str) else None,
        best_metric=as_number(state.get("best_metric")),
        final_loss=final_loss,
        eval_metrics=dict(sorted(eval_metrics.items())),
        results=results,
        history=tuple(history),
        files=tuple(f for f in (state_file, *result_files) if f),
        tokens_seen=tokens if isinstance(tokens, int) and tokens > 0 else None,
        non_finite=tuple(non_finite[:MAX_NON_FINITE]),
        state_file=state_file,
        max_steps=_positive_int(state.get("max_steps")),
        num_train_epochs=as_number(state.get("num_train_epochs")),
        total_flos=as_number(state.get("total_flos")),
    )


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
