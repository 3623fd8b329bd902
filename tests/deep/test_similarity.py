"""Is it a fine-tune of its base? Cosine similarity, the verdict and ΔW's effective rank on real
safetensors pairs made here: an 8-layer MLP of 64 × 64 matrices, fine-tuned by numpy SGD,
re-initialised, permuted along its hidden units, and merged with LoRA deltas of known rank."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from modelcards.compare.deep import origin
from modelcards.compare.deep.sketch import Sketch, effective_rank

from .helpers import bf16_bytes, model_folder, run_deep, write_raw_safetensors

LAYERS, HIDDEN = 8, 64


def mlp(seed: int) -> dict[str, np.ndarray]:
    """An MLP's weights as a model stores them: per layer a 64 × 64 matrix, a bias and a norm."""
    rng = np.random.default_rng(seed)
    tensors = {"model.embed_tokens.weight": rng.standard_normal((100, HIDDEN)).astype(np.float32)}
    for i in range(LAYERS):
        scale = 1 / math.sqrt(HIDDEN)
        tensors[f"model.layers.{i}.mlp.up_proj.weight"] = (
            rng.standard_normal((HIDDEN, HIDDEN)) * scale
        ).astype(np.float32)
        tensors[f"model.layers.{i}.mlp.up_proj.bias"] = np.zeros(HIDDEN, np.float32)
        tensors[f"model.layers.{i}.post_attention_layernorm.weight"] = np.ones(HIDDEN, np.float32)
    return tensors


def forward(tensors: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    for i in range(LAYERS):
        w = tensors[f"model.layers.{i}.mlp.up_proj.weight"]
        x = np.tanh(x @ w.T + tensors[f"model.layers.{i}.mlp.up_proj.bias"])
    return x


def toy_task() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((256, HIDDEN))
    return x, np.tanh(x @ rng.standard_normal((HIDDEN, HIDDEN)) / 8)


def sgd_fine_tune(base: dict[str, np.ndarray], steps: int, lr: float) -> dict[str, np.ndarray]:
    """A few steps of full-batch SGD on a toy regression (every matrix and bias trained)."""
    from modelcards.compare.deep.blas import single_threaded_blas

    with single_threaded_blas():  # small products: BLAS threads only spin (10× slower here)
        return _sgd(base, steps, lr)


def _sgd(base: dict[str, np.ndarray], steps: int, lr: float) -> dict[str, np.ndarray]:
    tuned = {k: v.astype(np.float64) for k, v in base.items()}
    x, target = toy_task()
    for _ in range(steps):
        inputs, outputs = [], [x]
        for i in range(LAYERS):
            inputs.append(outputs[-1])
            w, b = (tuned[f"model.layers.{i}.mlp.up_proj.{p}"] for p in ("weight", "bias"))
            outputs.append(np.tanh(outputs[-1] @ w.T + b))
        grad = (outputs[-1] - target) / len(x)
        for i in reversed(range(LAYERS)):
            grad = grad * (1 - outputs[i + 1] ** 2)
            w_name, b_name = (f"model.layers.{i}.mlp.up_proj.{p}" for p in ("weight", "bias"))
            upstream = grad @ tuned[w_name]
            tuned[w_name] -= lr * grad.T @ inputs[i]
            tuned[b_name] -= lr * grad.sum(axis=0)
            grad = upstream
    return {k: v.astype(np.float32) for k, v in tuned.items()}


def permuted(base: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """The same function with the hidden units of every layer but the last in another order."""
    rng = np.random.default_rng(seed)
    out = dict(base)
    before = np.arange(HIDDEN)  # the input's order stays
    for i in range(LAYERS):
        after = rng.permutation(HIDDEN) if i < LAYERS - 1 else np.arange(HIDDEN)
        name = f"model.layers.{i}.mlp.up_proj"
        out[f"{name}.weight"] = np.ascontiguousarray(base[f"{name}.weight"][after][:, before])
        out[f"{name}.bias"] = np.ascontiguousarray(base[f"{name}.bias"][after])
        before = after
    return out


def merged_lora(base: dict[str, np.ndarray], rank: int, size: float) -> dict[str, np.ndarray]:
    """W + B·A of `rank` on every layer's matrix, scaled to `size` of ‖W‖ (a merged adapter)."""
    rng = np.random.default_rng(rank)
    out = dict(base)
    for name, w in base.items():
        if ".layers." in name and w.ndim == 2:
            delta = rng.standard_normal((w.shape[0], rank)) @ rng.standard_normal(
                (rank, w.shape[1])
            )
            delta *= size * np.linalg.norm(w) / np.linalg.norm(delta)
            out[name] = (w + delta).astype(np.float32)
    return out


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_folder(tmp_path_factory.mktemp("similarity") / "base", mlp(1))


def compare(base_dir: Path, tmp_path: Path, tensors: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    return run_deep(base_dir, model_folder(tmp_path / "tuned", tensors))


def matrix_similarity(result) -> list[float]:  # type: ignore[no-untyped-def]
    return [t.similarity for t in result.tensors if t.module == "mlp.up" and t.dims == 2]


def test_a_fine_tune_is_consistent_with_its_base(base_dir: Path, tmp_path: Path) -> None:
    base = mlp(1)
    tuned = sgd_fine_tune(base, steps=20, lr=0.5)
    x, target = toy_task()
    assert np.mean((forward(tuned, x) - target) ** 2) < np.mean((forward(base, x) - target) ** 2)
    result = compare(base_dir, tmp_path, tuned)
    check = origin.base_check(result)
    assert check.verdict == "consistent"
    assert check.tensors == LAYERS + 1  # the 8 matrices and the embedding; not norms or biases
    assert 0.9 < check.median_similarity < 0.99999  # type: ignore[operator]
    for row in result.tensors:  # cos from the streamed sums against numpy's, per tensor
        if row.similarity is not None and row.changed_elements:
            a, b = base[row.name].ravel().astype(np.float64), tuned[row.name].ravel()
            expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
            assert row.similarity == pytest.approx(expected, abs=1e-6)
    assert "consistent with the named base (median similarity" in check.sentence
    assert origin.low_rank(result) is None  # full-rank SGD updates: no LoRA sentence


def test_a_re_initialised_model_is_not_derived(base_dir: Path, tmp_path: Path) -> None:
    result = compare(base_dir, tmp_path, mlp(2))
    check = origin.base_check(result)
    assert check.verdict == "not_derived"
    assert abs(check.median_similarity) < 0.1  # type: ignore[arg-type]
    assert check.below == check.tensors == LAYERS + 1
    # the norms (all ones) and the biases (all zero) agree in every model: not judged by
    norms = [t for t in result.tensors if t.module == "norm"]
    assert norms and all(t.similarity == 1.0 for t in norms)
    assert "not derived from the named base" in check.sentence


def test_a_permuted_model_computes_the_same_function_but_reads_as_not_derived(
    base_dir: Path, tmp_path: Path
) -> None:
    base = mlp(1)
    shuffled = permuted(base, seed=5)
    x = np.random.default_rng(4).standard_normal((16, HIDDEN))
    assert np.allclose(forward(base, x), forward(shuffled, x), atol=1e-5)
    result = compare(base_dir, tmp_path, shuffled)
    assert max(abs(s) for s in matrix_similarity(result)[:-1]) < 0.5  # the last: input order
    check = origin.base_check(result)
    assert check.verdict == "not_derived"  # documented: a permutation is not detected as the base


def test_a_small_perturbation_and_a_copy(base_dir: Path, tmp_path: Path) -> None:
    base = mlp(1)
    rng = np.random.default_rng(9)
    noisy = {k: (v + 0.3 * v.std() * rng.standard_normal(v.shape)).astype(np.float32)
             for k, v in base.items()}  # fmt: skip
    check = origin.base_check(compare(base_dir, tmp_path, noisy))
    assert check.verdict == "consistent" and 0.94 < check.median_similarity < 0.97  # type: ignore[operator]
    same = origin.base_check(run_deep(base_dir, base_dir))
    assert same.verdict == "consistent" and same.median_similarity == 1.0


@pytest.mark.parametrize("rank", [4, 8, 16])
def test_a_merged_lora_of_known_rank_is_recovered(
    base_dir: Path, tmp_path: Path, rank: int
) -> None:
    result = compare(base_dir, tmp_path, merged_lora(mlp(1), rank, size=0.05))
    ranks = {t.name: t.delta_rank for t in result.changed}
    assert set(ranks.values()) == {rank}, ranks
    assert all(t.rank_bound == HIDDEN for t in result.changed)
    found = origin.low_rank(result)
    assert found is not None and (found.rank, found.tensors, found.of) == (rank, LAYERS, LAYERS)
    assert found.sentence == (
        f"ΔW of {LAYERS} of {LAYERS} changed matrices ({LAYERS} layers, 0 to {LAYERS - 1}) has "
        f"effective rank ≈ {rank}: consistent with a merged LoRA of rank {rank}."
    )
    assert origin.base_check(result).verdict == "consistent"


@pytest.mark.usefixtures("deep_path")  # numpy's narrow-float path and the kernel's
def test_a_merged_lora_stored_as_bf16_keeps_its_rank(tmp_path: Path) -> None:
    """BF16 rounds the merged weight: noise ~2⁻⁹ of each value under the LoRA's delta. Rows are
    read lane by lane (two values per word): the sketch sees them in the same order."""
    rng = np.random.default_rng(11)
    w = rng.standard_normal((256, 512)).astype(np.float32)
    delta = rng.standard_normal((256, 6)) @ rng.standard_normal((6, 512))
    merged = w + 0.05 * np.linalg.norm(w) / np.linalg.norm(delta) * delta
    base_bytes, _ = bf16_bytes(w)
    tuned_bytes, _ = bf16_bytes(merged)
    for side, data in (("b", base_bytes), ("t", tuned_bytes)):
        (tmp_path / side).mkdir()
        write_raw_safetensors(
            tmp_path / side / "model.safetensors",
            {"model.layers.0.self_attn.q_proj.weight": ("BF16", (256, 512), data)},
        )
        (tmp_path / side / "config.json").write_text('{"model_type": "llama"}')
    for options in ({}, {"chunk_bytes": 4096, "block_bytes": 2048, "workers": 1}):
        (row,) = run_deep(tmp_path / "b", tmp_path / "t", **options).tensors
        assert (row.delta_rank, row.rank_bound) == (6, 72)
        assert row.similarity == pytest.approx(1 / math.sqrt(1 + 0.05**2), abs=2e-4)


def test_a_dense_update_has_no_low_rank() -> None:
    rng = np.random.default_rng(12)
    sketch = Sketch(512, 256)
    delta = rng.standard_normal((512, 256)).astype(np.float32)
    gram = sketch.gram(delta.ravel(), 0)
    assert effective_rank(gram, sketch.bound) == sketch.bound == 72
    assert sketch.stride == 2 and Sketch(5000, 256).stride == 20
    assert effective_rank(None, 72) is None
    assert effective_rank(np.zeros((72, 72)), 72) is None


def test_could_not_be_checked_says_why() -> None:
    check = origin.base_check(None, "the base's weights are Git LFS pointers")
    assert check.verdict == "not_checked"
    assert check.sentence == (
        "Whether the weights derive from the named base could not be checked: the base's "
        "weights are Git LFS pointers."
    )
    assert origin.base_check(None).reason == "the weights were not compared (--deep)"


def test_the_reason_a_model_could_not_be_checked(base_dir: Path, tmp_path: Path) -> None:
    from modelcards.inspect import inspect_snapshot
    from modelcards.render.origin_context import base_check_json, why_not_checked
    from modelcards.resolve import open_folder

    pointer = tmp_path / "pointer"
    pointer.mkdir()
    (pointer / "config.json").write_text('{"model_type": "llama"}')
    (pointer / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 4096\n"
    )
    real = inspect_snapshot(open_folder(base_dir))
    lfs = inspect_snapshot(open_folder(pointer))
    bare = inspect_snapshot(open_folder(model_folder(tmp_path / "bare")))
    assert (
        why_not_checked(True, real, lfs, None) == "the base has only Git LFS pointers, not weights"
    )
    assert why_not_checked(True, lfs, real, None) == (
        "the fine-tune has only Git LFS pointers, not weights"
    )
    assert why_not_checked(True, real, bare, None) == "the base has no weight files"
    assert why_not_checked(False, real, None, None) == "no base is set for it in modelcards.yml"
    assert why_not_checked(True, real, None, "offline") == "the base could not be read (offline)"
    assert why_not_checked(True, real, real, None) is None
    data = base_check_json(None, named=True, tuned=real, base=real, unavailable=None)
    assert data["verdict"] == "not_checked"
    assert data["reason"] == "the weights were not compared (--deep)"
    # a deep compare with nothing to judge by: no matched matrix
    only_norms = {"model.norm.weight": np.ones(64, np.float32)}
    empty = run_deep(
        model_folder(tmp_path / "n1", only_norms), model_folder(tmp_path / "n2", only_norms)
    )
    assert origin.base_check(empty).reason == (
        "no matched matrix of at least 1024 elements was compared"
    )


@pytest.mark.parametrize(
    ("base_type", "tuned_type"), [(np.float16, np.float16), (np.float32, np.float16)]
)
@pytest.mark.usefixtures("deep_path")  # numpy's narrow-float path and the kernel's
def test_rank_through_row_sampling_and_either_read_path(
    tmp_path: Path, base_type: type, tuned_type: type
) -> None:
    """2,100 rows: every 9th is sketched; F16 on both sides takes the lane path, F32 against F16
    the in-order one; small chunks and blocks cut the rows many times."""
    rng = np.random.default_rng(13)
    w = rng.standard_normal((2100, 64)).astype(np.float32)
    delta = rng.standard_normal((2100, 5)) @ rng.standard_normal((5, 64))
    tuned = w + 0.1 * np.linalg.norm(w) / np.linalg.norm(delta) * delta
    name = "model.layers.0.mlp.down_proj.weight"
    base_dir = model_folder(tmp_path / "b", {name: w.astype(base_type)})
    tuned_dir = model_folder(tmp_path / "t", {name: tuned.astype(tuned_type)})
    for options in ({}, {"chunk_bytes": 3000, "block_bytes": 1000}):
        (row,) = run_deep(base_dir, tuned_dir, **options).tensors
        assert (row.delta_rank, row.rank_bound) == (5, 64), options
        a = w.astype(base_type).astype(np.float64).ravel()
        b = tuned.astype(tuned_type).astype(np.float64).ravel()
        assert row.similarity == pytest.approx(
            a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-6
        )
    full = run_deep(base_dir, tuned_dir, rank_sketch=False).tensors[0]
    assert full.delta_rank is None and full.similarity == pytest.approx(row.similarity, abs=1e-6)


@pytest.mark.parametrize("dtype", ["BF16", "F16", "F8_E4M3"])
def test_the_sketch_reads_lane_ordered_blocks_as_rows(dtype: str) -> None:
    """`widen_lanes` leaves a block as lane 0 of every word, then lane 1, …: the sketch of that
    layout equals the sketch of the same rows in order."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from modelcards.compare.deep.narrow import NARROW, widen_lanes

    fmt = NARROW[dtype]
    numpy_type = {"BF16": ml_dtypes.bfloat16, "F16": np.float16, "F8_E4M3": ml_dtypes.float8_e4m3fn}
    rows, cols = 24, 32
    values = np.random.default_rng(14).integers(-8, 8, (rows, cols)).astype(numpy_type[dtype])
    words = values.ravel().view(np.uint8).view(np.uint32)
    lanes = widen_lanes(words, fmt, np.empty(rows * cols, np.uint32))
    sketch = Sketch(rows, cols)
    ordered = values.astype(np.float32).ravel()
    expected = sketch.gram(ordered, 0)
    scale = np.abs(expected).max()  # type: ignore[union-attr]
    in_lanes = sketch.gram(lanes, 0, fmt.lanes)
    assert np.abs(in_lanes - expected).max() < 1e-6 * scale  # type: ignore[operator]
    as_if_ordered = sketch.gram(lanes, 0)  # the permutation does matter to the sketch
    assert np.abs(as_if_ordered - expected).max() > 1e-2 * scale  # type: ignore[operator]


@pytest.mark.usefixtures("deep_path")  # numpy's narrow-float path and the kernel's
def test_similarity_of_f8_weights_large_enough_to_need_the_specials_check(tmp_path: Path) -> None:
    """F8_E4M3 blocks whose sums pass the bound get the infinity/NaN check, which reuses the base
    block's buffer: the cross sum must be taken before it."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(15)
    w = (rng.standard_normal((128, 1024)) * 4).astype(ml_dtypes.float8_e4m3fn)
    t = (w.astype(np.float32) + rng.standard_normal((128, 1024))).astype(ml_dtypes.float8_e4m3fn)
    for side, values in (("b", w), ("t", t)):
        (tmp_path / side).mkdir()
        (tmp_path / side / "config.json").write_text('{"model_type": "llama"}')
        write_raw_safetensors(
            tmp_path / side / "model.safetensors",
            {"model.layers.0.mlp.up_proj.weight": ("F8_E4M3", (128, 1024), values.tobytes())},
        )
    (row,) = run_deep(tmp_path / "b", tmp_path / "t").tensors
    a, b = w.astype(np.float64).ravel(), t.astype(np.float64).ravel()
    assert row.similarity == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-6)


def test_the_pass_runs_blas_on_one_thread_and_puts_it_back() -> None:
    from modelcards.compare.deep import blas

    controls = blas._controls()
    if controls is None:
        pytest.skip("numpy's BLAS is not the bundled OpenBLAS")
    get, _put = controls
    before = get()  # type: ignore[operator]
    with blas.single_threaded_blas():
        assert get() == 1  # type: ignore[operator]
    assert get() == before  # type: ignore[operator]
