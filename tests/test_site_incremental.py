"""A site build rebuilds only the page groups whose sources changed, and the result is the
site one plain `mkdocs build` of the same pages writes, byte for byte."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_mkdocs_build import fleet, tree  # noqa: F401 - the fixture of six models

from modelcards.project.config import load_config
from modelcards.publish.mkdocs_build import STAMP, build_site
from modelcards.publish.site import shard_slugs
from modelcards.publish.site_units import SITE_WIDE, linked_pages, read_stamp, source_units


def plain_build(site_dir: Path, into: Path) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
         str(site_dir / "mkdocs.yml"), "--site-dir", str(into)],
        check=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return tree(into)


def without_stamp(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in files.items() if name != STAMP}


def test_one_changed_model_is_the_only_group_rebuilt_and_the_site_is_a_plain_build(
    fleet: Path,  # noqa: F811
) -> None:
    project = load_config(fleet)
    site_dir = fleet / project.site.dir
    first = build_site(project, jobs=3, per_shard=2)
    assert set(first.built) == set(source_units(site_dir).units) and first.reused == 0
    page = site_dir / "docs/models/tuned-2/index.md"
    page.write_text(page.read_text() + "\nOne more line, [to the card](report.md).\n")
    old_index = first.output / "search/search_index.json"
    kept = fleet.parent / "old-index.json"
    os.link(
        old_index, kept
    )  # the previous output's files are linked into the new one, never written
    before = kept.read_bytes()

    again = build_site(project, jobs=3, per_shard=2)

    assert again.built == ("tuned-2",) and again.reused == len(source_units(site_dir).units) - 1
    assert kept.read_bytes() == before
    expected = plain_build(site_dir, fleet.parent / "plain")
    assert without_stamp(tree(again.output)) == expected
    assert "One more line" in (again.output / "models/tuned-2/index.html").read_text()
    assert read_stamp(again.output) == source_units(site_dir)

    assert build_site(project).current  # nothing changed since: no mkdocs run at all


def test_a_removed_and_an_added_model_and_the_home_page(fleet: Path) -> None:  # noqa: F811
    project = load_config(fleet)
    site_dir = fleet / project.site.dir
    build_site(project, jobs=2, per_shard=2)
    docs = site_dir / "docs/models"
    shutil.rmtree(docs / "tuned-0")
    shutil.copytree(docs / "tuned-1", docs / "tuned-9")
    for page in (site_dir / "docs").glob("*.md"):  # the home and lineage pages link them
        page.write_text(page.read_text().replace("tuned-0", "tuned-9"))

    again = build_site(project, jobs=2, per_shard=2)

    assert set(again.built) == {SITE_WIDE, "tuned-9"}
    built = tree(again.output)
    assert not [name for name in built if name.startswith("models/tuned-0/")]
    assert without_stamp(built) == plain_build(site_dir, fleet.parent / "plain")
    locations = [d["location"] for d in json.loads(built["search/search_index.json"])["docs"]]
    assert not [loc for loc in locations if loc.startswith("models/tuned-0/")]
    assert "models/tuned-9/index.html" in locations


def test_a_damaged_previous_output_is_built_again_whole(fleet: Path) -> None:  # noqa: F811
    project = load_config(fleet)
    out = build_site(project, jobs=1).output
    (out / "search/search_index.json").write_text("{not json")
    page = fleet / project.site.dir / "docs/models/tuned-1/report.md"
    page.write_text(page.read_text() + "\nchanged\n")
    again = build_site(project, jobs=1)
    assert again.reused == 0
    shutil.rmtree(out / "models/tuned-3")  # a unit that went missing is built again
    assert build_site(project, jobs=1).built == ("tuned-3",)
    assert without_stamp(tree(out)) == plain_build(fleet / project.site.dir, fleet.parent / "plain")


def test_a_linked_page_that_appears_or_goes_away_changes_the_linking_group(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "docs/models/a").mkdir(parents=True)
    (site / "mkdocs.yml").write_text("site_name: x\nsite_dir: out\n")
    (site / "docs/index.md").write_text("[a](models/a/index.md) [b](models/b/index.md#top)\n")
    (site / "docs/models/a/index.md").write_text("[home](../../index.md) [web](https://x.org)\n")
    before = source_units(site)
    (site / "docs/models/b").mkdir()
    (site / "docs/models/b/index.md").write_text("b\n")
    after = source_units(site)
    assert after.units[SITE_WIDE] != before.units[SITE_WIDE]  # its link to b now resolves
    assert after.units["a"] == before.units["a"]  # a links to nothing that changed
    (site / "mkdocs.yml").write_text("site_name: x\nsite_dir: elsewhere\n")
    assert source_units(site) == after  # where the output goes is not what pages are made of
    (site / "mkdocs.yml").write_text("site_name: y\nsite_dir: out\n")
    assert source_units(site).units["a"] != after.units["a"]
    assert linked_pages("models/a/index.md", "[x](../b/p.md#h) [y](mailto:z) [z](/abs)") == {
        "models/b/p.md"
    }


def test_shards_of_a_fleet_partition_its_models_the_same_way_everywhere() -> None:
    slugs = [f"model-{n:03d}" for n in range(103)][::-1]
    parts = [shard_slugs(slugs, k, 10) for k in range(1, 11)]
    assert set().union(*parts) == set(slugs)
    assert sum(len(p) for p in parts) == len(slugs)
    assert {len(p) for p in parts} == {10, 11}
    assert parts == [shard_slugs(sorted(slugs), k, 10) for k in range(1, 11)]
    assert max(parts[0]) < min(parts[1])  # contiguous runs of the sorted folders
    with pytest.raises(ValueError):
        shard_slugs(slugs, 11, 10)


def test_site_pages_of_unchanged_models_are_read_back_not_rendered(
    fleet: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelcards.project.build import render_project
    from modelcards.publish.site import pages as pages_module
    from modelcards.publish.site import site_pages, write_site
    from modelcards.render import make_environment

    project = load_config(fleet)
    models = render_project(project)
    env = make_environment(project.templates)
    rendered: list[str] = []
    real = pages_module.model_files

    def counting(root: str, model, site, env):  # type: ignore[no-untyped-def]
        rendered.append(model.name)
        return real(root, model, site, env)

    monkeypatch.setattr(pages_module, "model_files", counting)
    first = site_pages(project, models, env)  # the fleet fixture wrote these pages already
    assert rendered == []
    shutil.rmtree(fleet / project.site.dir)  # no record: everything rendered
    fresh = site_pages(project, models, env)
    assert len(rendered) == len(models) and fresh == first
    write_site(project, fresh)

    rendered.clear()
    page = fleet / project.site.dir / "docs/models/tuned-1/report.md"
    page.write_text(page.read_text() + "edited by hand\n")  # not what the record says: rendered
    changed = models[2]
    models[2] = dataclasses.replace(changed, card=changed.card + "\nnew line\n")
    again = site_pages(project, models, env)
    assert sorted(rendered) == sorted(["tuned-1", models[2].name])
    assert (
        again[f"{project.site.dir}/docs/models/tuned-1/report.md"]
        == first[f"{project.site.dir}/docs/models/tuned-1/report.md"]
    )
