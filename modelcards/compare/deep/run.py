"""The deep compare itself: plan the work, stream both sides, reduce (numpy; see the package)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from modelcards.compare.deep.blas import single_threaded_blas
from modelcards.compare.deep.dense import Dense, Sums
from modelcards.compare.deep.lora import Lora
from modelcards.compare.deep.names import layer_of, module_of, place_label
from modelcards.compare.deep.planning import Plan, plan_adapter, plan_dense
from modelcards.compare.deep.reading import Files, ReadMode
from modelcards.compare.deep.sketch import effective_rank
from modelcards.compare.deep.summary import DeepDiff, TensorChange, summarise
from modelcards.inspect.facts import ModelFacts
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.progress import Progress

CHUNK_BYTES = 32 * 1024 * 1024  # one unit of work (scheduling, progress, page release)
BLOCK_BYTES = 512 * 1024  # one numpy pass: small enough to stay in the CPU cache


def deep_compare(
    base: ModelFacts,
    tuned: ModelFacts,
    base_snapshot: Snapshot,
    tuned_snapshot: Snapshot,
    *,
    workers: int = 2,
    progress: Progress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    block_bytes: int = BLOCK_BYTES,
    read_mode: ReadMode = "mmap",
    rank_sketch: bool = True,
) -> DeepDiff:
    """Compare tensor contents of `tuned` against `base` (a PEFT LoRA adapter against its base).

    `progress(done, total)` is called from the calling thread with bytes read so far. Memory in
    use stays around `workers × (2 × chunk_bytes + 8 × block_bytes)` whatever the model size
    (mapped pages of the chunks in progress, scratch arrays, and for an adapter the LoRA factors
    of the modules in progress), plus the rank sketch's Ω per row width (n × 72 float32: 1.2 MB
    at n = 4096, at most 8 widths held) and a 72 × 72 Gram matrix per matrix in flight. `rank_sketch=False` leaves out ΔW's effective rank (`sketch`:
    its cost is measured against the pass without it in bench/run.py section b).
    """
    started = time.perf_counter()
    adapter = tuned.is_adapter and not base.is_adapter
    base_files = Files(base_snapshot, base, read_mode)
    tuned_files = Files(tuned_snapshot, tuned, read_mode)
    plan = Plan(chunk_bytes, block_bytes, rank_sketch)
    try:
        if adapter:
            not_compared = plan_adapter(plan, base_files, tuned_files)
        else:
            not_compared = plan_dense(plan, base_files, tuned_files)
        totals = [Sums() for _ in plan.rows]
        ranks: list[int | None] = [None] * len(plan.rows)
        left = [0] * len(plan.rows)  # units still running per row: a finished sketch is read
        for index, _unit in plan.units:  # and dropped at once, so they never pile up
            left[index] += 1
        total_bytes = sum(unit.nbytes for _, unit in plan.units)
        done_bytes = 0
        if progress is not None:
            progress(0, total_bytes)

        def finished(index: int, unit: Dense | Lora, result: Sums) -> None:
            nonlocal done_bytes
            acc = totals[index]
            acc.add(result)
            left[index] -= 1
            sketch = plan.rows[index].get("sketch")
            if not left[index] and sketch is not None:
                ranks[index] = effective_rank(acc.gram, sketch.bound)
                acc.gram = None
            done_bytes += unit.nbytes
            if progress is not None:
                progress(done_bytes, total_bytes)

        with single_threaded_blas():
            _run(plan.units, workers, finished)
    finally:
        base_files.close()
        tuned_files.close()
    rows: list[TensorChange] = []
    for fields, sums, rank in zip(plan.rows, totals, ranks, strict=True):
        place = layer_of(fields["base_name"])
        module = module_of(fields["base_name"])
        sketch = fields.pop("sketch", None)
        if fields["status"] != "skipped":
            fields = dict(
                fields,
                changed_elements=int(sums.changed),
                base_sq=float(sums.base_sq),
                delta_sq=float(sums.delta_sq),
                cross=float(sums.cross),
                status="changed" if sums.changed else "equal",
            )
            if sketch is not None and sums.changed:
                fields.update(delta_rank=rank, rank_bound=sketch.bound)
        rows.append(
            TensorChange(
                **fields, layer=None if place is None else place_label(place), module=module
            )
        )
    return summarise(
        rows,
        not_compared,
        done_bytes,
        time.perf_counter() - started,
        workers,
        "adapter" if adapter else "dense",
    )


def _call(unit: Dense | Lora) -> Sums:
    """Run one unit; NaN/inf in a model's weights are data to report, not warnings to print."""
    with np.errstate(all="ignore"):
        return unit.run()


def _run(
    units: list[tuple[int, Dense | Lora]],
    workers: int,
    finished: Callable[[int, Dense | Lora, Sums], None],
) -> None:
    if workers <= 1 or len(units) <= 1:
        for index, unit in units:
            finished(index, unit, _call(unit))
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deep") as pool:
        # a bounded window of submitted units keeps memory flat on models with many tensors
        window = workers * 4
        pending: dict[Any, tuple[int, Dense | Lora]] = {}
        queue = iter(units)
        for index, unit in queue:
            pending[pool.submit(_call, unit)] = (index, unit)
            if len(pending) >= window:
                break
        while pending:
            future = next(iter(pending))  # in submission order: deterministic sums
            index, unit = pending.pop(future)
            finished(index, unit, future.result())
            for next_index, next_unit in queue:
                pending[pool.submit(_call, next_unit)] = (next_index, next_unit)
                break
