"""The site built in shards side by side is the site one plain `mkdocs build` writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelcards.project.build import render_project
from modelcards.project.config import load_config
from modelcards.publish.mkdocs_build import STAMP, Shard, build_site, plan_shards
from modelcards.publish.site import site_pages, write_site
from modelcards.publish.site_units import source_units
from modelcards.render import make_environment
from modelcards.safeio.errors import PublishError
from modelfiles import git, run_modelcards


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def fleet(repo: Path) -> Path:
    """The example project with four more fine-tunes: six model folders to share out."""
    config = repo / "modelcards.yml"
    text = config.read_text()
    for number in range(4):
        shutil.copytree(repo / "models/chat-tuned", repo / f"models/tuned-{number}")
        text += f"  - path: models/tuned-{number}\n    base: base-model\n"
    config.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feat: four more")
    project = load_config(repo)
    write_site(project, site_pages(project, render_project(project), make_environment(None)))
    return repo


def test_shards_are_contiguous_runs_in_sorted_order() -> None:
    names = [f"m{n}" for n in (5, 1, 4, 2, 3, 6, 7)]
    shards = plan_shards(names, jobs=3, per_shard=2)
    assert shards == [
        Shard(("m1", "m2", "m3"), site_wide=True),
        Shard(("m4", "m5"), site_wide=False),
        Shard(("m6", "m7"), site_wide=False),
    ]
    assert plan_shards(names, jobs=8, per_shard=50) == [Shard(tuple(sorted(names)), True)]
    assert plan_shards([], jobs=4) == [Shard((), True)]
    assert plan_shards([], jobs=4, site_wide=False) == []  # nothing to build
    assert plan_shards(names[:2], jobs=1, site_wide=False) == [Shard(("m1", "m5"), False)]


def test_sharded_site_is_byte_identical_to_one_plain_mkdocs_build(fleet: Path) -> None:
    project = load_config(fleet)
    site_dir = fleet / project.site.dir
    plain = fleet.parent / "plain-site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
         str(site_dir / "mkdocs.yml"), "--site-dir", str(plain)],
        check=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out = build_site(project, jobs=3, per_shard=2).output
    built, expected = tree(out), tree(plain)
    assert json.loads(built.pop(STAMP))["units"] == source_units(site_dir).units  # ours
    assert sorted(built) == sorted(expected)
    assert [name for name in expected if built[name] != expected[name]] == []
    docs = json.loads(built["search/search_index.json"])["docs"]
    assert any(d["location"] == "models/tuned-3/index.html" for d in docs)  # the last shard's
    assert not list(fleet.glob(".site-build-*"))  # the work folder is gone


def test_sharded_build_from_inside_the_project_with_relative_paths(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(fleet)  # `modelcards build` run from the project: the root is "."
    out = build_site(load_config(Path(".")), jobs=3, per_shard=2).output
    assert (fleet / out / "models/tuned-3/index.html").is_file()


def test_failing_shard_keeps_the_previous_site(fleet: Path) -> None:
    project = load_config(fleet)
    out = build_site(project, jobs=1).output
    (out / ".nojekyll").write_text("")
    before = tree(out)
    page = fleet / project.site.dir / "docs/models/tuned-3/index.md"
    page.write_text(page.read_text() + "\n[broken](nowhere.md)\n")
    with pytest.raises(PublishError, match=r"mkdocs build failed: .*nowhere\.md"):
        build_site(project, jobs=3, per_shard=2)
    assert tree(out) == before
    page.write_text(page.read_text().replace("[broken](nowhere.md)", ""))
    assert (build_site(project, jobs=3, per_shard=2).output / ".nojekyll").is_file()  # kept


def test_a_site_built_from_the_same_pages_is_not_built_again(repo: Path) -> None:
    first = run_modelcards("build", "-C", str(repo), cwd=repo)
    assert first.returncode == 0, first.stderr
    index = repo / "site/index.html"
    stamp = repo / "site" / STAMP
    tools = json.loads(stamp.read_text())["tools"]
    assert tools["mkdocs"].startswith("1.") and tools["mkdocs-material"]
    built_at = index.stat().st_mtime_ns
    again = run_modelcards("build", "-C", str(repo), cwd=repo)
    assert again.returncode == 0, again.stderr
    assert "site/ was built from these pages already: not rebuilt" in again.stderr
    assert index.stat().st_mtime_ns == built_at
    stamp.write_text(stamp.read_text().replace('"shell": "', '"shell": "0'))  # another mkdocs
    rebuilt = run_modelcards("build", "-C", str(repo), cwd=repo)
    assert "building the site with mkdocs" in rebuilt.stderr
    assert index.stat().st_mtime_ns != built_at
    index.unlink()  # an output someone emptied is built again too
    assert not build_site(load_config(repo)).current
    gen = repo / "models/chat-tuned/generation_config.json"
    gen.write_text(gen.read_text().replace('"temperature": 0.7', '"temperature": 0.5'))
    changed = run_modelcards("build", "-C", str(repo), cwd=repo)
    assert changed.returncode == 0 and "building the site with mkdocs" in changed.stderr
    assert (
        "sampling temperature 0.8 → 0.5"
        in (repo / "site/models/chat-tuned/report.html").read_text()
    )


def test_site_pages_rendered_in_workers_are_the_same(fleet: Path) -> None:
    project = load_config(fleet)
    models = render_project(project)
    env = make_environment(project.templates)
    assert site_pages(project, models, env, jobs=3) == site_pages(project, models, env, jobs=1)
