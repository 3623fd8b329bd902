"""docs/api.md: its example runs on the bundled example project, as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_first_run_example_runs_on_the_example(repo: Path) -> None:
    example = python_blocks()[0]
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=repo, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("finetune ") and "significant changes" in lines[0]
    assert "tensors changed" in result.stdout and "[] failed" in result.stdout
    assert lines[-1] == "check: ok"  # the cards the example built are what check expects
    assert (repo / "models/chat-tuned/card.json").is_file()


def test_the_callback_example_names_what_exists() -> None:
    """The training-script example compiles and uses the callback's real names."""
    source = python_blocks()[1]
    compile(source, "docs/api.md", "exec")
    pytest.importorskip("transformers")
    from modelcards.integrations import transformers as integration

    assert "from modelcards.integrations.transformers import ModelcardsCallback" in source
    assert integration.__file__ and "checkpoints" in DOC.read_text()
    assert {"document", "on_save", "on_train_end"} <= set(vars(integration.ModelcardsCallback))
