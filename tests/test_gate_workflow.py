"""The gate in the real git workflow: a change committed together with its rebuilt cards, a
release tag on that commit, a change without its cards, a pull request of two commits, and a
shallow clone. A committed card never depends on the commit that contains it, nor on refs
made after it."""

from __future__ import annotations

import json
from pathlib import Path

from modelfiles import git, run_modelcards

CONFIG = "models/chat-tuned/config.json"


def check(repo: Path, *args: str) -> tuple[int, str]:
    result = run_modelcards("check", *args, cwd=repo)
    return result.returncode, result.stdout + result.stderr


def build(repo: Path) -> None:
    result = run_modelcards("build", "-q", "--no-site", cwd=repo)
    assert result.returncode == 0, result.stderr


def edit_config(repo: Path, **changes: object) -> None:
    path = repo / CONFIG
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2) + "\n")


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def test_a_change_committed_with_its_cards_then_tagged(repo: Path) -> None:
    build(repo)
    commit_all(repo, "docs: model cards")
    assert check(repo)[0] == 0

    edit_config(repo, use_cache=False)
    build(repo)
    changes = (repo / "models/chat-tuned/CHANGES.md").read_text()
    assert "## Pending" in changes and f"`{CONFIG}`" in changes
    commit_all(repo, "train: turn the cache off")  # the change and its cards, one commit
    code, out = check(repo)
    assert code == 0, out
    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    assert git(repo, "status", "--porcelain") == ""  # build after the commit: the same bytes

    git(repo, "tag", "chat-tuned/v2.0")  # a release tag on that very commit
    code, out = check(repo)
    assert code == 0, out

    edit_config(repo, use_cache=True)  # a change without its cards
    commit_all(repo, "fix: cache back on")
    code, out = check(repo)
    assert code == 1 and "chat-tuned" in out
    assert "chat-lora" not in out.split("ok:")[0] or "chat-lora:" not in out

    build(repo)  # rebuilt and committed on its own: current again
    commit_all(repo, "docs: cards")
    code, out = check(repo)
    assert code == 0, out
    changes = (repo / "models/chat-tuned/CHANGES.md").read_text()
    assert "## chat-tuned/v2.0" in changes  # now the tag holds history the card describes
    assert "turn the cache off" in changes and "cache back on" in changes


def test_a_pull_request_of_two_commits(repo: Path) -> None:
    build(repo)
    commit_all(repo, "docs: model cards")
    git(repo, "branch", "main-line")
    edit_config(repo, use_cache=False)
    commit_all(repo, "train: cache off")
    edit_config(repo, max_position_embeddings=4096)
    build(repo)
    commit_all(repo, "feat: longer context, with cards")
    code, out = check(repo, "--base-ref", "main-line")
    assert code == 0, out
    edit_config(repo, max_position_embeddings=8192)
    commit_all(repo, "feat: even longer")
    code, out = check(repo, "--base-ref", "main-line")
    assert code == 1 and "chat-tuned" in out


def test_a_shallow_clone_asks_for_full_history(repo: Path, tmp_path: Path) -> None:
    build(repo)
    commit_all(repo, "docs: model cards")
    edit_config(repo, use_cache=False)
    build(repo)
    commit_all(repo, "train: cache off, with cards")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    result = run_modelcards("check", cwd=clone)
    assert result.returncode == 2
    assert "history is shallow: fetch full history" in result.stderr
    assert "fetch-depth: 0" in result.stderr
    assert "stale" not in result.stdout + result.stderr
    git(clone, "fetch", "-q", "--unshallow")
    assert run_modelcards("check", cwd=clone).returncode == 0
    git(clone, "checkout", "-q", "--detach")  # as actions/checkout leaves a pull request
    assert run_modelcards("check", cwd=clone).returncode == 0


def test_a_relicensed_base_makes_the_cards_stale_and_an_inherited_licence_follows_it(
    repo: Path,
) -> None:
    build(repo)
    commit_all(repo, "docs: model cards")
    lora = repo / "models/chat-lora"
    assert (
        "license: apache-2.0  # inherited from the base model by modelcards"
        in (lora / "README.md").read_text()
    )
    base_card = repo / "base-model/README.md"
    base_card.write_text(base_card.read_text().replace("license: apache-2.0", "license: mit"))
    commit_all(repo, "docs: the base is MIT now")
    code, out = check(repo)
    assert code == 1 and "chat-lora" in out and "chat-tuned" in out

    build(repo)
    lora_card = json.loads((lora / "card.json").read_text())
    assert lora_card["license"]["id"] == "mit" and lora_card["license"]["inherited"]
    assert "license: mit  # inherited from the base model" in (lora / "README.md").read_text()
    assert not [r for r in lora_card["risks"] if r["rule"].startswith("MC50")]  # not its own
    tuned = json.loads((repo / "models/chat-tuned/card.json").read_text())
    assert tuned["license"]["id"] == "apache-2.0"  # the author's own licence stays
    assert "MC502" in {r["rule"] for r in tuned["risks"]}  # and now differs from the base's
    commit_all(repo, "docs: cards")
    assert check(repo)[0] == 0


class _RunsCode:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        import os

        return (os.system, ("touch /tmp/modelcards-gate-pwned",))


def test_a_planted_critical_pickle_fails_the_gate_first_with_the_file_named(
    repo: Path, tmp_path: Path
) -> None:
    import pickle

    build(repo)
    commit_all(repo, "docs: model cards")
    (repo / "models/chat-tuned/training_state.bin").write_bytes(
        pickle.dumps(_RunsCode(), protocol=2)
    )
    commit_all(repo, "chore: add the training state")
    summary = tmp_path / "summary.md"
    code, out = check(repo, "--base-ref", "HEAD~1")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(
        "chat-tuned: models/chat-tuned/training_state.bin: MC101 (new, critical"
    )
    assert "os.system" in first
    markdown = run_modelcards("check", "--format", "markdown", "--diff", cwd=repo)
    summary.write_text(markdown.stdout)
    text = markdown.stdout
    assert text.startswith("## modelcards check\n\n❌ ")
    assert (
        "### chat-tuned" in text and "| finding | `models/chat-tuned/training_state.bin` |" in text
    )
    assert "<details><summary>What build would write</summary>" in text
    assert '"schema_version"' not in text  # a readable card diff, never raw card.json
    assert not Path("/tmp/modelcards-gate-pwned").exists()  # nothing from the model ran


def test_annotations_name_the_file_from_the_repository_top(repo: Path, tmp_path: Path) -> None:
    import shutil

    outer = tmp_path / "outer"
    shutil.copytree(repo, outer / "ml", ignore=shutil.ignore_patterns(".git"))
    git(tmp_path, "init", "-q", str(outer))
    project = outer / "ml"  # the Action's working-directory
    build(project)
    commit_all(outer, "a project in a subfolder, with its cards")
    edit_config(project, max_position_embeddings=8192)
    commit_all(outer, "feat: longer context")
    result = run_modelcards("check", "--format", "github", cwd=project)
    assert result.returncode == 1
    assert result.stdout.startswith("::warning file=ml/models/chat-tuned/config.json,")
    assert "::error file=ml/models/chat-tuned/README.md,line=1," in result.stdout
