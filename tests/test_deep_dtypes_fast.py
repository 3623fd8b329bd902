"""The narrow-float widening of `--deep` (F16, F8_E4M3, F8_E5M2, BF16 by bit moves, not numpy's
casts): every stored bit pattern against references derived from the formats' definitions, and
the lean compare path against the general one on real safetensors files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from deep.helpers import model_folder, run_deep, write_raw_safetensors

from modelcards.compare.deep import dtypes, kernel
from modelcards.compare.deep.dense import Dense, Sums
from modelcards.compare.deep.dtypes import as_float
from modelcards.compare.deep.narrow import NARROW, fix_specials, has_specials, widen_lanes
from modelcards.compare.deep.reading import Files
from modelcards.inspect import inspect_snapshot
from modelcards.resolve import open_folder

# every test on both narrow-float paths: numpy's and the compiled kernel's
pytestmark = pytest.mark.usefixtures("deep_path")

RNG = np.random.default_rng(17)
F16_PATTERNS = np.arange(1 << 16, dtype=np.uint16)
F8_PATTERNS = np.arange(256, dtype=np.uint8)


def definition(bits: int, exponent_bits: int, *, ieee: bool) -> np.ndarray:
    """Every stored value of a sign/exponent/mantissa format, from the format's definition:
    bias 2^(E−1) − 1; exponent 0 is subnormal; all-ones exponent is inf/NaN (IEEE) or, for
    E4M3 "fn", a normal binade whose all-ones mantissa alone is NaN."""
    mantissa_bits = bits - 1 - exponent_bits
    bias = (1 << (exponent_bits - 1)) - 1
    top = (1 << exponent_bits) - 1
    values = []
    for pattern in range(1 << bits):
        sign = -1.0 if pattern >> (bits - 1) else 1.0
        exponent = (pattern >> mantissa_bits) & top
        mantissa = pattern & ((1 << mantissa_bits) - 1)
        if ieee and exponent == top:
            value = math.inf if mantissa == 0 else math.nan
        elif not ieee and exponent == top and mantissa == (1 << mantissa_bits) - 1:
            value = math.nan
        elif exponent == 0:
            value = mantissa / (1 << mantissa_bits) * 2.0 ** (1 - bias)
        else:
            value = (1 + mantissa / (1 << mantissa_bits)) * 2.0 ** (exponent - bias)
        values.append(math.copysign(value, sign))
    return np.array(values, dtype=np.float64)


REFERENCE = {
    "F16": definition(16, 5, ieee=True),
    "F8_E5M2": definition(8, 5, ieee=True),
    "F8_E4M3": definition(8, 4, ieee=False),
}


def assert_same_floats(got: np.ndarray, expected: np.ndarray) -> None:
    """Same value and sign for every element (±0 told apart); NaN where NaN, same sign."""
    expected32 = expected if expected.dtype == np.float32 else expected.astype(np.float32)
    nan = np.isnan(expected32)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got.view(np.uint32)[~nan], expected32.view(np.uint32)[~nan])
    assert np.array_equal(np.signbit(got), np.signbit(expected32))


def patterns(dtype: str) -> np.ndarray:
    return F16_PATTERNS if dtype == "F16" else F8_PATTERNS


@pytest.mark.parametrize("dtype", ["F16", "F8_E5M2", "F8_E4M3"])
def test_every_stored_pattern_widens_to_its_defined_value(dtype: str) -> None:
    raw = patterns(dtype)
    assert_same_floats(as_float(raw, dtype).copy(), REFERENCE[dtype])
    # the lane layout: lane 0 of every word, then lane 1, …, exact once specials are fixed
    fmt = NARROW[dtype]
    lanes = widen_lanes(raw.view(np.uint32), fmt, np.empty(raw.size, np.uint32)).copy()
    fix_specials(lanes, fmt)
    order = np.concatenate([np.arange(lane, raw.size, fmt.lanes) for lane in range(fmt.lanes)])
    assert_same_floats(lanes, REFERENCE[dtype][order])


def test_f16_is_bit_for_bit_numpys_exact_cast() -> None:
    cast = F16_PATTERNS.view(np.float16).astype(np.float32)
    ours = as_float(F16_PATTERNS, "F16").copy()
    assert_same_floats(ours, cast)
    finite = np.isfinite(cast)
    assert finite.sum() == 63488 and np.count_nonzero(cast[finite] == 0) == 2  # ±0 among them
    subnormal = (F16_PATTERNS & 0x7C00) == 0
    assert np.array_equal(ours[subnormal], cast[subnormal]) and ours[1] == 2.0**-24


@pytest.mark.parametrize(
    ("dtype", "name"), [("F8_E4M3", "float8_e4m3fn"), ("F8_E5M2", "float8_e5m2")]
)
def test_f8_matches_ml_dtypes(dtype: str, name: str) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    expected = F8_PATTERNS.view(getattr(ml_dtypes, name)).astype(np.float64)
    assert_same_floats(as_float(F8_PATTERNS, dtype).copy(), expected)


def test_specials_are_found_in_the_stored_bits() -> None:
    assert has_specials(np.array([0x3C00, 0x7C00], np.uint16), NARROW["F16"])  # +inf
    assert has_specials(np.array([0xFE01, 0x0000], np.uint16), NARROW["F16"])  # NaN
    assert not has_specials(np.array([0x7BFF, 0xFBFF], np.uint16), NARROW["F16"])  # ±65504
    assert has_specials(np.array([0x00, 0x00, 0xFF, 0x38], np.uint8), NARROW["F8_E4M3"])
    assert not has_specials(np.array([0x7E, 0xFE, 0x78, 0x00], np.uint8), NARROW["F8_E4M3"])
    assert has_specials(np.array([0x7C, 0, 0, 0], np.uint8), NARROW["F8_E5M2"])
    assert not has_specials(np.array([0x7F80, 0], np.uint16), NARROW["BF16"])  # needs no fix


def f8_bytes(dtype: str, count: int, *, finite: bool = True) -> np.ndarray:
    stored = RNG.integers(0, 256, count, dtype=np.uint8)
    if finite:  # clear the lowest bit under the special mask: the largest finite binade
        special = NARROW[dtype].special_mask
        stored[(stored & special) == special] &= np.uint8(0xFF & ~(special & -special))
    return stored


def stored(dtype: str, count: int) -> np.ndarray:
    if dtype == "F16":
        return (RNG.standard_normal(count) * 0.05).astype(np.float16).view(np.uint16)
    if dtype == "BF16":
        return ((RNG.standard_normal(count).astype(np.float32)).view(np.uint32) >> 16).astype(
            np.uint16
        )
    return f8_bytes(dtype, count)


def nudged(values: np.ndarray, share: float, dtype: str) -> np.ndarray:
    """Flip the lowest stored bit of about `share` of the values, never making inf or NaN."""
    out = values.copy()
    out[RNG.random(values.size) < share] ^= 1
    special = NARROW[dtype].special_mask
    made = (out & special) == special if special else np.zeros(out.size, bool)
    out[made] = values[made]
    return out


def pair(tmp_path: Path, dtype: str, base: np.ndarray, tuned: np.ndarray) -> tuple[Path, Path]:
    folders = []
    for name, values in (("b", base), ("t", tuned)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        write_raw_safetensors(
            folder / "model.safetensors", {"w.weight": (dtype, (values.size,), values.tobytes())}
        )
        folders.append(folder)
    return folders[0], folders[1]


def reference(dtype: str, base: np.ndarray, tuned: np.ndarray) -> tuple[int, float, float]:
    table = REFERENCE.get(dtype)
    if table is None:  # BF16: the top half of a float32
        widen = lambda s: (s.astype(np.uint32) << 16).view(np.float32).astype(np.float64)  # noqa: E731
    else:
        widen = lambda s: table[s]  # noqa: E731
    a, b = widen(base), widen(tuned)
    return int(np.count_nonzero(base != tuned)), float(a @ a), float((b - a) @ (b - a))


@pytest.mark.parametrize("dtype", ["F16", "F8_E4M3", "F8_E5M2", "BF16"])
@pytest.mark.parametrize("mode", ["mmap", "pread"])
def test_lean_path_gives_the_exact_figures(tmp_path: Path, dtype: str, mode: str) -> None:
    count = 50_003  # ragged against every lane count, blocks and chunks of odd sizes
    base = stored(dtype, count)
    tuned = nudged(base, 0.3, dtype)
    b, t = pair(tmp_path, dtype, base, tuned)
    result = run_deep(b, t, chunk_bytes=20_001, block_bytes=3_001, read_mode=mode, workers=2)
    (row,) = result.tensors
    changed, base_sq, delta_sq = reference(dtype, base, tuned)
    assert row.changed_elements == changed > 0
    assert row.base_sq == pytest.approx(base_sq, rel=1e-5)
    assert row.delta_sq == pytest.approx(delta_sq, rel=1e-4)
    assert result.bytes_read == 2 * base.nbytes


def dense_of(b: Path, t: Path, block: int) -> tuple[Dense, Files, Files]:
    sb, st = open_folder(b), open_folder(t)
    files_b = Files(sb, inspect_snapshot(sb), "mmap")
    files_t = Files(st, inspect_snapshot(st), "mmap")
    loc_b, loc_t = files_b.loc("w.weight"), files_t.loc("w.weight")
    return Dense(loc_b, loc_t, 0, loc_b.info.numel, block), files_b, files_t


@pytest.mark.parametrize("dtype", ["F16", "F8_E4M3", "F8_E5M2"])
def test_a_block_with_inf_or_nan_is_redone_in_order(tmp_path: Path, dtype: str) -> None:
    """Every pattern, infinities and NaN included, on both sides: the lean path must come out
    exactly as the general (in-order, exactly cast) path does on the same single block."""
    raw = patterns(dtype)
    base = RNG.permutation(raw)
    tuned = np.where(RNG.random(raw.size) < 0.5, base, RNG.permutation(raw)).astype(raw.dtype)
    b, t = pair(tmp_path, dtype, base, tuned)
    dense, files_b, files_t = dense_of(b, t, raw.size)
    try:
        with np.errstate(all="ignore"):
            lean, general = dense.run(), dense._run_blocks(0, raw.size)
    finally:
        files_b.close()
        files_t.close()
    assert lean.changed == general.changed == np.count_nonzero(base != tuned)
    # NaN in the base and in the deltas: both norms are NaN, on either path (and Σa·Δ)
    sums = (lean.base_sq, lean.delta_sq, lean.cross, general.base_sq, general.delta_sq)
    assert all(math.isnan(x) for x in sums)


@pytest.mark.parametrize("dtype", ["F16", "F8_E4M3"])
def test_large_finite_values_stay_on_the_lean_path(
    tmp_path: Path, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sums past `may_hold_specials` without inf or NaN in the bits: no redo, same figures."""
    count = 40_000
    if dtype == "F16":
        base = np.full(count, 60000, np.float16).view(np.uint16)  # Σa² ≈ 1.4e14 ≫ 2^30
    else:
        base = np.full(count, 0x7D, np.uint8)  # 416 (0x7E, 448, would nudge to NaN)
    tuned = nudged(base, 0.5, dtype)
    b, t = pair(tmp_path, dtype, base, tuned)
    dense, files_b, files_t = dense_of(b, t, 4096)
    redone: list[tuple[int, int]] = []
    original = Dense._run_blocks

    def spy(self: Dense, first: int, end: int) -> Sums:
        redone.append((first, end))
        return original(self, first, end)

    monkeypatch.setattr(Dense, "_run_blocks", spy)
    try:
        sums = dense.run()
        changed, base_sq, delta_sq = sums.changed, sums.base_sq, sums.delta_sq
    finally:
        files_b.close()
        files_t.close()
    assert redone == []
    expected = reference(dtype, base, tuned)
    assert changed == expected[0]
    assert base_sq == pytest.approx(expected[1], rel=1e-4)
    assert delta_sq == pytest.approx(expected[2], rel=1e-4)


def test_memory_is_bounded_by_the_block_not_the_tensor(tmp_path: Path) -> None:
    count = 1 << 20  # 2 MB per side
    base = stored("F16", count)
    b, t = pair(tmp_path, "F16", base, nudged(base, 0.1, "F16"))
    dtypes._local.pool = {}  # this thread's scratch arrays, from empty
    run_deep(b, t, workers=1, block_bytes=64 * 1024)
    sizes = [array.nbytes for array in dtypes._local.pool.values()]
    assert max(sizes, default=0) <= 4 * 32 * 1024  # 32 K elements widened to float32
    assert sizes or kernel.load() is not None  # the kernel widens in registers, numpy in scratch


def test_f16_model_through_safetensors_matches_a_float64_reference(tmp_path: Path) -> None:
    """Real F16 files as the safetensors library writes them, one with a few changes."""
    base = (RNG.standard_normal((64, 257)) * 0.02).astype(np.float16)
    tuned = base.copy()
    tuned[5, :100] += np.float16(0.01)
    tuned[7, 3] = -tuned[7, 3]
    result = run_deep(
        model_folder(tmp_path / "b", {"w.weight": base}),
        model_folder(tmp_path / "t", {"w.weight": tuned}),
    )
    (row,) = result.changed
    a, d = base.astype(np.float64), tuned.astype(np.float64) - base.astype(np.float64)
    assert row.changed_elements == np.count_nonzero(base != tuned)
    assert row.base_sq == pytest.approx(float((a * a).sum()), rel=1e-5)
    assert row.delta_sq == pytest.approx(float((d * d).sum()), rel=1e-4)
