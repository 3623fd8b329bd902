"""The project's repository through plain git (`resolve/gitcli.py`): the answers the history and
`check` read are GitPython's answers, byte for byte, without importing GitPython."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from modelcards.resolve.gitcli import GitFailed, open_git_cli, resolve_commit
from modelcards.resolve.gitrepo import open_git_repository
from modelcards.resolve.gitrepo import resolve_commit as resolve_with_gitpython
from modelcards.safeio.errors import ResolveError
from modelfiles import git

POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 12345\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gitcli")
    (root / "models/m").mkdir(parents=True)
    (root / "models/m/config.json").write_text('{"a": 1}\n')
    (root / "models/m/weights.bin").write_bytes(POINTER)
    (root / "models/m/big.txt").write_bytes(b"x" * 5000)
    (root / "naïve name.txt").write_text("ü\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "feat: first")
    git(root, "tag", "v1")
    (root / "models/m/config.json").write_text('{"a": 2}\n')
    git(root, "commit", "-qam", "fix: second, with a subject\x1fthat has odd bytes")
    git(root, "remote", "add", "origin", "https://user:token@example.org/repo.git")
    git(root, "remote", "add", "backup", "https://example.org/backup.git")
    (root / "untracked.txt").write_text("new\n")
    return root


@pytest.mark.parametrize(
    "args",
    [
        ("log", "-z", "--format=%x00%H%x00%P%x00%cI%x00%an%x00%s", "--name-only", "--no-renames"),
        ("rev-list", "HEAD"),
        ("for-each-ref", "--format=%(refname:short)%1f%(objectname)", "refs/tags"),
        ("ls-files", "--stage", "--debug", "-z"),
        ("ls-files", "--others", "--exclude-standard", "-z"),
        ("ls-tree", "-r", "-l", "-z", "HEAD"),
    ],
)
def test_commands_answer_as_gitpython_does(repo: Path, args: tuple[str, ...]) -> None:
    ours = open_git_cli(repo / "models")  # found from a folder inside, as GitPython finds it
    theirs = open_git_repository(repo / "models")
    method = args[0].replace("-", "_")
    assert getattr(ours.git, method)(*args[1:]) == getattr(theirs.git, method)(*args[1:])


def test_the_repository_as_gitpython_sees_it(repo: Path) -> None:
    ours, theirs = open_git_cli(repo / "models/m"), open_git_repository(repo / "models/m")
    assert Path(ours.working_tree_dir or "").resolve() == Path(theirs.working_tree_dir).resolve()
    assert Path(ours.git_dir).resolve() == Path(theirs.git_dir).resolve()
    assert Path(ours.common_dir).resolve() == Path(theirs.common_dir).resolve()
    assert [(r.name, r.urls) for r in ours.remotes] == [
        (r.name, tuple(r.urls)) for r in theirs.remotes
    ]
    for ref in ("HEAD", "v1", "main~1"):
        assert resolve_commit(ours, ref) == resolve_with_gitpython(theirs, ref)


def test_unknown_revisions_and_options_are_refused(repo: Path) -> None:
    ours = open_git_cli(repo)
    with pytest.raises(ResolveError, match="unknown git revision"):
        resolve_commit(ours, "nosuchtag")
    with pytest.raises(ResolveError, match="not a valid git revision"):
        resolve_commit(ours, "--output=/tmp/x")
    with pytest.raises(GitFailed, match="`git rev-parse` failed"):
        ours.git.rev_parse("--verify", "nosuchtag")


def test_small_blobs_are_read_and_large_ones_never(repo: Path) -> None:
    ours = open_git_cli(repo)
    blobs = {
        line.split("\t")[1]: line.split()[2] for line in ours.git.ls_tree("-r", "HEAD").splitlines()
    }
    assert ours.small_blob(blobs["models/m/weights.bin"], 1024) == POINTER
    assert ours.small_blob(blobs["models/m/big.txt"], 1024) == b""  # larger than asked: not read
    assert ours.small_blob(blobs["models/m/big.txt"], 10_000) == b"x" * 5000  # a new process
    assert ours.small_blob("0" * 40, 1024) == b""  # missing
    assert ours.small_blob("not a sha", 1024) == b""
    assert ours.small_blob(blobs["models/m/weights.bin"], 1024) == POINTER


def test_no_repository_and_a_bare_one(tmp_path: Path) -> None:
    with pytest.raises(ResolveError, match="not a git repository"):
        open_git_cli(tmp_path / "absent")
    (tmp_path / "plain").mkdir()
    ceiling = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=tmp_path / "plain",
                             capture_output=True, check=False)  # fmt: skip
    if ceiling.returncode == 0:
        pytest.skip("the temporary folder is inside a git repository")
    with pytest.raises(ResolveError, match="not a git repository"):
        open_git_cli(tmp_path / "plain")
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    bare = open_git_cli(tmp_path / "bare.git")
    assert bare.working_tree_dir is None
    assert bare.remotes == []
    assert Path(bare.git_dir).resolve() == (tmp_path / "bare.git").resolve()
