"""Short commands start fast: a header-only diff of two folders, `rules` and `--version` load
none of the heavy libraries the other commands need (numpy for --deep and some scanners,
GitPython for history, Jinja2 for rendering, huggingface_hub for the Hub, urllib.request,
model_signing for sign and verify)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelfiles import llama_config, llama_tensors, make_model

HEAVY = ("numpy", "git", "jinja2", "huggingface_hub", "urllib.request", "model_signing")

PROBE = """
import json, sys
from modelcards.cli import main
sys.argv[0] = "modelcards"
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in HEAVY if m in sys.modules]}), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


def loaded_by(*args: str, cwd: Path) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["loaded"]


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "base", "tuned"),
        ("diff", "base", "tuned", "--format", "json"),
        ("rules",),
        ("--version",),
    ],
)
def test_a_short_command_loads_no_heavy_library(tmp_path: Path, args: tuple[str, ...]) -> None:
    make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors())
    make_model(
        tmp_path / "tuned",
        config=llama_config(max_position_embeddings=4096),
        tensors=llama_tensors(seed=1),
    )
    code, loaded = loaded_by(*args, cwd=tmp_path)
    assert code in (0, None), code
    assert loaded == [], f"`modelcards {' '.join(args)}` imported {loaded}"
