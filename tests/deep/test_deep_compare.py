from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from modelcards.compare.deep import layer_of, module_of
from modelcards.compare.deep import run as deep
from modelcards.compare.deep.dense import Dense
from modelcards.compare.deep.dtypes import as_float
from modelcards.compare.deep.reading import File

from .helpers import adapter_folder, bf16_bytes, model_folder, run_deep, write_raw_safetensors

RNG = np.random.default_rng(1234)


def weights(layers: int = 2, hidden: int = 16, prefix: str = "model.") -> dict[str, np.ndarray]:
    tensors = {f"{prefix}embed_tokens.weight": RNG.standard_normal((50, hidden)).astype(np.float32)}
    for i in range(layers):
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[f"{prefix}layers.{i}.self_attn.{proj}.weight"] = RNG.standard_normal(
                (hidden, hidden)
            ).astype(np.float32)
        tensors[f"{prefix}layers.{i}.mlp.up_proj.weight"] = RNG.standard_normal(
            (hidden * 2, hidden)
        ).astype(np.float16)
        tensors[f"{prefix}layers.{i}.input_layernorm.weight"] = np.ones(hidden, np.float32)
    tensors[f"{prefix}norm.weight"] = np.ones(hidden, np.float32)
    return tensors


def test_unchanged_tensors_are_equal(tmp_path: Path) -> None:
    tensors = weights()
    result = run_deep(model_folder(tmp_path / "b", tensors), model_folder(tmp_path / "t", tensors))
    assert result.total.tensors == len(tensors)
    assert result.total.changed_tensors == 0
    assert all(t.status == "equal" and t.delta_sq == 0 for t in result.tensors)
    assert result.total.relative_change == 0.0
    assert result.bytes_read == 2 * sum(a.nbytes for a in tensors.values())
    summary = result.as_json()["summary"]
    assert summary == {**summary, "changed": 0, "equal": len(tensors), "skipped": 0}


def test_known_perturbation_gives_exact_figures(tmp_path: Path) -> None:
    base = weights()
    tuned = {k: v.copy() for k, v in base.items()}
    name = "model.layers.1.self_attn.v_proj.weight"
    tuned[name][3, :5] += np.float32(0.5)  # 5 of 256 elements, ‖Δ‖ = √(5 · 0.25)
    result = run_deep(model_folder(tmp_path / "b", base), model_folder(tmp_path / "t", tuned))
    (row,) = result.changed
    assert row.name == name and row.layer == "1" and row.module == "attn.v"
    assert row.changed_elements == 5
    assert row.changed_share == 5 / 256
    delta = tuned[name].astype(np.float64) - base[name].astype(np.float64)
    expected = np.linalg.norm(delta) / np.linalg.norm(base[name].astype(np.float64))
    assert row.relative_change == pytest.approx(expected, rel=1e-6)
    assert math.sqrt(row.delta_sq) == pytest.approx(math.sqrt(1.25), rel=1e-6)
    layer1 = next(g for g in result.by_layer if g.layer == "1")
    assert layer1.changed_tensors == 1 and layer1.changed_elements == 5
    attn_v = next(g for g in result.by_module if g.module == "attn.v")
    assert attn_v.changed_tensors == 1
    json.dumps(result.as_json())  # plain JSON, no NaN


def test_bf16_widening_matches_float32_reference(tmp_path: Path) -> None:
    values = (RNG.standard_normal((8, 33)) * 3).astype(np.float32)
    data, reference = bf16_bytes(values)
    raw = np.frombuffer(data, dtype="<u2")
    assert np.array_equal(as_float(raw, "BF16"), reference.reshape(-1))
    # BF16 base against the exact float32 reference: equal after widening, same norm
    (tmp_path / "b").mkdir()
    (tmp_path / "t").mkdir()
    write_raw_safetensors(
        tmp_path / "b" / "model.safetensors", {"w.weight": ("BF16", (8, 33), data)}
    )
    write_raw_safetensors(
        tmp_path / "t" / "model.safetensors", {"w.weight": ("F32", (8, 33), reference.tobytes())}
    )
    for folder in ("b", "t"):
        (tmp_path / folder / "config.json").write_text("{}")
    result = run_deep(tmp_path / "b", tmp_path / "t")
    (row,) = result.tensors
    assert row.status == "equal" and row.before.startswith("BF16") and row.after.startswith("F32")
    assert math.sqrt(row.base_sq) == pytest.approx(np.linalg.norm(reference.astype(np.float64)))


def test_unsupported_and_reshaped_tensors_are_skipped_with_a_reason(tmp_path: Path) -> None:
    for folder, rows in (("b", 4), ("t", 6)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "config.json").write_text("{}")
        write_raw_safetensors(
            tmp_path / folder / "model.safetensors",
            {
                "scales": ("F8_E8M0", (4,), bytes(4)),
                "embed_tokens.weight": ("F32", (rows, 2), bytes(rows * 8)),
                "f8.weight": ("F8_E4M3", (3,), bytes([0x38, 0x40, 0x30])),
            },
        )
    result = run_deep(tmp_path / "b", tmp_path / "t")
    reasons = {t.name: t.reason for t in result.skipped}
    assert "F8_E8M0" in (reasons["scales"] or "")
    assert "shape" in (reasons["embed_tokens.weight"] or "")
    assert [t.name for t in result.tensors if t.status == "equal"] == ["f8.weight"]
    assert {s["name"] for s in result.as_json()["skipped"]} == {"scales", "embed_tokens.weight"}


def test_renamed_tensors_are_matched(tmp_path: Path) -> None:
    base = weights(prefix="model.")
    tuned = {"language_model." + k: v.copy() for k, v in base.items()}
    tuned["language_model.model.layers.0.self_attn.q_proj.weight"][0, 0] += 1
    result = run_deep(model_folder(tmp_path / "b", base), model_folder(tmp_path / "t", tuned))
    assert result.not_compared == ()
    assert result.total.tensors == len(base)
    (row,) = result.changed
    assert row.name == "language_model.model.layers.0.self_attn.q_proj.weight"
    assert row.base_name == "model.layers.0.self_attn.q_proj.weight"


def _lora_case(tmp_path: Path, config: dict[str, object], transposed: bool = False):
    out_dim, in_dim, r = 24, 20, 4
    shape = (in_dim, out_dim) if transposed else (out_dim, in_dim)
    base = {
        "model.layers.0.self_attn.q_proj.weight": RNG.standard_normal(shape).astype(np.float32),
        "model.layers.0.self_attn.k_proj.weight": RNG.standard_normal(shape).astype(np.float32),
    }
    a = RNG.standard_normal((r, in_dim)).astype(np.float32)
    b = RNG.standard_normal((out_dim, r)).astype(np.float32)
    b[0] = 0  # a zero row: a share of the delta elements are unchanged
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    adapter = {f"{prefix}.lora_A.weight": a, f"{prefix}.lora_B.weight": b}
    folder = adapter_folder(tmp_path / "adapter", adapter, {"r": r, **config})
    return model_folder(tmp_path / "b", base), folder, base, a, b


@pytest.mark.parametrize("rslora", [False, True])
def test_lora_delta_matches_dense_numpy(tmp_path: Path, rslora: bool) -> None:
    base_dir, adapter_dir, base, a, b = _lora_case(
        tmp_path, {"lora_alpha": 8, "use_rslora": rslora}
    )
    r = a.shape[0]
    scale = 8 / math.sqrt(r) if rslora else 8 / r
    delta = (b.astype(np.float64) @ a.astype(np.float64)) * scale
    w = base["model.layers.0.self_attn.q_proj.weight"].astype(np.float64)
    for block in (deep.BLOCK_BYTES, 40):  # whole matrix at once, and two rows at a time
        result = run_deep(base_dir, adapter_dir, block_bytes=block, chunk_bytes=160)
        assert result.kind == "adapter"
        (row,) = result.tensors
        assert row.kind == "lora" and row.base_name == "model.layers.0.self_attn.q_proj.weight"
        assert row.module == "attn.q" and row.layer == "0"
        assert row.relative_change == pytest.approx(
            np.linalg.norm(delta) / np.linalg.norm(w), rel=1e-5
        )
        assert row.changed_elements == np.count_nonzero(delta)
        assert row.changed_share == pytest.approx(np.count_nonzero(delta) / delta.size)
        assert f"scale={scale:g}" in row.after


def test_lora_fan_in_fan_out_is_transposed(tmp_path: Path) -> None:
    base_dir, adapter_dir, base, a, b = _lora_case(tmp_path, {"lora_alpha": 4}, transposed=True)
    delta = (b.astype(np.float64) @ a.astype(np.float64)).T
    w = base["model.layers.0.self_attn.q_proj.weight"].astype(np.float64)
    (row,) = run_deep(base_dir, adapter_dir, block_bytes=24).tensors
    assert row.relative_change == pytest.approx(np.linalg.norm(delta) / np.linalg.norm(w), rel=1e-5)


def test_chunked_equals_unchunked(tmp_path: Path) -> None:
    base = weights(layers=3, hidden=32)
    tuned = {
        k: (v + RNG.standard_normal(v.shape).astype(v.dtype) * v.dtype.type(0.01))
        for k, v in base.items()
    }
    tuned["model.norm.weight"] = base["model.norm.weight"].copy()
    folders = model_folder(tmp_path / "b", base), model_folder(tmp_path / "t", tuned)
    whole = run_deep(*folders, workers=1)
    for options in (
        dict(chunk_bytes=64, block_bytes=16, workers=2),
        dict(chunk_bytes=100, block_bytes=24, workers=1, read_mode="mmap"),
        dict(workers=2, read_mode="mmap"),
    ):
        tiny = run_deep(*folders, **options)
        assert tiny.bytes_read == whole.bytes_read
        for x, y in zip(whole.tensors, tiny.tensors, strict=True):
            assert (x.name, x.status, x.changed_elements) == (y.name, y.status, y.changed_elements)
            assert y.base_sq == pytest.approx(x.base_sq, rel=1e-6)
            assert y.delta_sq == pytest.approx(x.delta_sq, rel=1e-6)
    # same settings, same bytes, whatever the number of workers
    one = run_deep(*folders, chunk_bytes=64, block_bytes=16, workers=1).as_json()
    assert run_deep(*folders, chunk_bytes=64, block_bytes=16, workers=2).as_json() == one
    again = run_deep(*folders, chunk_bytes=64, block_bytes=16, workers=2)
    assert (
        again.as_json() == run_deep(*folders, chunk_bytes=64, block_bytes=16, workers=2).as_json()
    )


def test_large_tensor_is_processed_in_several_chunks(tmp_path: Path, monkeypatch) -> None:
    big = {"model.layers.0.mlp.down_proj.weight": np.arange(4096, dtype=np.float32).reshape(64, 64)}
    folders = model_folder(tmp_path / "b", big), model_folder(tmp_path / "t", big)
    chunks: list[int] = []
    blocks: list[int] = []
    real_run, real_read = Dense.run, File.read

    def counting_run(self):
        chunks.append(self.count)
        return real_run(self)

    def counting_read(self, offset, count, slot):
        blocks.append(count)
        return real_read(self, offset, count, slot)

    monkeypatch.setattr(Dense, "run", counting_run)
    monkeypatch.setattr(File, "read", counting_read)
    progress: list[tuple[int, int]] = []
    result = run_deep(
        *folders,
        chunk_bytes=4096,
        block_bytes=1024,
        workers=2,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert chunks == [1024] * 4  # 16 KB tensor in 4 KB chunks
    assert len(blocks) == 2 * 16 and max(blocks) == 1024  # both sides, 1 KB blocks
    assert result.tensors[0].status == "equal"
    assert progress[0] == (0, 32768) and progress[-1] == (32768, 32768)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


@pytest.mark.parametrize(
    ("name", "module", "layer"),
    [
        ("model.layers.12.self_attn.q_proj.weight", "attn.q", ("", 12)),
        ("model.layers.3.mlp.gate_proj.weight", "mlp.gate", ("", 3)),
        ("h.3.attn.c_attn.weight", "attn.qkv", ("", 3)),
        ("h.3.attn.c_proj.weight", "attn.o", ("", 3)),
        ("h.3.mlp.c_proj.weight", "mlp.down", ("", 3)),
        ("h.3.ln_1.weight", "norm", ("", 3)),
        ("bert.encoder.layer.5.attention.self.key.weight", "attn.k", ("encoder", 5)),
        ("bert.encoder.layer.5.attention.output.dense.weight", "attn.o", ("encoder", 5)),
        ("bert.encoder.layer.5.attention.output.LayerNorm.weight", "norm", ("encoder", 5)),
        ("bert.encoder.layer.5.intermediate.dense.weight", "mlp.up", ("encoder", 5)),
        ("bert.encoder.layer.5.output.dense.weight", "mlp.down", ("encoder", 5)),
        ("bert.embeddings.word_embeddings.weight", "embed", None),
        ("model.embed_tokens.weight", "embed", None),
        ("lm_head.weight", "head", None),
        ("model.norm.weight", "norm", None),
        ("transformer.wte.weight", "embed", None),
        ("classifier.bias", "head", None),
        ("encoder.block.0.layer.1.DenseReluDense.wo.weight", "mlp.down", ("encoder", 0)),
        ("model.layers.0.block_sparse_moe.experts.1.w2.weight", "mlp.down", ("", 0)),
        ("rotary.inv_freq", "other", None),
    ],
)
def test_names_to_layer_and_module(name: str, module: str, layer: tuple[str, int] | None) -> None:
    assert module_of(name) == module
    assert layer_of(name) == layer


@pytest.mark.parametrize("numel", [4096, 4095])  # even: paired widening; odd: the plain path
def test_bf16_against_bf16_matches_numpy(tmp_path: Path, numel: int) -> None:
    values = RNG.standard_normal(numel).astype(np.float32)
    base_bytes, base_ref = bf16_bytes(values)
    tuned_values = values.copy()
    tuned_values[::7] *= np.float32(1.5)
    tuned_bytes, tuned_ref = bf16_bytes(tuned_values)
    for folder, data in (("b", base_bytes), ("t", tuned_bytes)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "config.json").write_text("{}")
        write_raw_safetensors(
            tmp_path / folder / "model.safetensors",
            {"h.0.mlp.c_fc.weight": ("BF16", (numel,), data)},
        )
    base64, tuned64 = base_ref.astype(np.float64), tuned_ref.astype(np.float64)
    for block in (deep.BLOCK_BYTES, 64, 66):
        (row,) = run_deep(tmp_path / "b", tmp_path / "t", block_bytes=block).tensors
        assert row.changed_elements == np.count_nonzero(base_ref != tuned_ref)
        assert row.base_sq == pytest.approx(float(base64 @ base64), rel=1e-6)
        assert row.delta_sq == pytest.approx(
            float((tuned64 - base64) @ (tuned64 - base64)), rel=1e-6
        )


def test_identical_nan_and_inf_are_not_counted_as_changed(tmp_path: Path) -> None:
    base = {"model.layers.0.mlp.up_proj.weight": np.arange(64, dtype=np.float32).reshape(8, 8)}
    base["model.layers.0.mlp.up_proj.weight"][0, :3] = (np.inf, -np.inf, np.nan)
    tuned = {k: v.copy() for k, v in base.items()}
    tuned["model.layers.0.mlp.up_proj.weight"][7, 7] = 1.0
    (row,) = run_deep(
        model_folder(tmp_path / "b", base), model_folder(tmp_path / "t", tuned)
    ).tensors
    assert row.status == "changed" and row.changed_elements == 1
    assert row.as_json()["relative_change"] is None  # not a number: left out of the JSON


def test_snapshot_without_local_files_is_read_through_the_snapshot(tmp_path: Path) -> None:
    from modelcards.inspect import inspect_snapshot
    from modelcards.resolve import LocalSnapshot, SourceRef

    class NoLocalFiles(LocalSnapshot):  # like a git tree: bytes only through read_range
        def local_file(self, path: str) -> None:
            return None

    base = weights()
    tuned = {k: v.copy() for k, v in base.items()}
    tuned["model.layers.0.mlp.up_proj.weight"][1, 1] += np.float16(2)
    folders = model_folder(tmp_path / "b", base), model_folder(tmp_path / "t", tuned)
    snaps = [NoLocalFiles(f, SourceRef(kind="path", location=str(f))) for f in folders]
    facts = [inspect_snapshot(s) for s in snaps]
    result = deep.deep_compare(facts[0], facts[1], snaps[0], snaps[1], chunk_bytes=256)
    assert result.as_json() == run_deep(*folders, chunk_bytes=256).as_json()
    assert [t.name for t in result.changed] == ["model.layers.0.mlp.up_proj.weight"]


def test_adapter_modules_to_save_and_unsupported_tensors(tmp_path: Path) -> None:
    base = weights(layers=1)
    head = RNG.standard_normal((50, 16)).astype(np.float32)
    base["lm_head.weight"] = head
    adapter = {
        "base_model.model.lm_head.modules_to_save.default.weight": head * np.float32(2),
        "base_model.model.model.layers.0.self_attn.q_proj.ia3_l": np.ones(16, np.float32),
        "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight": np.ones(
            (2, 16), np.float32
        ),
        "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight": np.zeros(
            (16, 2), np.float32
        ),
    }
    result = run_deep(
        model_folder(tmp_path / "b", base),
        adapter_folder(tmp_path / "a", adapter, {"r": 2, "lora_alpha": 2}),
    )
    rows = {t.name: t for t in result.tensors}
    replaced = rows["base_model.model.lm_head.modules_to_save.default.weight"]
    assert replaced.kind == "replaced" and replaced.module == "head"
    assert replaced.relative_change == pytest.approx(1.0, rel=1e-6)
    assert rows["model.layers.0.self_attn.k_proj"].status == "equal"  # B = 0: no delta yet
    ia3 = rows["base_model.model.model.layers.0.self_attn.q_proj.ia3_l"]
    assert ia3.status == "skipped" and "not supported" in (ia3.reason or "")


def test_lora_alpha_pattern_and_bad_alpha(tmp_path: Path) -> None:
    base_dir, adapter_dir, base, a, b = _lora_case(
        tmp_path, {"lora_alpha": 8, "alpha_pattern": {"self_attn.q_proj": 2}}
    )
    (row,) = run_deep(base_dir, adapter_dir).tensors
    assert "alpha=2 " in row.after and "scale=0.5" in row.after
    (adapter_dir / "adapter_config.json").write_text('{"peft_type": "LORA", "lora_alpha": "x"}')
    (row,) = run_deep(base_dir, adapter_dir).tensors
    assert row.status == "skipped" and "lora_alpha 'x' is not a number" in (row.reason or "")
