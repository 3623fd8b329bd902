"""--deep from the command line: diff and build on the bundled example."""

from __future__ import annotations

import json
from pathlib import Path

from modelfiles import run_modelcards

modelcards = run_modelcards


def test_diff_deep_finds_that_only_layer_one_moved(repo: Path) -> None:
    result = modelcards(
        "diff", "base-model", "models/chat-tuned", "--deep", "--format", "json", cwd=repo
    )
    assert result.returncode == 0, result.stderr
    deep = json.loads(result.stdout)["deep"]
    layers = {g["layer"]: g for g in deep["by_layer"]}
    assert layers["0"]["changed_tensors"] == 0
    assert layers["1"]["changed_tensors"] == 7  # attention and MLP of layer 1, not its norms
    resized = {s["name"] for s in deep["skipped"]}
    assert resized == {"lm_head.weight", "model.embed_tokens.weight"}
    text = modelcards("diff", "base-model", "models/chat-lora", "--deep", cwd=repo).stdout
    assert "WEIGHTS (deep): 4 of 4 tensors changed" in text


def test_build_deep_puts_tables_and_a_heatmap_in_the_card(repo: Path) -> None:
    result = modelcards("build", "--deep", "--no-site", "-q", cwd=repo)
    assert result.returncode == 0, result.stderr
    card = (repo / "models/chat-tuned/README.md").read_text()
    assert "#### Weight contents (deep comparison)" in card
    assert "| 1 | 7/9 |" in card and "| 0 | 0/9 | 0% | 0% |" in card
    svg = (repo / "models/chat-tuned/weight-changes.svg").read_text()
    assert svg.startswith("<svg") and "attn.q" in svg
    data = json.loads((repo / "models/chat-tuned/card.json").read_text())
    assert data["deep"]["summary"]["changed"] == 7
    # the heatmap is an output, not a model file
    assert "weight-changes.svg" not in {f["path"] for f in data["provenance"]["files"]}
