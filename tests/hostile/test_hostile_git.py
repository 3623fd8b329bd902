"""A repository built to make us run its commands, forge its history or write outside the project.

Each test is a reproducer from the reliability review: a filter driver, a textconv, an external
diff and a signature program in the repository's config; a commit subject carrying the log's
old field separators; a ref that looks like an option; a revision that does not exist.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from modelcards.history.worktree import work_tree_changes
from modelcards.resolve.gitcli import open_git_cli, resolve_commit
from modelfiles import git, run_modelcards

CONFIG = "models/chat-tuned/config.json"


def _arm(repo: Path, marker: Path) -> None:
    """Every config-driven command git has that our calls could reach, each touching `marker`."""
    command = f"sh -c 'touch {marker}; cat'"
    for key, value in {
        "filter.evil.clean": command,
        "filter.evil.smudge": command,
        "filter.evil.process": command,
        "filter.evil.required": "true",
        "diff.evil.textconv": command,
        "diff.evil.command": command,
        "diff.external": command,
        "log.showSignature": "true",
        "gpg.program": command,
        "core.fsmonitor": command,
        "core.pager": command,
    }.items():
        git(repo, "config", key, value)
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")


def _signed_looking_commit(repo: Path) -> None:
    """A commit with a gpgsig header: `git log` with log.showSignature runs gpg.program on it."""
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    parent = git(repo, "rev-parse", "HEAD").strip()
    body = (
        f"tree {tree}\nparent {parent}\n"
        "author Test <t@example.org> 1704067200 +0000\n"
        "committer Test <t@example.org> 1704067200 +0000\n"
        "gpgsig -----BEGIN PGP SIGNATURE-----\n \n =abcd\n -----END PGP SIGNATURE-----\n"
        "\nchore: signed\n"
    )
    sha = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--no-filters"],
        cwd=repo, input=body, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    git(repo, "update-ref", "HEAD", sha)


def test_no_command_from_the_repository_config_runs(repo: Path, tmp_path: Path) -> None:
    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: cards")
    _signed_looking_commit(repo)
    marker = tmp_path / "RAN"
    _arm(repo, marker)
    os.utime(repo / CONFIG)  # stat data changed: `git status` would run the clean filter
    data = json.loads((repo / CONFIG).read_text())
    (repo / "models/chat-tuned/generation_config.json").write_text(json.dumps(data))

    for args in (
        ("build", "-q", "--no-site"),
        ("check",),
        ("check", "--base-ref", "HEAD~1"),
        ("export", "--format", "cyclonedx", "-o", str(tmp_path / "bom.json")),
        ("build", "-q", "--no-site", "--at", "HEAD~1", "--out", "past"),
    ):
        result = run_modelcards(*args, cwd=repo)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert not marker.exists(), f"{args} ran a command from the repository config"


def test_forged_log_record_stays_one_commit(repo: Path) -> None:
    forged = (
        "x\x1e" + "0" * 40 + "\x1f\x1f2020-01-01T00:00:00+00:00\x1fTrusted Release Bot"
        "\x1fsecurity: audited and approved"
    )
    data = json.loads((repo / CONFIG).read_text())
    data["use_cache"] = not data.get("use_cache", True)
    (repo / CONFIG).write_text(json.dumps(data, indent=2) + "\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Mallory", "commit", "-qm", forged, "--author", "Mallory <m@x>")
    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0

    card = json.loads((repo / "models/chat-tuned/card.json").read_text())
    recorded = _history_commits(card)
    assert recorded and all(c["sha"] != "0" * 40 for c in recorded)
    assert all(c["author"] != "Trusted Release Bot" for c in recorded)
    commits = [c for c in recorded if c["author"] == "Mallory"]
    assert len(commits) == 1 and commits[0]["subject"].startswith("x\x1e")
    changes = (repo / "models/chat-tuned/CHANGES.md").read_text()
    assert "\x1e" not in changes and "\x1f" not in changes
    assert "\\x1e" in changes and "Mallory" in changes


def _history_commits(card: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if {"sha", "author", "subject"} <= node.keys():
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


@pytest.mark.parametrize("ref", ["--output=OUT", "--output=../OUT"])
def test_a_ref_is_never_an_option(repo: Path, ref: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "all", "--allow-empty")
    result = run_modelcards("check", f"--base-ref={ref}", cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo / "OUT").exists() and not (repo.parent / "OUT").exists()


def test_build_at_an_unknown_revision_is_an_error(repo: Path) -> None:
    result = run_modelcards("build", "--no-site", "--at", "nosuchtag", "--out", "old", cwd=repo)
    assert result.returncode == 2
    assert "nosuchtag" in result.stderr and "Traceback" not in result.stderr
    assert not (repo / "old").exists()


def test_work_tree_changes_without_git_status(tmp_path: Path) -> None:
    """What `git status` would say, decided without running a filter: edits, touches, LFS."""
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q")
    (root / "same.txt").write_text("same\n")
    (root / "edited.txt").write_text("before\n")
    (root / "gone.txt").write_text("x\n")
    (root / "staged.txt").write_text("one\n")
    weights = os.urandom(4096)
    import hashlib

    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{hashlib.sha256(weights).hexdigest()}\nsize {len(weights)}\n"
    )
    (root / "model.bin").write_text(pointer)  # committed as the pointer, as LFS stores it
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    (root / "model.bin").write_bytes(weights)  # smudged: the real content
    (root / "edited.txt").write_text("after\n")
    (root / "gone.txt").unlink()
    (root / "staged.txt").write_text("two\n")
    git(root, "add", "staged.txt")
    (root / "new.txt").write_text("new\n")
    (root / ".gitignore").write_text("ignored.txt\n")
    (root / "ignored.txt").write_text("x\n")
    os.utime(root / "same.txt", (1, 1))  # touched, content unchanged

    repo = open_git_cli(root)
    head = resolve_commit(repo, "HEAD")
    changes = work_tree_changes(repo, head)
    assert changes.tracked == {"edited.txt", "gone.txt", "staged.txt"}
    assert changes.untracked == {"new.txt", ".gitignore"}

    (root / "model.bin").write_bytes(weights[:-1] + b"!")  # the smudged file really changed
    assert "model.bin" in work_tree_changes(repo, head).tracked
