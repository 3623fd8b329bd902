"""The collector's thresholds are raised for a whole-project run and put back after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelcards.project.build import build_project
from modelcards.project.config import load_config
from modelcards.safeio.collector import RUN_THRESHOLDS, fewer_collections
from modelcards.safeio.hashcache import HashCache


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_raised_inside_restored_after_even_on_error(default_thresholds: tuple[int, ...]) -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == RUN_THRESHOLDS
        with fewer_collections():  # nested: the inner one puts back what it found
            assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_threshold() == RUN_THRESHOLDS
        raise RuntimeError
    assert gc.get_threshold() == default_thresholds


def test_a_caller_s_higher_thresholds_are_kept(default_thresholds: tuple[int, ...]) -> None:
    gc.set_threshold(500_000, 5, 1000)
    with fewer_collections():
        assert gc.get_threshold() == (500_000, 50, 1000)
    assert gc.get_threshold() == (500_000, 5, 1000)


def test_build_runs_with_fewer_collections(repo: Path, default_thresholds: tuple[int, ...]) -> None:
    seen: list[tuple[int, int, int]] = []
    build_project(
        load_config(repo), cache=HashCache(), site=False, jobs=1,
        progress=lambda _message: seen.append(gc.get_threshold()),
    )  # fmt: skip
    assert seen and set(seen) == {RUN_THRESHOLDS}
    assert gc.get_threshold() == default_thresholds
