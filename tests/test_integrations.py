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


EXPRESSION = re.compile(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}")


def _expand(text: str, context: dict[str, str]) -> str:
    """The `${{ … }}` expressions this action uses, as the runner evaluates them: a name, or
    `a || b || …` (the first non-empty), where a term may be `(x && format(…))`."""

    def value(term: str) -> str:
        term = term.strip()
        if term.startswith("("):  # (github.base_ref && format('origin/{0}', github.base_ref))
            name = term[1:].split("&&")[0].strip()
            return f"origin/{context[name]}" if context.get(name) else ""
        if term.startswith("'"):
            return term.strip("'")
        return context[term]

    def evaluate(match: re.Match[str]) -> str:
        terms = match.group("expr").split("||")
        return next((v for v in map(value, terms) if v), "")

    return EXPRESSION.sub(evaluate, text)


def test_action_installs_from_its_own_checkout_and_runs_check_once(
    repo: Path, tmp_path: Path
) -> None:
    """The composite steps as a runner runs them: the action checked out at
    GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY set, each step's
    `env:` evaluated and its script run by bash, which never sees an input pasted into it."""
    action = YAML(typ="safe").load((PROJECT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert not any(
        "setup-python" in step.get("uses", "") for step in steps
    )  # the job's Python stays
    assert (
        steps[0]["uses"].startswith("actions/cache@") and steps[0]["with"]["path"] == "~/.cache/pip"
    )
    for step in steps:
        assert "${{" not in step.get("run", ""), "inputs reach scripts through env: only"
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    outputs, summary = tmp_path / "github-output", tmp_path / "step-summary.md"
    context = {
        **{
            f"inputs.{name}": str(spec.get("default", ""))
            for name, spec in action["inputs"].items()
        },
        "github.action_path": str(PROJECT),
        "github.base_ref": "",
        "runner.temp": str(runner_temp),
    }

    def run(step: dict, **inputs: str) -> subprocess.CompletedProcess[str]:
        values = {**context, **{f"inputs.{k}": v for k, v in inputs.items()}}
        env = {
            **os.environ,
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            **{k: _expand(str(v), values) for k, v in step.get("env", {}).items()},
        }
        return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip

    install, check = steps[1], steps[2]
    assert (
        '"$ACTION_PATH"' in install["run"]
        and install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    )
    # the install step itself needs the package index; here its virtual environment is made
    # from this test's own, with the code of this checkout, as the step would leave it
    venv = runner_temp / "modelcards-venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "modelcards"):
        (venv / "bin" / name).symlink_to(Path(sys.executable).with_name(name))

    subprocess.run([str(venv / "bin/modelcards"), "build", "-q"], cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: cards")
    config = repo / "models/chat-tuned/config.json"
    config.write_text(config.read_text().replace('"rope_theta": 10000.0', '"rope_theta": 20000.0'))
    git(repo, "commit", "-qam", "feat: rope")
    failed = run(check, **{"base-ref": "HEAD~1"})
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.startswith("::warning file=models/chat-tuned/config.json,")
    assert "::error file=models/chat-tuned/README.md,line=1," in failed.stdout
    assert "### chat-tuned" in summary.read_text()
    assert "| stale | `models/chat-tuned/README.md` |" in summary.read_text()
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert int(written["problems"]) >= 2
    assert written["summary"] == str(runner_temp / "modelcards-summary.md")

    subprocess.run([str(venv / "bin/modelcards"), "build", "-q"], cwd=repo, check=True)
    git(repo, "commit", "-qam", "docs: cards")
    outputs.unlink()
    summary.unlink()
    (runner_temp / "modelcards-summary.md").unlink()
    passed = run(check, **{"base-ref": "HEAD~2"})
    assert passed.returncode == 0, passed.stdout
    assert "ok: 2 models checked" in summary.read_text()
    assert "problems=0" in outputs.read_text()
    hostile = run(check, **{"base-ref": "HEAD~2; touch pwned"})  # an input is data, not code
    assert hostile.returncode == 2 and not (repo / "pwned").exists()


def test_the_action_and_the_hook_run_the_same_check() -> None:
    action = YAML(typ="safe").load((PROJECT / "action.yml").read_text())
    hooks = {
        h["id"]: h for h in YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    }
    assert hooks["modelcards-check"]["entry"] == "modelcards check"
    assert '"$VENV/bin/modelcards" check "${args[@]}"' in action["runs"]["steps"][2]["run"]
