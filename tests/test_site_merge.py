"""A CI matrix: `build --shard K/N` in N separate checkouts, `site merge` of their sites in
another, gives the site one machine's `modelcards build` writes, byte for byte."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from test_mkdocs_build import tree

from modelcards.safeio.errors import ModelcardsError
from modelcards.safeio.yamlsafe import load_yaml
from modelfiles import git, run_modelcards

DOCS = Path(__file__).resolve().parents[1] / "docs"


def documented_workflow() -> dict[str, Any]:
    """The matrix workflow of docs/ci.md, parsed."""
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "ci.md").read_text(), re.S)
    (block,) = [b for b in blocks if "site merge" in b]
    workflow = load_yaml(block, file="docs/ci.md", error=ModelcardsError)
    assert isinstance(workflow, dict)
    return workflow


def step(job: dict[str, Any], text: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if text in s.get("run", s.get("uses", ""))]
    return found


@pytest.fixture(scope="module")
def matrix(example_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with five more fine-tunes, committed; the documented matrix run as written:
    each shard job in a checkout of its own, its site copied to parts/ as download-artifact
    lays it out, the merge job in another checkout; and a one-machine build to compare."""
    root = tmp_path_factory.mktemp("matrix")
    origin = root / "origin"
    shutil.copytree(example_repo, origin, symlinks=True)
    config = origin / "modelcards.yml"
    text = config.read_text()
    for number in range(5):
        shutil.copytree(origin / "models/chat-tuned", origin / f"models/tuned-{number}")
        text += f"  - path: models/tuned-{number}\n    base: base-model\n"
    config.write_text(text)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "feat: five more")
    jobs = documented_workflow()["jobs"]
    build = step(jobs["shard"], "modelcards build")["run"]
    upload = step(jobs["shard"], "actions/upload-artifact")["with"]
    download = step(jobs["merge"], "actions/download-artifact")["with"]
    assert upload["include-hidden-files"] is True  # the part's record is a dotfile
    parts = root / "merge" / download["path"]
    for name in ("merge", "whole"):
        git(root, "clone", "-q", str(origin), name)
    for number in jobs["shard"]["strategy"]["matrix"]["shard"]:
        job = root / f"shard-{number}"
        git(root, "clone", "-q", str(origin), job.name)
        command = shlex.split(build.replace("${{ matrix.shard }}", str(number)))
        assert command[:2] == ["modelcards", "build"]
        done = run_modelcards(*command[1:], "-q", cwd=job)
        assert done.returncode == 0, done.stderr
        assert f"site part {number}/" in done.stdout
        artifact = upload["name"].replace("${{ matrix.shard }}", str(number))
        shutil.copytree(job / upload["path"], parts / artifact)
    merge = shlex.split(step(jobs["merge"], "site merge")["run"])
    pattern = merge.pop()
    assert merge[:3] == ["modelcards", "site", "merge"] and fnmatch(
        upload["name"].replace("${{ matrix.shard }}", "1"), Path(pattern).name
    )
    found = sorted(str(p.relative_to(root / "merge")) for p in (root / "merge").glob(pattern))
    done = run_modelcards(*merge[1:], *found, "--format", "json", cwd=root / "merge")
    assert done.returncode == 0, done.stderr
    (root / "merge.json").write_text(done.stdout)
    whole = run_modelcards("build", "-q", cwd=root / "whole")
    assert whole.returncode == 0, whole.stderr
    return root


def parts(root: Path) -> list[str]:
    return sorted(str(p) for p in (root / "merge/parts").iterdir())


def test_the_merged_shards_are_the_one_machine_site_byte_for_byte(matrix: Path) -> None:
    held = [
        sorted({name.split("/")[1] for name in tree(Path(p)) if name.startswith("models/")})
        for p in parts(matrix)
    ]
    assert len(held) == 10 and held.count([]) == 3  # seven models in ten jobs
    assert not list((matrix / "merge/parts").glob("*/index.html"))  # no part has a home page
    assert json.loads((matrix / "merge.json").read_text())["models"] == 7
    built, expected = tree(matrix / "merge/site"), tree(matrix / "whole/site")
    assert sorted(built) == sorted(expected)
    assert [name for name in expected if built[name] != expected[name]] == []
    docs = json.loads(built["search/search_index.json"])["docs"]
    assert {d["location"].split("/")[1] for d in docs if d["location"].startswith("models/")} == {
        "chat-lora", "chat-tuned", *(f"tuned-{n}" for n in range(5))
    }  # fmt: skip
    again = run_modelcards("build", cwd=matrix / "merge")  # the merged site is current
    assert again.returncode == 0, again.stderr
    assert "site/ was built from these pages already: not rebuilt" in again.stderr
    assert not list((matrix / "merge").glob(".site-*"))


def test_a_missing_a_doubled_or_a_foreign_part_is_one_line_and_exit_2(
    matrix: Path, tmp_path: Path
) -> None:
    every = parts(matrix)
    cases = {
        "no shard holds": every[:2],
        "is in two shards": [*every, every[0]],
        "not a site folder written by": [*every, str(tmp_path)],
    }
    other = tmp_path / "other"
    shutil.copytree(every[-1], other)
    stamp = other / ".modelcards-built"
    stamp.write_text(stamp.read_text().replace('"shell": "', '"shell": "0'))
    cases["other site settings or tool versions"] = [*every[:-1], str(other)]
    for message, folders in cases.items():
        done = run_modelcards(
            "site", "merge", *folders, "--out", str(tmp_path / "out"), cwd=matrix / "merge"
        )
        assert done.returncode == 2, (message, done.stdout, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "out").exists()


def test_shard_option_is_checked(matrix: Path) -> None:
    for value in ("0/3", "4/3", "x", "1/0"):
        done = run_modelcards("build", "--shard", value, cwd=matrix / "merge")
        assert done.returncode == 2 and "K/N" in done.stderr, done.stderr
    done = run_modelcards("build", "--shard", "1/2", "--no-site", cwd=matrix / "merge")
    assert done.returncode == 2 and "--shard builds a part of the site" in done.stderr
