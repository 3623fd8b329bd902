"""The compiled fused pass (`compare/deep/kernel.py`, `fused.c`) against numpy's exact widening,
element by element; and the build hook that makes it, with and without a C compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from modelcards.compare.deep import kernel
from modelcards.compare.deep.narrow import NARROW, has_specials, widen_ordered

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(23)
# empty, shorter than one vector, one, ragged, one chunk, a chunk and a ragged tail, many
LENGTHS = [0, 1, 7, 8, 9, 4095, 4096, 4103, 50_003]


@pytest.fixture
def fused() -> kernel.Kernel:
    kernel.load.cache_clear()
    found = kernel.load()
    if found is None:
        pytest.skip(f"the fused kernel is not built here ({kernel.LIBRARY.name} absent)")
    return found


def finite_patterns(dtype: str) -> np.ndarray:
    """Every finite stored pattern of the format (zeros, subnormals, extremes); for BF16, whose
    range is float32's, those whose squares and products float32 sums hold (as numpy's path)."""
    fmt = NARROW[dtype]
    patterns = np.arange(1 << fmt.bits, dtype=np.uint32).astype(fmt.storage)
    if dtype == "BF16":
        exponent = (patterns >> 7) & 0xFF
        return patterns[(exponent == 0) & ((patterns & 0x7F) == 0) | (abs(exponent - 127) < 40)]
    return patterns[~np.array([has_specials(p.reshape(1), fmt) for p in patterns])]


def finite_values(dtype: str, count: int) -> np.ndarray:
    return RNG.choice(finite_patterns(dtype), count)


def changed_copy(values: np.ndarray, share: float, dtype: str) -> np.ndarray:
    """A share of the values one unit in the last place away, still finite."""
    out = values.copy()
    where = RNG.random(values.size) < share
    out[where] ^= 1  # the lowest mantissa bit
    stays = np.isin(out, finite_patterns(dtype))
    out[~stays] = values[~stays]
    return out


@pytest.mark.parametrize("dtype", sorted(NARROW))
@pytest.mark.parametrize("count", LENGTHS)
def test_the_pass_matches_numpys_exact_widening(
    fused: kernel.Kernel, dtype: str, count: int
) -> None:
    fmt = NARROW[dtype]
    a = finite_values(dtype, count)
    b = changed_copy(a, 0.3, dtype)
    b[: min(3, count)] = a[: min(3, count)] ^ (1 << (fmt.bits - 1))  # sign flips, ±0 included
    x = widen_ordered(a, fmt, np.empty(count, np.uint32)).copy()
    y = widen_ordered(b, fmt, np.empty(count, np.uint32)).copy()
    d = y - x
    delta = np.full(count, np.nan, np.float32)
    sums = fused.pair(a, b, fmt, delta)
    assert delta.view(np.uint32).tolist() == d.view(np.uint32).tolist()  # bit for bit
    assert sums.changed_value == np.count_nonzero(d.view(np.uint32))  # −0.0 counts: b is −a
    assert sums.changed_bits == np.count_nonzero(a != b)
    x64, d64 = x.astype(np.float64), d.astype(np.float64)
    assert sums.base_sq == pytest.approx(x64 @ x64, rel=1e-6)
    assert sums.delta_sq == pytest.approx(d64 @ d64, rel=1e-6)
    assert sums.cross == pytest.approx(x64 @ d64, rel=1e-5, abs=1e-12 * (x64 @ x64))
    assert not sums.specials
    assert fused.pair(a, b, fmt) == sums  # without the delta: the same sums


@pytest.mark.parametrize("dtype", ["F16", "F8_E4M3", "F8_E5M2"])
@pytest.mark.parametrize("where", [0, 4100, 50_002])  # first vector, after a chunk, the tail
@pytest.mark.parametrize("side", ["base", "tuned"])
def test_an_infinity_or_nan_pattern_is_reported(
    fused: kernel.Kernel, dtype: str, where: int, side: str
) -> None:
    fmt = NARROW[dtype]
    a = finite_values(dtype, 50_003)
    b = changed_copy(a, 0.1, dtype)
    assert not fused.pair(a, b, fmt).specials
    (a if side == "base" else b)[where] = fmt.special_mask  # the smallest special pattern
    assert fused.pair(a, b, fmt).specials


def test_bf16_has_no_special_pattern_and_reports_none(fused: kernel.Kernel) -> None:
    a = np.array([0x7F80, 0xFF80, 0x7FC0] * 5, dtype=np.uint16)  # +inf, −inf, NaN
    assert not fused.pair(a, a.copy(), NARROW["BF16"]).specials  # dense.py reads delta_sq


def test_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCARDS_DEEP_KERNEL", "numpy")
    kernel.load.cache_clear()
    try:
        assert kernel.load() is None
    finally:
        kernel.load.cache_clear()


def test_an_install_with_a_compiler_builds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's install (`pip install -e .`) builds the kernel wherever `cc` works."""
    if os.environ.get("MODELCARDS_BUILD_KERNEL", "1").strip() == "0" or not shutil.which("cc"):
        pytest.skip("no C compiler here, or the build was turned off")
    monkeypatch.delenv("MODELCARDS_DEEP_KERNEL", raising=False)
    assert kernel.LIBRARY.is_file(), f"{kernel.LIBRARY} absent: reinstall with `pip install -e .`"
    kernel.load.cache_clear()
    assert kernel.load() is not None, (
        f"{kernel.LIBRARY} is stale: reinstall with `pip install -e .`"
    )


def wheel(tmp_path: Path, **env: str) -> zipfile.ZipFile:
    """A wheel built from a copy of this checkout's sources, by pip and the real hatchling."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "modelcards", source / "modelcards",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))  # fmt: skip
    shutil.copytree(ROOT / "templates", source / "templates")
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(out)],
        check=True, capture_output=True, env={**os.environ, **env}, timeout=600,
    )  # fmt: skip
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler on this machine")
def test_the_wheel_carries_the_kernel_and_says_its_platform(tmp_path: Path) -> None:
    with wheel(tmp_path) as built:
        assert built.filename.endswith(".whl") and "-py3-none-linux_" in built.filename
        assert "modelcards/compare/deep/_fused_kernel.so" in built.namelist()


def test_without_a_compiler_the_wheel_is_pure_python(tmp_path: Path) -> None:
    with wheel(tmp_path, CC=str(tmp_path / "no-such-compiler")) as built:
        assert built.filename.endswith("-py3-none-any.whl")
        assert "modelcards/compare/deep/_fused_kernel.so" not in built.namelist()
        assert "modelcards/compare/deep/kernel.py" in built.namelist()
