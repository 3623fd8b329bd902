"""git:REF:PATH read from a real git repository, straight from the object store."""

from __future__ import annotations

import os
import stat
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from conftest import LFS_OID, write_model

from modelcards.inspect import inspect_snapshot
from modelcards.resolve import GitSnapshot, gitrepo, resolve_reference
from modelcards.resolve.gitrepo import open_git_repository
from modelcards.safeio.errors import ResolveError

HOOKS = (
    "pre-commit",
    "post-commit",
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "pre-auto-gc",
)


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="A",
        GIT_AUTHOR_EMAIL="a@example.org",
        GIT_COMMITTER_NAME="A",
        GIT_COMMITTER_EMAIL="a@example.org",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(cwd.parent),
    )
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def work_tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root (the .git folder included) with its size and mtime."""
    state = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in [*files, "."]:
            full = Path(dirpath) / name
            info = full.lstat()
            state[full.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return state


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_model(root / "models" / "base", hidden=8)
    (root / "README.md").write_text("project\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "import upstream base model")
    git(root, "tag", "upstream-import")
    # the later commit changes the model: another width, no LFS pointer, an extra file
    (root / "models" / "base" / "pytorch_model.bin").unlink()
    write_model(root / "models" / "base", hidden=16, lfs_pointer=False)
    (root / "models" / "base" / "generation_config.json").write_text('{"do_sample": true}\n')
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "widen the model")
    # hooks that leave a mark if git ever runs them
    marker = tmp_path / "hook-ran"
    for name in HOOKS:
        hook = root / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{marker}'\nexit 0\n")
        hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    fsmonitor = root / ".git" / "hooks" / "fsmonitor-watchman"
    fsmonitor.write_text(f"#!/bin/sh\necho fsmonitor >> '{marker}'\nexit 1\n")
    fsmonitor.chmod(0o755)
    git(root, "config", "core.fsmonitor", str(fsmonitor))
    return root


def test_old_revision_is_read_from_git_objects(project: Path) -> None:
    head_sha = git(project, "rev-parse", "HEAD~1").strip()
    before = work_tree_state(project)

    snapshot = resolve_reference("git:HEAD~1:models/base", project_root=project)

    assert isinstance(snapshot, GitSnapshot)
    assert snapshot.ref.kind == "git"
    assert snapshot.ref.location == "models/base"
    assert snapshot.ref.revision == head_sha
    assert snapshot.ref.describe() == f"git:{head_sha}:models/base"
    paths = [e.path for e in snapshot.files()]
    assert paths == [
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "tokenizer_config.json",
    ]
    config = snapshot.entry("config.json")
    assert config is not None
    expected_blob = git(project, "rev-parse", "HEAD~1:models/base/config.json").strip()
    assert config.blob_id == expected_blob
    assert b'"hidden_size": 8' in snapshot.read_bytes("config.json", max_bytes=10_000)
    pointer = snapshot.entry("pytorch_model.bin")
    assert pointer is not None and pointer.lfs_pointer
    assert (pointer.size, pointer.sha256) == (5_000_000_000, LFS_OID)

    facts = inspect_snapshot(snapshot)
    assert facts.config is not None and facts.config["hidden_size"] == 8
    assert facts.weights.tensors["model.embed_tokens.weight"].shape == (32, 8)
    assert facts.weights.tensors["lm_head.weight"].dtype == "F16"
    assert facts.weights.files == ("model.safetensors",)
    assert [o.file for o in facts.weights.opaque] == ["pytorch_model.bin"]
    assert facts.generation is None

    after = work_tree_state(project)
    assert after == before, "reading a git revision changed files in the repository"
    assert not (project.parent / "hook-ran").exists()
    assert git(project, "-c", "core.fsmonitor=false", "status", "--porcelain", "--ignored") == ""


def test_head_and_tag_give_their_own_trees(project: Path) -> None:
    new = resolve_reference("git:main:models/base", project_root=project)
    old = resolve_reference("git:upstream-import:models/base", project_root=project)
    assert inspect_snapshot(new).weights.tensors["lm_head.weight"].shape == (32, 16)
    assert "generation_config.json" in {e.path for e in new.files()}
    assert inspect_snapshot(old).weights.tensors["lm_head.weight"].shape == (32, 8)
    assert old.ref.revision == git(project, "rev-parse", "upstream-import^{commit}").strip()


def test_path_is_relative_to_a_project_root_inside_the_repository(project: Path) -> None:
    snapshot = resolve_reference("git:HEAD~1:base", project_root=project / "models")
    assert snapshot.ref.location == "base"
    assert snapshot.read_bytes("config.json", max_bytes=10_000).count(b'"hidden_size": 8') == 1


def test_large_blobs_are_range_read_by_a_process_that_is_stopped(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitrepo, "SMALL_BLOB_BYTES", 64)
    snapshot = resolve_reference("git:HEAD~1:models/base", project_root=project)
    local = project / "models" / "base" / "model.safetensors"
    expected = subprocess.run(
        ["git", "cat-file", "blob", "HEAD~1:models/base/model.safetensors"],
        cwd=project,
        capture_output=True,
        check=True,
    ).stdout
    assert len(expected) > 64 and local.exists()
    assert snapshot.read_range("model.safetensors", 0, 8) == expected[:8]
    assert snapshot.read_range("model.safetensors", 100, 50) == expected[100:150]
    assert snapshot.read_range("model.safetensors", len(expected) - 4, 100) == expected[-4:]
    facts = inspect_snapshot(snapshot)
    assert facts.weights.tensors["model.embed_tokens.weight"].shape == (32, 8)


def test_git_commands_run_with_hooks_and_fsmonitor_disabled(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository handle we read through never runs hooks, even for commands that would."""
    monkeypatch.setenv("GIT_COMMITTER_NAME", "C")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "c@example.org")
    marker = project.parent / "hook-ran"
    repo = open_git_repository(project)
    repo.git.status()
    repo.git.commit("--allow-empty", "-m", "through the guarded handle", author="A <a@example.org>")
    assert not marker.exists()
    # control: the same hooks do run for plain git, so the check above can fail
    git(project, "status")
    git(project, "commit", "-q", "--allow-empty", "-m", "plain git")
    ran = marker.read_text().split()
    assert "pre-commit" in ran and "fsmonitor" in ran


def test_errors_say_what_is_wrong(project: Path, tmp_path: Path) -> None:
    with pytest.raises(ResolveError, match="unknown git revision"):
        resolve_reference("git:no-such-branch:models/base", project_root=project)
    with pytest.raises(ResolveError, match="no such folder in commit"):
        resolve_reference("git:HEAD~1:models/tuned", project_root=project)
    with pytest.raises(ResolveError, match="is a file, not a folder"):
        resolve_reference("git:HEAD:README.md", project_root=project)
    with pytest.raises(ResolveError, match=r"must not contain '\.\.'"):
        resolve_reference("git:HEAD:models/../..", project_root=project)
    with pytest.raises(ResolveError, match="expected git:REF:PATH"):
        resolve_reference("git:HEAD", project_root=project)
    with pytest.raises(ResolveError, match="not a valid git revision"):
        resolve_reference("git:--output=/tmp/x:models/base", project_root=project)
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    with pytest.raises(ResolveError, match="not a git repository"):
        resolve_reference("git:HEAD:models/base", project_root=elsewhere)


def test_symlinks_in_the_tree_stay_inside_the_folder(project: Path) -> None:
    base = project / "models" / "base"
    (base / "tokenizer_config.json").unlink()
    os.symlink("config.json", base / "alias.json")
    os.symlink("../../README.md", base / "escape.md")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "links")
    snapshot = resolve_reference("git:HEAD:models/base", project_root=project)
    aliased = snapshot.read_bytes("alias.json", max_bytes=10_000)
    assert aliased == (base / "config.json").read_bytes()
    assert snapshot.entry("escape.md") is None
    assert isinstance(snapshot, GitSnapshot)
    assert ("escape.md", "symlink pointing outside the model folder") in snapshot.skipped


def test_reading_the_start_of_a_big_blob_does_not_load_it(project: Path) -> None:
    big = os.urandom(12 * 1024 * 1024)  # over SMALL_BLOB_BYTES: read by its own process
    (project / "models" / "base" / "model.gguf").write_bytes(big)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "a big blob")
    snapshot = resolve_reference("git:HEAD:models/base", project_root=project)
    assert isinstance(snapshot, GitSnapshot)
    snapshot.files()
    tracemalloc.start()
    try:
        head = snapshot.read_range("model.gguf", 0, 8)
        middle = snapshot.read_range("model.gguf", 5_000_000, 100)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        snapshot.close()
    assert (head, middle) == (big[:8], big[5_000_000:5_000_100])
    assert peak < 3 * 1024 * 1024, f"reading 108 bytes of a 12 MB blob peaked at {peak:,} bytes"


def test_a_shallow_clone_says_why_history_is_missing(project: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{project}", str(clone))
    assert resolve_reference("git:HEAD:models/base", project_root=clone).ref.revision
    with pytest.raises(ResolveError, match="shallow clone"):
        resolve_reference("git:HEAD~1:models/base", project_root=clone)
