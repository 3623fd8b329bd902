"""The record a full build writes (`project/record.py`): a model whose key is the recorded one
is current without being read, and every change to what a card is made of — an edited tracked
file, an untracked or ignored file, the base, a template, modelcards.yml, a hand edit of an
output — makes its key differ, so that `check` and `build` take the slow path for it and say
exactly what they say without a record."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from modelcards.history import ProjectGit
from modelcards.project.build import build_project
from modelcards.project.check import check_project
from modelcards.project.config import load_config
from modelcards.project.record import RECORD, KeyMaker, read_record
from modelcards.project.state import project_lock
from modelcards.publish.mkdocs_build import SiteBuild
from modelcards.render.template_files import builtin_templates
from modelcards.safeio.hashcache import HashCache
from modelfiles import git

TUNED, LORA = "models/chat-tuned", "models/chat-lora"


def no_mkdocs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTML is `build_site`'s business (tests/test_site_incremental.py): not run here."""
    import modelcards.publish.mkdocs_build as mkdocs_build

    def stub(config: Any, **_: Any) -> SiteBuild:
        return SiteBuild(config.root / config.site.output, (), 0, None)

    monkeypatch.setattr(mkdocs_build, "build_site", stub)


@pytest.fixture(scope="module")
def built(example_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with a templates folder of its own, built (site sources too) and committed."""
    root = tmp_path_factory.mktemp("record") / "repo"
    shutil.copytree(example_repo, root, symlinks=True)
    (root / "tpl").mkdir()
    shutil.copy(builtin_templates() / "card.md.j2", root / "tpl/card.md.j2")
    config = root / "modelcards.yml"
    # findings of medium severity fail: a current card's recorded risks are reported
    config.write_text(config.read_text() + "templates: tpl\npolicy: {fail_on: medium}\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "feat: own templates")
    with pytest.MonkeyPatch.context() as patch:
        no_mkdocs(patch)
        build_project(load_config(root), cache=HashCache(), jobs=1)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs: cards")  # the record is committed with the cards
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(built, target, symlinks=True)
    return target


def not_current(root: Path) -> set[str]:
    """The models (and "site") whose key is not the recorded one."""
    config = load_config(root)
    record = read_record(config)
    assert record is not None
    keys = KeyMaker(config, ProjectGit(config.root), HashCache(), project_lock(config.root))
    stale = {e.path for e in config.models if not record.current(e.path, keys.model(e))}
    return stale | (set() if record.site_current(keys.site()) else {"site"})


def problems(root: Path) -> list[tuple[Any, ...]]:
    report = check_project(load_config(root), cache=HashCache())
    return [(p.model, p.file, p.reason, p.kind) for p in report.problems]


def problems_without_record(root: Path) -> list[tuple[Any, ...]]:
    """What check says on the slow path alone (the record moved away for the run)."""
    record = root / "modelcards-site" / RECORD
    aside = root.parent / "record-aside.json"
    record.rename(aside)
    try:
        return problems(root)
    finally:
        aside.rename(record)


def test_a_committed_build_is_current_from_the_record_alone(project: Path) -> None:
    assert (project / "modelcards-site" / RECORD).is_file()
    assert not_current(project) == set()  # the commit carrying the record changes no key
    report = check_project(load_config(project), cache=HashCache())
    assert report.rendered == 0
    found = [(p.model, p.file, p.reason, p.kind) for p in report.problems]
    assert found and {p[3] for p in found} == {"finding"}  # from the risks the record keeps
    assert found == problems_without_record(project)


def edit_json(path: Path, **changes: Any) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}, indent=2) + "\n")


def untracked_weights(root: Path) -> None:
    save_file({"extra": np.ones((4, 4), dtype=np.float32)}, str(root / LORA / "extra.safetensors"))


def ignored_file(root: Path) -> None:
    (root / ".gitignore").write_text("*.ckpt\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-qm", "chore: ignore checkpoints")
    (root / TUNED / "run.ckpt").write_bytes(b"not in git")


def append(path: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / path).write_text((root / path).read_text() + text)

    return change


def edit_card_json(root: Path) -> None:
    path = root / TUNED / "card.json"
    path.write_text(path.read_text().replace('"model": {', '"model": {\n    "edited": true,', 1))


CHANGES: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    "edited tracked file": (
        lambda root: edit_json(root / TUNED / "generation_config.json", temperature=0.123),
        {TUNED, "site"},
    ),
    "untracked weight file": (untracked_weights, {LORA, "site"}),
    "ignored file": (ignored_file, {TUNED, "site"}),
    "changed base": (
        lambda root: edit_json(root / "base-model/config.json", rope_theta=12345.0),
        {TUNED, LORA, "site"},
    ),
    "changed template": (append("tpl/card.md.j2", "{# one more comment #}\n"), {TUNED, LORA, "site"}),
    "changed modelcards.yml": (append("modelcards.yml", "card:\n  language: [en]\n"), {TUNED, LORA, "site"}),
    "hand-edited card.json": (edit_card_json, {TUNED, "site"}),
    "deleted file": (lambda root: (root / TUNED / "generation_config.json").unlink(), {TUNED, "site"}),
    # a release tag on a commit before the cards' makes their commits a release
    "new tag": (lambda root: git(root, "tag", "v9.0", "HEAD~1"), {TUNED, LORA, "site"}),
    "hand-edited site page": (append("modelcards-site/docs/index.md", "\nmore\n"), {"site"}),
}  # fmt: skip


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_changed_input_is_never_taken_from_the_record(project: Path, change: str) -> None:
    make_change, expected = CHANGES[change]
    make_change(project)
    assert not_current(project) == expected
    found = problems(project)
    assert found == problems_without_record(project)  # the slow path decides, as without one
    if change != "ignored file":  # (an ignored file is no input of the card: still current)
        assert {"stale", "site"} & {p[3] for p in found}, "the change was not reported"


def test_a_tag_on_the_commit_carrying_the_cards_changes_no_key(project: Path) -> None:
    """The release commit is tagged after it is made: its cards were built before the tag."""
    git(project, "tag", "v9.0", "HEAD")
    assert not_current(project) == set()


def test_a_damaged_or_foreign_record_is_no_record(project: Path) -> None:
    record = project / "modelcards-site" / RECORD
    data = json.loads(record.read_text())
    for path in data["models"]:
        data["models"][path]["key"] = "0" * 64
    record.write_text(json.dumps(data))
    assert not_current(project) == {TUNED, LORA}  # (the site's key: of the keys as they are)
    edit_json(project / TUNED / "generation_config.json", temperature=0.5)
    assert problems(project) == problems_without_record(project) != []
    for text in ("[", '{"format": "something else"}', "[1, 2]", '{"format": 1e999999}'):
        record.write_text(text)
        assert read_record(load_config(project)) is None


def test_build_with_nothing_changed_reads_the_record_and_says_what_the_slow_path_says(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_mkdocs(monkeypatch)
    slow = tmp_path / "slow"
    shutil.copytree(project, slow, symlinks=True)
    (slow / "modelcards-site" / RECORD).unlink()
    quick = build_project(load_config(project), cache=HashCache(), jobs=1)
    assert quick.written == () and quick.site is not None  # the site's HTML: build_site's say
    again = build_project(load_config(slow), cache=HashCache(), jobs=1)
    assert again.written == (f"modelcards-site/{RECORD}",)  # the same record, written anew
    assert (slow / "modelcards-site" / RECORD).read_bytes() == (
        project / "modelcards-site" / RECORD
    ).read_bytes()
    assert quick.models == again.models  # card.json read back the same either way
    assert quick.unchanged == again.unchanged


def tree(root: Path) -> dict[str, bytes]:
    skip = (".git/", "site/")
    files = (p for p in root.rglob("*") if p.is_file())
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in files
        if not p.relative_to(root).as_posix().startswith(skip)
    }


def test_build_after_one_change_writes_what_a_build_without_record_writes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_mkdocs(monkeypatch)
    slow = tmp_path / "slow"
    shutil.copytree(project, slow, symlinks=True)
    (slow / "modelcards-site" / RECORD).unlink()
    for root in (project, slow):
        edit_json(root / TUNED / "generation_config.json", temperature=0.25)
        untracked_weights(root)
    quick = build_project(load_config(project), cache=HashCache(), jobs=1)
    full = build_project(load_config(slow), cache=HashCache(), jobs=1)
    assert f"{TUNED}/README.md" in quick.written and f"{LORA}/README.md" in quick.written
    assert quick.written == full.written and quick.models == full.models
    assert tree(project) == tree(slow)  # cards, site sources and the record, byte for byte
    assert not_current(project) == set()  # recorded as this build left it


def test_the_key_a_base_signature_is_checked_with_is_part_of_every_key(project: Path) -> None:
    """The signing key lies outside the folders whose blob ids a key lists: its bytes are in
    the key, so a new key file (same path in modelcards.yml) takes the slow path."""
    (project / "keys").mkdir()
    (project / "keys/signer.pub").write_text("first key\n")
    config = load_config(project)
    keys = KeyMaker(config, ProjectGit(config.root), HashCache(), project_lock(config.root))
    entry = config.models[0]
    without = keys.model(entry)
    config_file = project / "modelcards.yml"
    config_file.write_text(config_file.read_text().replace(
        "policy: {fail_on: medium}", "policy: {fail_on: medium, signing_key: keys/signer.pub}"))  # fmt: skip
    config = load_config(project)
    first = KeyMaker(config, ProjectGit(project), HashCache(), project_lock(project)).model(entry)
    (project / "keys/signer.pub").write_text("another key\n")
    again = KeyMaker(config, ProjectGit(project), HashCache(), project_lock(project)).model(entry)
    assert len({without, first, again}) == 3
