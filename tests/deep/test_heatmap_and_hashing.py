from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from modelcards.compare.deep import GroupDelta
from modelcards.compare.heatmap import heatmap_svg, layer_table_markdown, module_table_markdown
from modelcards.safeio.hashing import sha256_file

from .helpers import model_folder, run_deep


def _diff(tmp_path: Path):
    rng = np.random.default_rng(7)
    base = {
        f"model.layers.{i}.self_attn.{p}.weight": rng.standard_normal((8, 8)).astype(np.float32)
        for i in range(3)
        for p in ("q_proj", "v_proj")
    }
    base["model.embed_tokens.weight"] = rng.standard_normal((10, 8)).astype(np.float32)
    tuned = {k: v.copy() for k, v in base.items()}
    tuned["model.layers.1.self_attn.q_proj.weight"] *= np.float32(1.01)
    tuned["model.layers.2.self_attn.v_proj.weight"][0] += np.float32(1)
    return run_deep(model_folder(tmp_path / "b", base), model_folder(tmp_path / "t", tuned))


def test_svg_is_deterministic_and_complete(tmp_path: Path) -> None:
    result = _diff(tmp_path)
    svg = heatmap_svg(result)
    assert svg == heatmap_svg(_diff(tmp_path / "again"))  # same input, same bytes
    assert svg.startswith("<svg ") and svg.endswith("</svg>\n")
    assert svg.count("<rect ") >= 7 + 10  # 7 cells, 10 legend swatches
    for label in ("layer 0", "layer 2", "outside blocks", "attn.q", "attn.v", "embed", "unchanged"):
        assert label in svg


def test_svg_escapes_labels(tmp_path: Path) -> None:
    result = _diff(tmp_path)
    evil = "<script>alert(1)</script>"
    cell = replace(result.cells[0], layer=evil)
    hostile = replace(
        result,
        by_layer=(GroupDelta(evil, None, 1, 1, 4, 1, 1.0, 0.01),),
        cells=(cell,),
    )
    svg = heatmap_svg(hostile, title='"><script>x</script>')
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    table = layer_table_markdown(hostile)
    assert "<script>" not in table and "&lt;script&gt;" in table


def test_markdown_tables(tmp_path: Path) -> None:
    result = _diff(tmp_path)
    table = layer_table_markdown(result)
    lines = table.splitlines()
    assert lines[0].startswith("| layer |") and len(lines) == 2 + 3
    assert lines[2].startswith("| 0 | 0/2 | 0% | 0% | —")
    assert lines[3].startswith("| 1 | 1/2 |") and "attn.q (1%)" in lines[3]
    modules = module_table_markdown(result)
    assert "| attn.q | 1/3 |" in modules and "| embed | 0/1 | 0% | 0% |" in modules


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = np.random.default_rng(3).integers(0, 256, 100_003, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    seen: list[tuple[int, int]] = []
    assert sha256_file(path, block_bytes=4096, progress=lambda d, t: seen.append((d, t))) == (
        hashlib.sha256(data).hexdigest()
    )
    assert seen[-1] == (100_003, 100_003) and len(seen) == 25
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
    # a file smaller than the read block (the buffer is sized to the file); any block size
    (tmp_path / "small").write_bytes(b"{}\n")
    assert sha256_file(tmp_path / "small") == hashlib.sha256(b"{}\n").hexdigest()
    assert sha256_file(path, block_bytes=1) == hashlib.sha256(data).hexdigest()
