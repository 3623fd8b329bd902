"""Shared fixtures: the real-case files beside the checkout and the bundled example."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelfiles import EXAMPLE_SCRIPT, REALCASES


@pytest.fixture(autouse=True)
def private_hash_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own hash cache: no test reads or writes the user's."""
    cache = tmp_path_factory.mktemp("cache") / "hashes.json"
    monkeypatch.setenv("MODELCARDS_CACHE", str(cache))


@pytest.fixture(params=["numpy", "compiled"])
def deep_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a deep-compare test on both narrow-float paths: numpy's, and the compiled kernel
    (skipped where it was not built: `modelcards/compare/deep/kernel.py`)."""
    from modelcards.compare.deep import kernel

    if request.param == "numpy":
        monkeypatch.setenv("MODELCARDS_DEEP_KERNEL", "numpy")
    else:
        monkeypatch.delenv("MODELCARDS_DEEP_KERNEL", raising=False)
    kernel.load.cache_clear()
    if request.param == "compiled" and kernel.load() is None:
        pytest.skip(f"the fused kernel is not built here ({kernel.LIBRARY.name} absent)")
    yield request.param
    kernel.load.cache_clear()


@pytest.fixture
def realcases() -> Path:
    if not REALCASES.is_dir():
        pytest.skip("../shared/realcases is not present beside this checkout")
    return REALCASES


@pytest.fixture
def repo(example_repo: Path, tmp_path: Path) -> Path:
    """A copy of the example for one test to change as it likes."""
    import shutil

    target = tmp_path / "repo"
    shutil.copytree(example_repo, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def example_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example, made once per test session by the real script."""
    out = tmp_path_factory.mktemp("example") / "repo"
    subprocess.run([sys.executable, str(EXAMPLE_SCRIPT), str(out)], check=True, capture_output=True)
    return out
