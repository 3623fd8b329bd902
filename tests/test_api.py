"""The Python API: the commands' own results, on the real example project, without a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import modelcards
from modelcards.safeio.errors import ConfigError, ModelcardsError, ResolveError, UsageError
from modelfiles import git, run_modelcards


def test_import_is_instant_and_the_api_is_there() -> None:
    """A training script pays for numpy, GitPython and Jinja2 only when it calls something."""
    code = (
        "import sys, modelcards\n"
        "heavy = [m for m in ('numpy', 'git', 'jinja2', 'modelcards.api') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert callable(modelcards.build) and callable(modelcards.check)\n"
        "assert set(modelcards.API) <= set(dir(modelcards))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_build_and_check_stay_functions_when_their_modules_load() -> None:
    """The API's names are no module's: loading the modules behind them (as the functions
    themselves do) leaves the functions in place; `modelcards.export` is the export stage."""
    code = (
        "import modelcards\n"
        "from modelcards.project.build import build_project\n"
        "import modelcards.project.check, modelcards.export.cyclonedx\n"
        "from modelcards import api\n"
        "assert modelcards.build is api.build and modelcards.check is api.check\n"
        "assert modelcards.export_cyclonedx is api.export_cyclonedx\n"
        "assert modelcards.export.__name__ == 'modelcards.export'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with pytest.raises(AttributeError):
        modelcards.no_such_function  # noqa: B018


def test_diff_is_what_the_command_prints(example_repo: Path) -> None:
    from modelcards.render.diff_view import diff_json

    result = modelcards.diff("base-model", "models/chat-tuned", project=example_repo)
    assert result.relation == "finetune"
    assert {"vocab_size", "chat_template"} <= {c.key for c in result.significant}
    command = run_modelcards("diff", "base-model", "models/chat-tuned", "--format", "json",
                             cwd=example_repo)  # fmt: skip
    assert command.returncode == 0, command.stderr
    assert diff_json(result) == command.stdout
    at_tag = modelcards.diff("git:chat-tuned/v1.0:base-model", example_repo / "models/chat-tuned",
                             project=example_repo)  # fmt: skip
    assert at_tag.as_json()["changes"] == result.as_json()["changes"]


def test_deep_diff_is_what_the_command_prints(example_repo: Path) -> None:
    from modelcards.render.diff_view import diff_json

    done: list[int] = []
    deep = modelcards.deep_diff(
        "base-model", "models/chat-tuned", project=example_repo,
        progress=lambda bytes_done, _total: done.append(bytes_done),
    )  # fmt: skip
    assert deep.kind == "dense" and deep.changed and done
    command = run_modelcards("diff", "base-model", "models/chat-tuned", "--deep", "--format",
                             "json", cwd=example_repo)  # fmt: skip
    shallow = modelcards.diff("base-model", "models/chat-tuned", project=example_repo)
    assert diff_json(shallow, deep) == command.stdout


def test_scan_is_what_the_command_finds(example_repo: Path, tmp_path: Path) -> None:
    import pickle

    report = modelcards.scan(example_repo / "models/chat-tuned")
    assert report.files_scanned > 0 and report.worst is None
    command = run_modelcards("scan", "models/chat-tuned", "--format", "json", cwd=example_repo)
    assert json.loads(command.stdout) == report.as_json()
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(print))  # a pickle importing a builtin
    assert modelcards.scan(tmp_path / "evil.pkl").findings


def test_build_check_card_and_export_on_the_example(repo: Path) -> None:
    from modelcards.export.cyclonedx import to_json

    before = modelcards.check(repo)
    assert not before.ok and before.models == 2
    messages: list[str] = []
    one = modelcards.build(repo, models=["models/chat-tuned"], progress=messages.append)
    assert one.site is None and [m.name for m in one.models] == ["chat-tuned"]
    assert set(one.written) == {f"models/chat-tuned/{n}" for n in
                                ("README.md", "CHANGES.md", "card.json", "MODEL-DOCUMENTATION.md",
                                 "TRAINING-CONTENT.md")}  # fmt: skip
    assert any("chat-tuned" in m for m in messages)
    assert not (repo / "models/chat-lora/card.json").exists()
    assert not (repo / "modelcards-site").exists()

    text = modelcards.card(repo, "chat-lora")  # rendered, not written
    assert text.startswith("---\n") and "base_model: acme/tiny-llama-base" in text
    assert not (repo / "models/chat-lora/README.md").exists()
    report = modelcards.build(repo)
    assert report.site is not None and (report.site / "index.html").is_file()
    assert (repo / "models/chat-lora/README.md").read_text() == text
    assert modelcards.card(repo, "chat-tuned") == (repo / "models/chat-tuned/README.md").read_text()
    assert modelcards.check(repo).ok

    command = run_modelcards("export", "chat-tuned", cwd=repo)
    assert to_json(modelcards.export_cyclonedx(repo, "chat-tuned")) == command.stdout


def test_a_project_config_can_be_made_in_code(repo: Path) -> None:
    """A script without a modelcards.yml passes a config of its own, validated the same way."""
    from modelcards.project.config import parse_config

    (repo / "modelcards.yml").unlink()
    with pytest.raises(ConfigError, match="no modelcards.yml"):
        modelcards.build(repo)
    config = parse_config({"models": [{"path": "models/chat-tuned", "base": "base-model"}]},
                          root=repo, file="train.py")  # fmt: skip
    report = modelcards.build(config, site=False)
    assert [m.name for m in report.models] == ["chat-tuned"]
    card = json.loads((repo / "models/chat-tuned/card.json").read_text())
    assert card["coverage"]["base"]["state"] == "compared"


def test_errors_are_modelcards_errors_never_exits(example_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ResolveError, match="no such folder"):
        modelcards.diff("base-model", "models/nope", project=example_repo)
    with pytest.raises(ResolveError):
        modelcards.diff("nope-folder", "models/chat-tuned", project=example_repo)
    with pytest.raises(ConfigError, match="no model 'nope'.*chat-tuned, chat-lora"):
        modelcards.card(example_repo, "nope")
    with pytest.raises(UsageError, match="site=True"):
        modelcards.build(example_repo, models=["chat-tuned"], site=True)
    with pytest.raises(UsageError, match="out= goes with at="):
        modelcards.build(example_repo, out="somewhere")
    with pytest.raises(ModelcardsError, match="cannot scan"):
        modelcards.scan(tmp_path / "missing")
    with pytest.raises(ConfigError):
        modelcards.check(tmp_path)
    git(tmp_path, "init", "-q")
    (tmp_path / "modelcards.yml").write_text("models: [{path: m, bogus: 1}]\n")
    with pytest.raises(ConfigError, match="bogus"):
        modelcards.build(tmp_path)


def test_check_with_a_base_ref_names_the_pull_request_problem(repo: Path) -> None:
    modelcards.build(repo, site=False)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "cards")
    git(repo, "branch", "before")
    config = repo / "models/chat-tuned/generation_config.json"
    config.write_text(config.read_text().replace("0.7", "0.9"))
    git(repo, "commit", "-qam", "warmer sampling")
    report = modelcards.check(repo, base_ref="before")
    assert not report.ok
    assert "pull-request" in {p.kind for p in report.problems}
