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
    assert deep["base_check"]["verdict"] == "consistent" and deep["base_check"]["tensors"] == 14
    moved = [t for t in deep["tensors"] if t["status"] == "changed"]
    assert all(0.99 < t["similarity"] < 1 and t["delta_rank"] == t["rank_bound"] for t in moved)
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


def test_build_deep_finds_weights_not_derived_from_the_named_base(repo: Path) -> None:
    """The fine-tune's weights replaced by a fresh initialisation of the same shapes: the card
    says so with the figures, and the risks carry MC620 (high)."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    weights = repo / "models/chat-tuned/model.safetensors"
    rng = np.random.default_rng(3)
    fresh = {
        name: value if value.ndim == 1 else rng.standard_normal(value.shape).astype(value.dtype)
        for name, value in load_file(str(weights)).items()
    }
    save_file(fresh, str(weights))
    result = modelcards("build", "--deep", "--no-site", "-q", cwd=repo)
    assert result.returncode == 0, result.stderr
    data = json.loads((repo / "models/chat-tuned/card.json").read_text())
    check = data["base_check"]
    assert check["verdict"] == "not_derived" and check["tensors"] == 14
    assert abs(check["median_similarity"]) < 0.1 and check["below_threshold"] == 14
    (risk,) = [r for r in data["risks"] if r["rule"] == "MC620"]
    assert risk["severity"] == "high" and risk["evidence"]["tensors"] == 14
    card = (repo / "models/chat-tuned/README.md").read_text()
    assert "Weights are not derived from the named base (median similarity" in card
    # the adapter beside it: its modules fit the base by name and shape
    lora = json.loads((repo / "models/chat-lora/card.json").read_text())["base_check"]
    assert lora["verdict"] == "consistent" and lora["tensors"] == 4
