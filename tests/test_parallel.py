"""parallel_map: forked workers, input order, serial fallback, errors that cross back intact."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from multiprocessing.pool import RemoteTraceback

import pytest

from modelcards.safeio.errors import InspectError, ModelcardsError
from modelcards.safeio.parallel import default_jobs, parallel_map

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")


@linux_only
def test_results_come_back_in_input_order_from_other_processes() -> None:
    offset = 1000  # a closure: workers inherit it, nothing is pickled on the way in
    arrived: list[tuple[int, int]] = []
    for _ in range(2):  # a second pool starts cleanly after the first
        arrived.clear()
        results = parallel_map(
            lambda n: (n + offset, os.getpid()),
            list(range(40)),
            jobs=2,
            on_result=lambda index, result: arrived.append((index, os.getpid())),
        )
        assert [value for value, _pid in results] == [n + offset for n in range(40)]
        assert os.getpid() not in {pid for _value, pid in results}
        assert arrived == [(index, os.getpid()) for index in range(40)]  # in the parent, in order


def test_serial_in_this_process_when_parallel_would_not_pay() -> None:
    arrived: list[int] = []
    for items, jobs in ((list(range(10)), 1), (list(range(3)), 2), ([], 4)):
        arrived.clear()
        results = parallel_map(
            lambda n: (n * 2, os.getpid()), items, jobs, on_result=lambda i, r: arrived.append(i)
        )
        assert results == [(n * 2, os.getpid()) for n in items]
        assert arrived == list(range(len(items)))


@linux_only
def test_a_nested_call_in_a_worker_stays_in_that_worker() -> None:
    def inner(n: int) -> list[int]:
        return [pid for pid in parallel_map(lambda _: os.getpid(), list(range(8)), jobs=2)]

    for pids in parallel_map(inner, list(range(4)), jobs=2):
        assert len(set(pids)) == 1 and os.getpid() not in pids


@linux_only
def test_a_worker_error_is_raised_here_as_itself() -> None:
    def read(n: int) -> int:
        if n == 13:
            raise InspectError("expected a JSON object, found list", file="models/m13/config.json")
        return n

    with pytest.raises(InspectError) as caught:
        parallel_map(read, list(range(40)), jobs=2)
    error = caught.value
    assert isinstance(error.__cause__, RemoteTraceback)  # it did come from a worker
    assert error.file == "models/m13/config.json"
    assert error.reason == "expected a JSON object, found list"
    assert str(error) == "models/m13/config.json: expected a JSON object, found list"


def every_error_class() -> list[type[ModelcardsError]]:
    import modelcards.resolve.hfcache  # noqa: F401 - defines CacheMiss

    found, todo = [], [ModelcardsError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("file", ["models/m/config.json", None])
def test_every_error_pickles_with_file_and_reason(cls: type[ModelcardsError], file: str | None):
    """What lets a worker's error reach the CLI as the usual one line, naming the file."""
    error = cls("expected a JSON object", file=file)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert (copy.file, copy.reason, str(copy)) == (file, "expected a JSON object", str(error))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_default_jobs_counts_the_cores_this_process_may_use() -> None:
    """Not the machine's cores: a container or `taskset` may allow fewer."""
    code = (
        "import os; from modelcards.safeio.parallel import default_jobs; "
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); print(default_jobs())"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "1"
    assert default_jobs() == len(os.sched_getaffinity(0))
