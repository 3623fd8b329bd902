"""The pre-commit hooks with the real pre-commit framework, and the GitHub Action's own commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from modelfiles import git

PROJECT = Path(__file__).resolve().parents[1]


def test_pre_commit_hooks_with_the_real_framework(repo: Path, tmp_path: Path) -> None:
    """Install the hooks from this checkout's committed HEAD, as a user installs them from a tag."""
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed in this environment")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT, capture_output=True, text=True)
    if rev.returncode != 0:
        pytest.skip("this checkout is not a git repository with commits")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {PROJECT}\n    rev: {rev.stdout.strip()}\n"
        "    hooks: [{id: modelcards-check}, {id: modelcards-build}]\n"
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-qm", "chore: pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def run_hook(hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pre_commit), "run", hook, "--all-files", "--verbose"],
            cwd=repo, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip

    stale = run_hook("modelcards-check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "chat-lora: models/chat-lora/README.md: no card yet" in stale.stdout
    built = run_hook("modelcards-build")
    assert built.returncode == 1  # pre-commit fails a hook that changed files, as it should
    assert "files were modified by this hook" in built.stdout
    assert (repo / "models/chat-lora/README.md").is_file()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: cards")
    current = run_hook("modelcards-check")
    assert current.returncode == 0, current.stdout + current.stderr


def _expand(text: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], text)


def test_action_runs_the_check_it_declares(repo: Path, tmp_path: Path) -> None:
    action = YAML(typ="safe").load((PROJECT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    assert _expand(steps[1]["run"], inputs) == 'python -m pip install --quiet "modelcards-audit"'
    check = steps[2]
    assert check["working-directory"] == "${{ inputs.working-directory }}"
    script = _expand(check["run"], inputs)
    summary = tmp_path / "summary.md"
    bin_dir = Path(sys.executable).parent

    def run_step(base_ref: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "BASE_REF": base_ref,
            "GITHUB_STEP_SUMMARY": str(summary),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        return subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip

    subprocess.run([str(bin_dir / "modelcards"), "build", "-q"], cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: cards")
    config = repo / "models/chat-tuned/config.json"
    config.write_text(config.read_text().replace('"rope_theta": 10000.0', '"rope_theta": 20000.0'))
    git(repo, "commit", "-qam", "feat: rope")
    failed = run_step("HEAD~1")
    assert failed.returncode == 1
    assert failed.stdout.startswith("::warning file=models/chat-tuned/config.json,")
    assert "::error file=models/chat-tuned/README.md,line=1," in failed.stdout
    assert "### chat-tuned" in summary.read_text()
    assert "| stale | `models/chat-tuned/README.md` |" in summary.read_text()
    subprocess.run([str(bin_dir / "modelcards"), "build", "-q"], cwd=repo, check=True)
    git(repo, "commit", "-qam", "docs: cards")
    passed = run_step("HEAD~2")
    assert passed.returncode == 0, passed.stdout
    assert "ok: 2 models checked" in summary.read_text()
