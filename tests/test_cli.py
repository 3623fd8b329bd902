"""The command line: formats for people and scripts, one-line errors with exit code 2."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from modelfiles import llama_config, llama_tensors, make_model, run_modelcards

modelcards = run_modelcards


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    make_model(
        tmp_path / "tuned",
        config=llama_config(max_position_embeddings=512),
        tensors=llama_tensors(),
        generation={"temperature": 0.6},
    )
    return tmp_path


def test_diff_json_has_stable_keys(pair: Path) -> None:
    result = modelcards("diff", "base", "tuned", "--format", "json", cwd=pair)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"relation", "base", "tuned", "changes", "weights"} <= data.keys()
    assert data["relation"] == "finetune"
    change = data["changes"][0]
    assert {"area", "key", "before", "after", "significant"} <= change.keys()
    assert (change["area"], change["key"], change["before"], change["after"]) == (
        "context",
        "max_position_embeddings",
        128,
        512,
    )


def test_diff_text_and_markdown(pair: Path) -> None:
    text = modelcards("diff", "base", "tuned", cwd=pair)
    assert text.returncode == 0
    assert "CONTEXT" in text.stdout and "context window 128 → 512 tokens (×4)" in text.stdout
    markdown = modelcards("diff", "base", "tuned", "--format", "markdown", cwd=pair)
    assert "### context" in markdown.stdout and "| **yes** |" in markdown.stdout


def test_help_teaches(tmp_path: Path) -> None:
    result = modelcards("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("diff", "build", "init"):
        assert command in result.stdout
    assert "Examples:" in modelcards("diff", "--help", cwd=tmp_path).stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelcards: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_folder(pair: Path) -> None:
    assert "nope: no such folder" in one_line_error(modelcards("diff", "base", "nope", cwd=pair))


def test_not_a_model_folder(pair: Path) -> None:
    (pair / "empty").mkdir()
    assert "not a model folder" in one_line_error(modelcards("diff", "base", "empty", cwd=pair))


def test_malformed_json_names_file_and_line(pair: Path) -> None:
    (pair / "tuned" / "config.json").write_text('{\n  "vocab_size": 40,\n  "x": }\n')
    message = one_line_error(modelcards("diff", "base", "tuned", cwd=pair))
    assert "config.json: malformed JSON at line 3" in message


@pytest.mark.parametrize("payload, reason", [
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": NaN}', "NaN is not valid JSON"),
    ("[" * 100000 + "]" * 100000, "nested"),
])  # fmt: skip
def test_hostile_json_is_rejected(pair: Path, payload: str, reason: str) -> None:
    (pair / "tuned" / "config.json").write_text(payload)
    assert reason in one_line_error(modelcards("diff", "base", "tuned", cwd=pair))


def test_invalid_safetensors_header(pair: Path) -> None:
    weights = pair / "tuned" / "model.safetensors"
    weights.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    message = one_line_error(modelcards("diff", "base", "tuned", cwd=pair))
    assert "model.safetensors: invalid safetensors header" in message


def test_unknown_config_key_names_line(tmp_path: Path) -> None:
    (tmp_path / "modelcards.yml").write_text("models:\n  - path: m\n    bsae: x\n")
    message = one_line_error(modelcards("build", cwd=tmp_path))
    assert "modelcards.yml:3: models[0].bsae: unknown key (did you mean 'base'?)" in message


def test_yaml_alias_in_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "modelcards.yml").write_text("a: &x [1]\nmodels:\n  - path: *x\n")
    assert "aliases are not allowed" in one_line_error(modelcards("build", cwd=tmp_path))


def test_no_config(tmp_path: Path) -> None:
    assert "modelcards init" in one_line_error(modelcards("build", cwd=tmp_path))


def test_pyproject_section_is_read(tmp_path: Path) -> None:
    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    make_model(tmp_path / "m", config=llama_config(vocab_size=41), tensors=llama_tensors(vocab=41))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.modelcards]\nmodels = [{path = "m", base = "base"}]\n'
    )
    result = modelcards("build", "--no-site", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["models"][0]["significant_changes"] >= 1
    assert (tmp_path / "m" / "README.md").is_file()
    # a local path as base is recorded as a path, never published as a Hub id
    assert "base_model:" not in (tmp_path / "m" / "README.md").read_text().split("---")[1]


def test_init_finds_models_and_guesses_bases(example_repo: Path, tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    (repo / "modelcards.yml").unlink()
    result = modelcards("init", cwd=repo)
    assert result.returncode == 0, result.stderr
    text = (repo / "modelcards.yml").read_text()
    assert "path: models/chat-lora" in text and "acme/tiny-llama-base" in text
    assert "adapter_config.json base_model_name_or_path" in text
    assert "already exists" in one_line_error(modelcards("init", cwd=repo))


def test_cli_reference_pages_are_current() -> None:
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "docs"))
    try:
        from gen_cli import cli_pages
    finally:
        sys.path.pop(0)
    pages = cli_pages()
    on_disk = {p.name: p.read_text() for p in (root / "docs" / "cli").glob("*.md")}
    assert on_disk == pages, "run python docs/gen_cli.py"
    assert {"build.md", "check.md", "diff.md", "scan.md", "rules.md", "index.md"} <= set(pages)


def test_build_counts_models_on_a_terminal_only(tmp_path: Path) -> None:
    """Counters (`[1/1] name: ...`) on a real pseudo-terminal; none in a piped log (CI, a fleet)."""
    import os
    import pty

    make_model(tmp_path / "m", config=llama_config(), tensors=llama_tensors())
    (tmp_path / "modelcards.yml").write_text("models:\n  - path: m\n")
    command = [sys.executable, "-m", "modelcards", "build", "-C", str(tmp_path), "--no-site"]
    piped = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "[1/1]" not in piped.stderr
    (tmp_path / "m/config.json").write_text(json.dumps(llama_config(vocab_size=330)))
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower) as process:
        os.close(follower)
        seen = b""
        while chunk := _read_pty(leader):
            seen += chunk
        assert process.wait(timeout=120) == 0
    os.close(leader)
    assert b"[1/1] m: reading m" in seen and b"[1/1] m: rendered" in seen


def test_build_lists_only_the_models_it_wrote(tmp_path: Path) -> None:
    """A rebuild of a fleet where one model changed names that one model, and its warning."""
    from click.testing import CliRunner

    from modelcards.cli import cli

    for name in ("a", "b"):  # a Hub base never downloaded: a warning each
        make_model(tmp_path / name, config=llama_config(), tensors=llama_tensors())
        (tmp_path / name / "README.md").write_text("---\nbase_model: acme/absent\n---\n")
    (tmp_path / "modelcards.yml").write_text("models:\n  - path: a\n  - path: b\n")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}

    def build() -> tuple[str, str]:
        result = CliRunner().invoke(cli, ["build", "-C", str(tmp_path), "--no-site"], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout, result.stderr

    out, err = build()
    assert "a: " in out and "b: " in out and err.count("modelcards: warning:") == 2
    assert build() == ("2 cards: 0 files written, 10 unchanged, 2 without a base comparison\n", "")
    (tmp_path / "b/config.json").write_text(json.dumps(llama_config(vocab_size=330)))
    out, err = build()
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["b"]
    assert "warning: b: base named (acme/absent)" in err and "warning: a:" not in err


def _read_pty(fd: int) -> bytes:
    import os

    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child closed its end
        return b""
