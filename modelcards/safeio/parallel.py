"""`parallel_map`: one function over many items on every CPU core, results in input order.

Workers are forked, so they start with everything the parent holds (the items, the template
environment, closures) and receive only an index; nothing is pickled on the way in. What comes
back — our own result objects, or the exception a worker raised — is pickled by these workers
and unpickled here: data this tool made in its own processes, never anything from a model.

Only on Linux (fork is cheap and well-trodden there; macOS' system libraries are not
fork-safe), with more than one job, and with at least two items per worker; otherwise the same
loop runs in-process, so `jobs=1` is a plain serial build. A fork copies only the calling
thread, so the work must not need what another thread may hold (a lock, a network session):
give it pure work on local data, as `build.render_project` does.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_PER_WORKER = 2  # below this a worker's start-up costs more than it saves
CHUNKS_PER_WORKER = 8  # a few chunks each: slow items even out, messages stay few

# The work of the running `parallel_map`, set before the pool forks so workers inherit it.
_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def default_jobs() -> int:
    """The CPU cores this process may run on (a container or `taskset` may allow fewer)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run(index: int) -> Any:
    """In a worker: the item at `index` of the inherited work."""
    assert _work is not None, "parallel_map workers are forked with their work"
    func, items = _work
    return func(items[index])


def parallel_map(
    func: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    *,
    on_result: Callable[[int, R], None] | None = None,
) -> list[R]:
    """`[func(item) for item in items]` in up to `jobs` forked processes.

    `on_result(index, result)` runs here in the parent as each result arrives, in input order
    (for progress lines). An exception in a worker is raised here as the same class with the
    same message, and the remaining work is stopped.
    """
    global _work
    workers = min(jobs, len(items) // MIN_ITEMS_PER_WORKER)
    # inside a worker (or a nested call), stay in this process
    if workers <= 1 or sys.platform != "linux" or _work is not None:
        results = []
        for index, item in enumerate(items):
            results.append(func(item))
            if on_result is not None:
                on_result(index, results[-1])
        return results
    _work = (func, items)
    # Objects that exist now are never collected in a worker: a worker must not finalise what
    # the parent owns (a GitPython process handle, a temporary folder). Fewer pages copied, too.
    gc.freeze()
    try:
        chunksize = max(1, len(items) // (workers * CHUNKS_PER_WORKER))
        # Ctrl-C is the parent's: it stops the pool (each worker would print a traceback)
        quiet = (signal.SIGINT, signal.SIG_IGN)
        with multiprocessing.get_context("fork").Pool(workers, signal.signal, quiet) as pool:
            results = []
            for index, result in enumerate(pool.imap(_run, range(len(items)), chunksize)):
                results.append(result)
                if on_result is not None:
                    on_result(index, result)
        return results
    finally:
        _work = None
        gc.unfreeze()
