"""CHANGES.md: releases from tags, and what changed in the files between them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from modelcards.cli import cli
from modelfiles import git, llama_config, write_json


def lfs_pointer(oid_char: str, size: int) -> str:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid_char * 64}\nsize {size}\n"


def test_releases_compare_files_and_lfs_weights_without_fetching(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    model = repo / "models" / "m"
    write_json(model / "config.json", llama_config())
    (model / "model.safetensors").write_text(lfs_pointer("a", 1_000_000))
    (repo / "modelcards.yml").write_text("models:\n  - path: models/m\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feat: first model")
    git(repo, "tag", "m/v1")
    write_json(model / "config.json", llama_config(max_position_embeddings=4096))
    (model / "model.safetensors").write_text(lfs_pointer("b", 1_000_008))
    git(repo, "commit", "-qam", "train: longer context")
    git(repo, "tag", "m/v2")
    write_json(model / "config.json", llama_config(max_position_embeddings=8192))
    git(repo, "commit", "-qam", "fix: context again")

    result = CliRunner().invoke(cli, ["build", "-C", str(repo), "--no-site"])
    assert result.exit_code == 0, result.output
    changes = (repo / "models/m/CHANGES.md").read_text()
    unreleased, v2, v1 = changes.split("\n## ")[1:]
    assert unreleased.startswith("Unreleased")
    assert "context again" in unreleased and "context window 4096 → 8192 tokens (×2)" in unreleased
    assert v2.startswith("m/v2 (")
    assert "### Training" in v2 and "longer context" in v2
    assert "context window 128 → 4096 tokens (×32)" in v2
    assert (
        "weight file model.safetensors changed (compared by size/sha256 only: 1,000,000 → 1,000,008 bytes)"
        in v2
    )
    assert v1.startswith("m/v1 (") and "first model" in v1 and "What changed" not in v1
    card = json.loads((repo / "models/m/card.json").read_text())
    assert [r["tag"] for r in card["history"]["releases"]] == [None, "m/v2", "m/v1"]


def test_build_at_a_release_tag_rebuilds_that_card_from_git(
    example_repo: Path, tmp_path: Path
) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    result = CliRunner().invoke(cli, ["build", "-C", str(repo), "--at", "chat-tuned/v1.0"])
    assert result.exit_code == 0, result.output
    out = repo / "modelcards-releases/chat-tuned-v1.0/models/chat-tuned"
    card = (out / "README.md").read_text()
    assert "## chat-tuned/v1.0 (2024-02-01)" in (out / "CHANGES.md").read_text()
    data = json.loads((out / "card.json").read_text())
    assert data["base"]["source"]["kind"] == "git"  # the base as it was at the tag
    assert (
        data["provenance"]["commit"] == git(repo, "rev-parse", "chat-tuned/v1.0^{commit}").strip()
    )
    assert "vocabulary size 320 → 322" in card
    assert "chat-lora: skipped, not readable at chat-tuned/v1.0" in result.stderr
    # the work tree's cards and the site are left alone
    assert not (repo / "models/chat-tuned/card.json").exists()
    assert not (repo / "site").exists()


def test_training_files_and_tag_patterns_from_the_config(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_json(repo / "models/m/config.json", llama_config())
    (repo / "train").mkdir()
    (repo / "train/train.py").write_text("lr = 1e-4\n")
    (repo / "modelcards.yml").write_text(
        "models:\n  - path: models/m\n    training_files: [train/train.py]\n    tags: ['release-*']\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feat: model")
    git(repo, "tag", "release-1")
    git(repo, "tag", "v9")  # not a release of this model: the config names the pattern
    (repo / "train/train.py").write_text("lr = 3e-5\n")
    git(repo, "commit", "-qam", "train: lower the learning rate")
    training_commit = git(repo, "rev-parse", "HEAD").strip()
    result = CliRunner().invoke(cli, ["build", "-C", str(repo), "--no-site"])
    assert result.exit_code == 0, result.output
    changes = (repo / "models/m/CHANGES.md").read_text()
    assert "## Unreleased" in changes and "lower the learning rate" in changes
    assert "## release-1" in changes and "## v9" not in changes
    data = json.loads((repo / "models/m/card.json").read_text())
    assert data["provenance"]["training_code"] == {
        "files": ["train/train.py"],
        "commit": training_commit,
    }
    assert (
        f"Training code: `train/train.py`, last changed in `{training_commit}`"
        in (repo / "models/m/README.md").read_text()
    )


def test_config_rejects_training_files_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "modelcards.yml").write_text(
        "models:\n  - path: m\n    training_files: [../x.py]\n"
    )
    result = CliRunner().invoke(cli, ["build", "-C", str(tmp_path)])
    assert result.exit_code == 2
    assert "models[0].training_files: '../x.py' must be inside the project" in result.stderr
