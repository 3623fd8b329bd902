"""Which weights the evaluation numbers belong to, read from the training record.

A Trainer run leaves its evaluations in two places: the log (`trainer_state.json`
log_history, one entry per evaluated step) and the `*_results.json` files written after
training, of the weights it saved. Each number here is labelled with its split, step, checkpoint
and every file:key it was read from, so a card never puts a step-3000 value beside a
step-5000 one as if they were one evaluation. Which step the shipped weights are is read, not
assumed: the final step's, unless the results files match an earlier logged step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from modelcards.inspect.facts import ModelFacts, TrainingRecord
from modelcards.inspect.readme_claims import ReadmeClaim, readme_claims
from modelcards.inspect.training import THROUGHPUT_SUFFIXES, as_number

SPLIT_PREFIXES = (
    ("eval_", "eval"),
    ("validation_", "validation"),
    ("test_", "test"),
    ("predict_", "predict"),
)
FILE_SPLITS = {
    "eval_results.json": "eval",
    "test_results.json": "test",
    "predict_results.json": "predict",
}
NOT_METRICS = ("_samples", "_samples_per_second", "_steps_per_second", "_mem_cpu_alloc_delta")
CHECKPOINT_NAME = re.compile(r"(?:^|[\\/])(checkpoint-(\d+))[\\/]*$")
# overfitting is said only when it is plain: this many evaluations at least, the validation loss
# up by this fraction from its lowest to the last, never falling on the way, training loss down
MIN_EVAL_POINTS = 3
MIN_RISE = 0.10


def figure(value: float) -> str:
    """A value as a card states it: four decimals (as the Trainer's card), else 4 digits."""
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 0.001 <= abs(value) < 100_000:
        return f"{value:.4f}"
    return f"{value:.4g}"


def checkpoint_name(path: str | None) -> str | None:
    """`checkpoint-3000` from a path on the training machine (never the path itself)."""
    match = CHECKPOINT_NAME.search(path or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class EvalValue:
    """One evaluation number and what it belongs to."""

    key: str  # as written: eval_wer
    metric: str  # without the split: wer
    value: float
    split: str  # eval | validation | test | predict
    step: int | None
    epoch: float | None
    checkpoint: str | None  # checkpoint-N, when the files name that folder
    shipped: bool  # measured on the weights this folder ships
    sources: tuple[str, ...]  # file:key, every place the same number was read
    readme: str | None = None  # the card's own statement of the same value, when it agrees


@dataclass(frozen=True)
class ShippedWeights:
    step: int | None
    epoch: float | None
    checkpoint: str | None  # checkpoint-N when the record read is that folder's
    basis: str  # why these are the shipped weights, with the files


@dataclass(frozen=True)
class BestCheckpoint:
    checkpoint: str  # checkpoint-N (the file name of best_model_checkpoint)
    step: int | None
    metric: str | None  # the logged key whose value at that step is best_metric
    value: float | None
    shipped: bool
    shipped_value: float | None  # the same metric on the shipped weights
    source: str


@dataclass(frozen=True)
class Progress:
    step: int
    max_steps: int
    epoch: float | None
    num_train_epochs: float | None
    source: str

    @property
    def partway(self) -> bool:
        return self.step < self.max_steps


@dataclass(frozen=True)
class LossTrend:
    """Validation loss rising while training loss falls: the record of overfitting."""

    eval_low: float
    eval_low_step: int
    eval_last: float
    eval_last_step: int
    train_then: float
    train_last: float
    source: str

    @property
    def statement(self) -> str:
        return (
            f"validation loss rose from {figure(self.eval_low)} (step {self.eval_low_step}) to "
            f"{figure(self.eval_last)} (step {self.eval_last_step}) while training loss fell "
            f"(from {figure(self.train_then)} to {figure(self.train_last)})"
        )


@dataclass(frozen=True)
class EvaluationRecord:
    rows: tuple[EvalValue, ...]
    shipped: ShippedWeights | None
    best: BestCheckpoint | None
    progress: Progress | None
    overfitting: LossTrend | None
    claims: tuple[ReadmeClaim, ...]  # the README's own numbers, compared with the files


def same(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def split_of(key: str, file: str | None) -> tuple[str, str] | None:
    """(split, metric) of an evaluation key, or None for training, throughput and counts.

    The prefix names the split; a file written for one split (test_results.json) wins over
    the default `eval_` prefix in it. An unprefixed key counts only in a file of one split.
    """
    if key.startswith("train_") or key in ("epoch", "total_flos", "step"):
        return None
    if key.endswith(THROUGHPUT_SUFFIXES + NOT_METRICS) or key.endswith("_runtime"):
        return None
    file_split = FILE_SPLITS.get(file or "")
    for prefix, split in SPLIT_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            # `eval_` is the Trainer's default prefix: a file of one split says which it was
            return (file_split or split) if split == "eval" else split, key[len(prefix) :]
    return (file_split, key) if file_split else None


def _logged(record: TrainingRecord) -> dict[int, tuple[float | None, dict[str, float]]]:
    """step → (epoch, eval values) from log_history, in step order."""
    steps: dict[int, tuple[float | None, dict[str, float]]] = {}
    for point in record.history:
        if point.eval:
            epoch, values = steps.get(point.step, (point.epoch, {}))
            steps[point.step] = (epoch, {**values, **point.eval})
    return dict(sorted(steps.items()))


def _result_values(record: TrainingRecord) -> list[tuple[str, str, str, str, float]]:
    """(file, key, split, metric, value) of every evaluation number in the results files."""
    found = []
    for file, values in record.results.items():
        for key, raw in values.items():
            value = as_number(raw)
            labelled = split_of(key, file)
            if value is not None and labelled is not None:
                found.append((file, key, labelled[0], labelled[1], value))
    return found


def _shipped(
    record: TrainingRecord,
    logged: Mapping[int, tuple[float | None, dict[str, float]]],
    results: list[tuple[str, str, str, str, float]],
) -> ShippedWeights | None:
    folder = checkpoint_name((record.state_file or "").rpartition("/")[0])
    final = record.global_step or (max(p.step for p in record.history) if record.history else None)
    for step in sorted(logged, reverse=True):
        epoch, values = logged[step]
        common = [
            (f, k, v) for f, k, _, _, v in results if k in values and f != "test_results.json"
        ]
        if common and all(same(values[k], v) for _, k, v in common):
            files = sorted({f for f, _, _ in common})
            keys = ", ".join(sorted({k for _, k, _ in common}))
            return ShippedWeights(
                step,
                epoch,
                folder,
                f"{' and '.join(files)} ({keys}) equal the values logged at step {step} "
                f"in {record.state_file}",
            )
    if final is None:
        return None
    epoch = record.epochs
    where = (
        f"{record.state_file}: global_step {final}"
        if record.global_step is not None
        else f"the last step logged in {record.state_file}"
    )
    return ShippedWeights(final, epoch, folder, f"the last step of the record ({where})")


def _rows(
    record: TrainingRecord,
    logged: Mapping[int, tuple[float | None, dict[str, float]]],
    results: list[tuple[str, str, str, str, float]],
    shipped: ShippedWeights | None,
    best_step: int | None,
    present_checkpoints: set[str],
) -> list[EvalValue]:
    state = record.state_file or "trainer_state.json"
    shipped_step = shipped.step if shipped else None

    def at(step: int, key: str, value: float) -> EvalValue:
        name = f"checkpoint-{step}"
        split, metric = split_of(key, None) or ("eval", key)
        is_shipped = step == shipped_step
        return EvalValue(
            key=key,
            metric=metric,
            value=value,
            split=split,
            step=step,
            epoch=logged[step][0],
            checkpoint=(shipped.checkpoint if shipped and is_shipped else None)
            or (name if name in present_checkpoints or step == best_step else None),
            shipped=is_shipped,
            sources=(f"{state}:log_history[step {step}].{key}",),
        )

    rows: list[EvalValue] = []
    last: dict[str, int] = {}
    for step, (_, values) in logged.items():
        for key in values:
            last[key] = step
    at_shipped = (
        logged[shipped_step][1] if shipped_step is not None and shipped_step in logged else {}
    )
    for key, step in last.items():
        if shipped_step is not None and key in at_shipped:
            rows.append(at(shipped_step, key, at_shipped[key]))
        if step != shipped_step or key not in at_shipped:
            rows.append(at(step, key, logged[step][1][key]))
    if best_step is not None and best_step in logged:
        for key, value in logged[best_step][1].items():
            if not any(r.key == key and r.step == best_step for r in rows):
                rows.append(at(best_step, key, value))
    for file, key, split, metric, value in results:
        match = next(
            (
                i
                for i, r in enumerate(rows)
                if r.shipped and r.split == split and r.metric == metric and same(r.value, value)
            ),
            None,
        )
        if match is not None:
            rows[match] = replace(rows[match], sources=(*rows[match].sources, f"{file}:{key}"))
            continue
        epoch = as_number(record.results[file].get("epoch"))
        rows.append(
            EvalValue(
                key=key,
                metric=metric,
                value=value,
                split=split,
                step=shipped_step if shipped and shipped.step is not None and not logged else None,
                epoch=epoch,
                checkpoint=shipped.checkpoint if shipped else None,
                shipped=True,  # results files are written after training, of the saved weights
                sources=(f"{file}:{key}",),
            )
        )
    order = {"eval": 0, "validation": 1, "test": 2, "predict": 3}
    rows.sort(key=lambda r: (not r.shipped, order.get(r.split, 9), r.metric, -(r.step or 0)))
    return rows


def _best(
    record: TrainingRecord,
    logged: Mapping[int, tuple[float | None, dict[str, float]]],
    shipped: ShippedWeights | None,
) -> BestCheckpoint | None:
    name = checkpoint_name(record.best_checkpoint)
    if name is None:
        return None
    step = int(name.rpartition("-")[2])
    values = logged.get(step, (None, {}))[1]
    metric = (
        next((k for k, v in values.items() if same(v, record.best_metric)), None)
        if record.best_metric is not None
        else None
    )
    shipped_values = logged.get(shipped.step, (None, {}))[1] if shipped and shipped.step else {}
    return BestCheckpoint(
        checkpoint=name,
        step=step,
        metric=metric,
        value=record.best_metric,
        shipped=bool(shipped and shipped.step == step),
        shipped_value=shipped_values.get(metric) if metric else None,
        source=f"{record.state_file}:best_model_checkpoint, best_metric",
    )


def _progress(record: TrainingRecord) -> Progress | None:
    if record.global_step is None or record.max_steps is None:
        return None
    return Progress(
        step=record.global_step,
        max_steps=record.max_steps,
        epoch=record.epochs,
        num_train_epochs=record.num_train_epochs,
        source=f"{record.state_file}:global_step, max_steps",
    )


def _train_loss_at(record: TrainingRecord, step: int) -> float | None:
    losses = [p.loss for p in record.history if p.loss is not None and p.step <= step]
    return losses[-1] if losses else None


def _overfitting(
    record: TrainingRecord, logged: Mapping[int, tuple[float | None, dict[str, float]]]
) -> LossTrend | None:
    curve = [
        (step, values["eval_loss"]) for step, (_, values) in logged.items() if "eval_loss" in values
    ]
    if len(curve) < MIN_EVAL_POINTS or not all(math.isfinite(v) for _, v in curve):
        return None
    low_at = min(range(len(curve)), key=lambda i: (curve[i][1], i))
    after = curve[low_at:]
    (low_step, low), (last_step, last) = curve[low_at], curve[-1]
    rising = all(b >= a for (_, a), (_, b) in zip(after, after[1:], strict=False))
    if last_step == low_step or not rising or low <= 0 or (last - low) / low < MIN_RISE:
        return None
    then, now = _train_loss_at(record, low_step), _train_loss_at(record, last_step)
    if then is None or now is None or not now < then:
        return None
    return LossTrend(low, low_step, last, last_step, then, now, f"{record.state_file}:log_history")


def _checkpoint_folders(paths: Iterable[str]) -> set[str]:
    return {m.group(1) for p in paths if (m := re.match(r"^(checkpoint-\d+)/", p))}


def evaluation_record(facts: ModelFacts) -> EvaluationRecord | None:
    """The labelled evaluation of a model's training record, or None without one."""
    record = facts.training
    if record is None:
        return None
    logged = _logged(record)
    results = _result_values(record)
    shipped = _shipped(record, logged, results)
    best = _best(record, logged, shipped)
    folders = _checkpoint_folders(f.path for f in facts.files)
    rows = _rows(record, logged, results, shipped, best.step if best else None, folders)
    claims = readme_claims(facts.card, facts.card.generated if facts.card else frozenset(), rows)
    confirmed = {c.row: c.where for c in claims if c.agrees and c.row is not None}
    rows = [replace(r, readme=confirmed[i]) if i in confirmed else r for i, r in enumerate(rows)]
    return EvaluationRecord(
        rows=tuple(rows),
        shipped=shipped,
        best=best,
        progress=_progress(record),
        overfitting=_overfitting(record, logged),
        claims=tuple(claims),
    )
