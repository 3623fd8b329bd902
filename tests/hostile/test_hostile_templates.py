"""A project's templates folder built to leak secrets or run away: symlinks out of it, a folder
outside the project, a template that renders without end. Each is one line naming the path, exit
2, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelcards.render.environment import MAX_OUTPUT_CHARS
from modelfiles import run_modelcards

BUILTIN = Path(__file__).resolve().parents[2] / "templates"
SECRET = "modelcards-canary-7f3a"


def _use_templates(repo: Path, folder: str) -> None:
    config = repo / "modelcards.yml"
    config.write_text(config.read_text() + f"templates: {folder}\n")


def _card_with(repo: Path, line: str) -> Path:
    folder = repo / "my-templates"
    folder.mkdir()
    card = (BUILTIN / "card.md.j2").read_text()
    (folder / "card.md.j2").write_text(card + "\n" + line + "\n")
    _use_templates(repo, "my-templates")
    return folder


def _build(repo: Path) -> tuple[int, str]:
    result = run_modelcards("build", "--no-site", cwd=repo, env={"MC_TEST_SECRET": SECRET})
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("target", ["/proc/self/environ", "/etc/passwd"])
def test_a_symlinked_template_out_of_the_folder_is_refused(repo: Path, target: str) -> None:
    folder = _card_with(repo, '{% include "leak.txt" %}')
    os.symlink(target, folder / "leak.txt")
    before = (repo / "models/chat-tuned/README.md").read_bytes()
    code, out = _build(repo)
    assert code == 2, out
    assert "leak.txt" in out and "Traceback" not in out
    assert SECRET not in out and "root:" not in out
    assert (repo / "models/chat-tuned/README.md").read_bytes() == before


def test_a_symlink_inside_the_folder_is_fine(repo: Path) -> None:
    folder = _card_with(repo, '{% include "alias.txt" %}')
    (folder / "note.txt").write_text("reviewed by the model team\n")
    os.symlink("note.txt", folder / "alias.txt")
    code, out = _build(repo)
    assert code == 0, out
    assert "reviewed by the model team" in (repo / "models/chat-tuned/README.md").read_text()


@pytest.mark.parametrize("folder", ["/etc", "../outside"])
def test_a_templates_folder_outside_the_project_is_refused(repo: Path, folder: str) -> None:
    (repo.parent / "outside").mkdir(exist_ok=True)
    _use_templates(repo, folder)
    code, out = _build(repo)
    assert code == 2 and "templates" in out and "inside the project" in out, out


def test_a_runaway_template_stops_with_one_line(repo: Path) -> None:
    loops = MAX_OUTPUT_CHARS // (100_000 * 10) + 2  # past the bound, and no further
    _card_with(repo, f"{{% for i in range({loops}) %}}{{% for j in range(100000) %}}0123456789"
               "{% endfor %}{% endfor %}")  # fmt: skip
    code, out = _build(repo)
    assert code == 2 and "template output larger than" in out and "Traceback" not in out


def test_a_template_that_includes_itself_is_one_line(repo: Path) -> None:
    folder = repo / "my-templates"
    folder.mkdir()
    (folder / "card.md.j2").write_text("{% include 'card.md.j2' %}\n")
    _use_templates(repo, "my-templates")
    code, out = _build(repo)
    assert code == 2 and "card.md.j2" in out and "recursion" in out and "Traceback" not in out
