"""The lock in the real workflow: build before it says "not compared", build after it compares
against the pinned base with no network, no cache and no download; a changed lock is stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import COMMIT, REPO, FakeHub
from test_lock import go_offline, make_project

from modelfiles import git, run_modelcards


def card_json(project: Path) -> dict:
    return json.loads((project / "tuned-0" / "card.json").read_text())


def test_build_compares_against_the_lock_offline(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project", REPO)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a fine-tune of a Hub model")

    before = run_modelcards("build", "--no-site", cwd=project)
    assert before.returncode == 0, before.stderr  # not cached, not online: a card all the same
    assert "base named (org/remote), not compared" in before.stderr
    assert card_json(project)["coverage"]["base"]["state"] == "unavailable"
    assert "The base was not compared" in (project / "tuned-0" / "README.md").read_text()
    strict = run_modelcards("build", "--no-site", "--strict", cwd=project)
    assert strict.returncode == 1 and "--strict" in strict.stderr

    locked = run_modelcards("lock", "--online", cwd=project)
    assert locked.returncode == 0, locked.stderr
    go_offline(hub, tmp_path, monkeypatch)

    after = run_modelcards("build", "--no-site", cwd=project)
    assert after.returncode == 0, after.stderr
    assert "not compared" not in after.stderr
    context = card_json(project)
    assert context["coverage"]["base"]["state"] == "compared"
    assert context["diff"]["base"]["kind"] == "lock"
    assert context["diff"]["base"]["revision"] == COMMIT  # the card pins the base revision
    card = (project / "tuned-0" / "README.md").read_text()
    assert "and checked what changed against the base" in card

    git(project, "add", "-A")
    git(project, "commit", "-qm", "cards, with the base locked")
    assert run_modelcards("check", cwd=project).returncode == 0
    lock = json.loads((project / "modelcards.lock").read_text())
    header = lock["bases"][REPO]["safetensors_headers"]["model.safetensors"]
    lock["bases"][REPO]["safetensors_headers"]["model.safetensors"] = header.replace('"pt"', '"np"')
    (project / "modelcards.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    stale = run_modelcards("check", cwd=project)
    assert stale.returncode == 1, stale.stdout  # the pinned base changed: the card is stale
