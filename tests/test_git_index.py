"""The index read in place (`history/git_index.py`) gives what `git ls-files --stage --debug`
says of every layout it reads, and leaves every other layout (split, intent-to-add, damaged)
to git, so that the work-tree comparison is the same either way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelcards.history.git_index import read_index
from modelcards.history.worktree import parse_ls_files_debug, work_tree_changes
from modelcards.resolve.gitcli import open_git_cli, resolve_commit
from modelfiles import git


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index") / "r"
    (root / "models/a/deep/er").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "models/a/config.json").write_text("{}\n")
    (root / "models/a/deep/er/w.bin").write_bytes(b"\0" * 100)
    (root / "models/a/ünï cödé.txt").write_text("names that are not ASCII\n")
    (root / ("x" * 250)).write_text("a long name\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    os.symlink("models/a/config.json", root / "link")
    git(root, "add", "-A")
    blob = git(root, "hash-object", "-w", "run.sh").strip()
    # a name longer than the entry's 12-bit length field (only the index holds it)
    git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{('y' * 250 + '/') * 17}end")
    git(root, "commit", "-qm", "init")
    return root


def listed_by_git(root: Path) -> dict[str, tuple[int, ...]]:
    out = open_git_cli(root).git.ls_files("--stage", "--debug", "-z")
    return {path: tuple(e) for path, e in parse_ls_files_debug(out).items()}  # type: ignore[arg-type]


def read_here(root: Path) -> dict[str, tuple[int, ...]] | None:
    entries = read_index(str(root / ".git/index"))
    return None if entries is None else {path: tuple(e) for path, e in entries.items()}


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_each_plain_layout_reads_as_git_lists_it(repo: Path, version: str) -> None:
    git(repo, "update-index", "--index-version", version)
    found = read_here(repo)
    assert found is not None and len(found) == 7
    assert found == listed_by_git(repo)


def test_other_layouts_and_damage_are_left_to_git(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "a/one.txt").write_text("one\n")
    (root / "two.txt").write_text("two\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    index = root / ".git/index"
    good = index.read_bytes()
    index.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])  # the checksum fails
    assert read_index(str(index)) is None
    index.write_bytes(good)
    (root / "new.txt").write_text("intent to add\n")
    git(root, "add", "-N", "new.txt")  # an extended flag
    assert read_index(str(index)) is None
    git(root, "rm", "-q", "--cached", "new.txt")
    git(root, "update-index", "--split-index")  # the entries live in a shared index
    assert read_index(str(index)) is None
    assert read_index(str(tmp_path / "no-index")) == {}
    # and the work tree compares the same through git's listing
    repo_cli = open_git_cli(root)
    changes = work_tree_changes(repo_cli, resolve_commit(repo_cli, "HEAD"))
    assert changes.tracked == set() and changes.untracked == {"new.txt"}
    assert set(changes.clean) == set(listed_by_git(root))
