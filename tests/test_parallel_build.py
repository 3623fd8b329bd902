"""`build --jobs N`: cards rendered in worker processes are the cards a serial build writes."""

from __future__ import annotations

import json
import os
import shutil
import sys
from multiprocessing.pool import RemoteTraceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelcards.cli import cli
from modelcards.project import build
from modelcards.project.build import render_project
from modelcards.project.config import load_config
from modelcards.render import RenderedModel
from modelcards.safeio.errors import InspectError
from modelfiles import git, run_modelcards

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")


@pytest.fixture
def fleet(repo: Path) -> Path:
    """The example with four more models (six: enough to share out), one of them with an
    unreleased change after its release tag, so its change log compares against git."""
    config = repo / "modelcards.yml"
    text = config.read_text()
    base = "{path: base-model, id: acme/tiny-llama-base}"
    for source, copy in (("chat-tuned", "tuned-0"), ("chat-tuned", "tuned-1"),
                         ("chat-lora", "lora-0"), ("chat-lora", "lora-1")):  # fmt: skip
        shutil.copytree(repo / "models" / source, repo / "models" / copy)
        text += f"  - path: models/{copy}\n    base: {base}\n"
    config.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feat: four more")
    git(repo, "tag", "tuned-0/v1.0")
    generation = repo / "models/tuned-0/generation_config.json"
    generation.write_text(json.dumps({**json.loads(generation.read_text()), "temperature": 0.2}))
    git(repo, "commit", "-q", "-am", "fix(tuned-0): cooler sampling")
    return repo


@pytest.fixture
def render_pids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The real `render_model`, noting in a file which process ran it (workers cannot tell the
    parent any other way)."""
    log = tmp_path / "render-pids"
    real = build.render_model

    def noted(*args: object, **kwargs: object) -> RenderedModel:
        with log.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "render_model", noted)
    return log


def pids(log: Path) -> list[int]:
    found = [int(line) for line in log.read_text().split()] if log.exists() else []
    log.unlink(missing_ok=True)
    return found


def files(models: list[RenderedModel]) -> dict[str, str]:
    return {path: text for model in models for path, text in model.files().items()}


@pytest.mark.parametrize("at", [None, "tuned-0/v1.0"])
def test_cards_rendered_in_workers_are_byte_identical(
    fleet: Path, render_pids: Path, at: str | None
) -> None:
    project = load_config(fleet)
    serial = render_project(project, jobs=1, at=at)
    assert pids(render_pids) == [os.getpid()] * 6
    progress: list[str] = []
    side_by_side = render_project(project, jobs=2, at=at, progress=progress.append)
    assert "[6/6] lora-1: rendered" in progress  # reported in the parent, per model
    workers = pids(render_pids)
    assert len(workers) == 6 and os.getpid() not in workers
    assert [m.name for m in side_by_side] == [m.name for m in serial]
    assert files(side_by_side) == files(serial)
    if at is None:  # the release comparison read from git made it into the worker's card
        tuned = next(m for m in side_by_side if m.name == "tuned-0")
        unreleased = tuned.context["history"]["releases"][0]
        assert unreleased["compared"] and unreleased["changes"], unreleased


def test_jobs_option_decides_where_cards_render(fleet: Path, render_pids: Path) -> None:
    other = fleet.parent / "other"
    shutil.copytree(fleet, other, symlinks=True)
    rendered_by = {}
    for root, jobs in ((fleet, "1"), (other, "2")):
        result = CliRunner().invoke(cli, ["build", "-C", str(root), "--no-site", "--jobs", jobs])
        assert result.exit_code == 0, result.output
        assert "[6/6]" not in result.stderr  # counters only on a terminal: a CI log stays short
        rendered_by[jobs] = pids(render_pids)
    assert rendered_by["1"] == [os.getpid()] * 6
    assert len(rendered_by["2"]) == 6 and os.getpid() not in rendered_by["2"]

    def cards(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.glob("models/*/*")}

    assert cards(other) == cards(fleet)


def test_an_error_in_a_worker_is_that_models_one_line(fleet: Path) -> None:
    (fleet / "models/lora-0/adapter_config.json").write_text("[1, 2]\n")
    git(fleet, "commit", "-q", "-am", "break an adapter config")
    with pytest.raises(InspectError) as caught:
        render_project(load_config(fleet), jobs=2)
    assert isinstance(caught.value.__cause__, RemoteTraceback)  # raised in a worker
    assert caught.value.file == "models/lora-0/adapter_config.json"

    result = run_modelcards("build", "--jobs", "2", cwd=fleet)
    assert result.returncode == 2  # at the end, after every other card was written
    assert (
        "modelcards: error: lora-0: models/lora-0/adapter_config.json: "
        "expected a JSON object, found list"
    ) in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1].startswith("modelcards: 1 model could not be documented")
    assert "Traceback" not in result.stderr
    written = sorted(p.parent.name for p in fleet.glob("models/*/CHANGES.md"))
    assert "lora-0" not in written and len(written) == 5  # one model's failure is that model's
