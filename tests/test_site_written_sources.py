"""What a build where one model of a fleet changed no longer reads back: the files of the
unchanged models are listed without their EU documents being rendered, the site pages read back
from the last build are not compared again, and the site sources are fingerprinted from the
texts just written. Each shortcut gives what the long way gives."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_mkdocs_build import tree

from modelcards.project.build import build_project
from modelcards.project.config import load_config
from modelcards.publish.mkdocs_build import SiteBuild, build_site
from modelcards.publish.site import MARKER, write_site
from modelcards.publish.site_units import source_units
from modelcards.render import RenderedModel
from modelcards.safeio.errors import PublishError
from modelcards.safeio.hashcache import HashCache

TUNED = "models/chat-tuned"


def test_the_fingerprints_of_written_texts_are_those_of_the_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    texts = {  # a folder's files come before its subfolders', whatever their names
        "index.md": "[a](models/a/index.md) [gone](models/b/index.md)\n",
        "zz.md": "last at the top\n",
        "assets/site.css": "body {}\n",
        "models/a/index.md": "[home](../../index.md) [r](releases/v1.md)\n",
        "models/a/zz.json": "{}\n",
        "models/a/releases/v1.md": "[up](../index.md) ünïcode\n",
        "models/a-b/index.md": "[a](../a/index.md)\n",
        "models/a/.hidden.md": "mkdocs skips dotfiles\n",
        ".drafts/x.md": "and dot folders\n",
    }
    for relative, text in texts.items():
        (site / "docs" / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / "docs" / relative).write_text(text, encoding="utf-8")
    (site / "mkdocs.yml").write_text("site_name: x\n")
    assert source_units(site, texts) == source_units(site)
    changed = {**texts, "models/a/releases/v1.md": "other\n"}
    assert source_units(site, changed).units["a"] != source_units(site).units["a"]


def test_write_site_does_not_compare_the_pages_it_is_told_are_current(tmp_path: Path) -> None:
    (tmp_path / "modelcards-site").mkdir()
    (tmp_path / "modelcards-site" / MARKER).write_text("")
    project: Any = SimpleNamespace(
        root=tmp_path, file="x.yml", site=SimpleNamespace(dir="modelcards-site")
    )
    page = "modelcards-site/docs/models/a/index.md"
    (tmp_path / page).parent.mkdir(parents=True)
    (tmp_path / page).write_text("on disk\n")
    files = {page: "returned\n", f"modelcards-site/{MARKER}": "marker\n"}
    assert write_site(project, files, frozenset({page})) == [f"modelcards-site/{MARKER}"]
    assert (tmp_path / page).read_text() == "on disk\n"  # taken as the caller said, not read
    assert write_site(project, files) == [page]


def test_a_rebuild_after_one_change_lists_and_fingerprints_what_the_long_way_does(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelcards.publish.mkdocs_build as mkdocs_build

    given: list[dict[str, str]] = []

    def no_mkdocs(config: Any, *, written: dict[str, str] | None = None, **_: Any) -> SiteBuild:
        given.append(written or {})  # the HTML: tests/test_site_incremental.py
        return SiteBuild(config.root / config.site.output, (), 0, None)

    monkeypatch.setattr(mkdocs_build, "build_site", no_mkdocs)
    build_project(load_config(repo), cache=HashCache(), jobs=1)
    card_json = (repo / TUNED / "card.json").read_text()
    context = json.loads(card_json)
    assert context.get("model_documentation") and context.get("training_content")
    for heatmap in (None, "<svg/>"):
        model = RenderedModel("t", TUNED, context, "card", "changes", card_json, heatmap)
        assert model.file_names() == list(model.files())

    config = repo / TUNED / "generation_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "temperature": 0.25}) + "\n")
    site = repo / "modelcards-site"
    (site / "docs/models/gone").mkdir()
    (site / "docs/models/gone/index.md").write_text("a model that left the config\n")
    report = build_project(load_config(repo), cache=HashCache(), jobs=1)
    assert f"{TUNED}/README.md" in report.written
    assert "modelcards-site/docs/models/gone/index.md" in report.written  # removed, folder too
    assert not (site / "docs/models/gone").exists()
    docs = {p[len("modelcards-site/docs/") :]: t for p, t in given[-1].items() if "/docs/" in p}
    assert source_units(site, docs) == source_units(site)  # the folder holds just those


def test_the_previous_outputs_model_folders_go_back_when_the_new_site_is_not_put_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelcards.publish.mkdocs_build as mkdocs_build

    site = tmp_path / "modelcards-site"
    for page in ("index.md", "models/a/index.md", "models/b/index.md"):
        (site / "docs" / page).parent.mkdir(parents=True, exist_ok=True)
        (site / "docs" / page).write_text(f"# {page}\n")
    (site / "mkdocs.yml").write_text("site_name: x\n")
    project: Any = SimpleNamespace(
        root=tmp_path, file="x.yml", site=SimpleNamespace(dir=site.name, output="site")
    )
    output = build_site(project, jobs=1).output
    before = tree(output)
    (site / "docs/models/b/index.md").write_text("# b, changed\n")

    def full_disk(new: Path, target: Path) -> None:
        assert (new / "models/a/index.html").is_file()  # moved from the old output
        assert not (target / "models/a").exists()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mkdocs_build, "replace_folder", full_disk)
    with pytest.raises(PublishError, match="No space left"):
        build_site(project, jobs=1)
    assert tree(output) == before  # the old site as it was
    monkeypatch.undo()
    assert build_site(project, jobs=1).built == ("b",)  # and still taken as built
