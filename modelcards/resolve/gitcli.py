"""The project's git repository through plain `git` processes, without GitPython.

A card's history and `check` ask git a few questions (the log, tags, trees, the index, the
remotes, a few small blobs): each is one `git` process, and importing GitPython for them cost
every `check` about a quarter of a second. `GitCli` answers them with the calls shaped as
GitPython's (`repo.git.ls_files(...)` runs `git ls-files ...` and returns its output as text,
one final newline dropped), run as GitPython runs them: from the work tree's top, stdin closed,
C locale, in the safe environment below. GitPython stays for reading the files of a revision
(`gitrepo.py`: `git:REF:PATH`, `build --at`, the release-to-release diffs).
"""

from __future__ import annotations

import os
import re
import subprocess
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from modelcards.safeio.errors import ResolveError

if TYPE_CHECKING:
    from git import Repo

_SAFE_CONFIG = (  # what a repository's config could make git run for the commands we call
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("log.showSignature", "false"),  # else `git log` runs gpg.program on a signed commit
    ("diff.external", ""),
)
_HEX40 = re.compile(r"[0-9a-f]{40}")


def safe_git_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment additions that switch off hooks and fsmonitor for every git command.

    Uses GIT_CONFIG_COUNT (git >= 2.31), appending after any entries the user already set.
    """
    env = os.environ if base is None else base
    try:
        start = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        start = 0
    extra: dict[str, str] = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # read-only commands never take the index lock
        "GIT_NO_LAZY_FETCH": "1",  # a partial clone must not fetch missing objects (git >= 2.44)
        "GIT_NO_REPLACE_OBJECTS": "1",  # the commits that are there, not `git replace` stand-ins
        "GIT_CONFIG_COUNT": str(start + len(_SAFE_CONFIG)),
    }
    for index, (key, value) in enumerate(_SAFE_CONFIG, start=start):
        extra[f"GIT_CONFIG_KEY_{index}"] = key
        extra[f"GIT_CONFIG_VALUE_{index}"] = value
    return extra


class GitFailed(ResolveError):
    """A git command exited with an error."""


@dataclass(frozen=True)
class GitRemote:
    name: str
    urls: tuple[str, ...]


class GitCommands:
    """`commands.rev_list("HEAD")` runs `git rev-list HEAD` and returns its output."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.env = {**os.environ, **safe_git_environment(), "LANGUAGE": "C", "LC_ALL": "C"}

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            capture_output=True, check=False,
        )  # fmt: skip
        return self.output(args, done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> Started:
        """`git ARGS` started now, its output collected by `Started.result()`: a long listing
        runs beside the Python work that does not need it yet."""
        return Started(self, args)

    def output(self, args: tuple[str, ...], code: int, stdout: bytes, stderr: bytes) -> str:
        if code != 0:
            why = stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitFailed(
                f"`git {args[0]}` failed: {why[-1] if why else f'exit code {code}'}",
                file=self.cwd,
            )
        out = stdout.decode("utf-8", "surrogateescape")
        return out[:-1] if out.endswith("\n") else out

    def __getattr__(self, name: str) -> Callable[..., str]:
        if name.startswith("_"):
            raise AttributeError(name)
        command = name.replace("_", "-")
        return lambda *args: self.run(command, *args)


class Started:
    """A git process running in the background, writing to unnamed temporary files (a pipe
    would stop it once full, until read)."""

    def __init__(self, commands: GitCommands, args: tuple[str, ...]) -> None:
        self.commands, self.args = commands, args
        # closed by `result()`, or by the finalizer when never asked
        self._out, self._err = _unnamed_file(), _unnamed_file()
        self.process = subprocess.Popen(
            ["git", *args], cwd=commands.cwd, env=commands.env, stdin=subprocess.DEVNULL,
            stdout=self._out, stderr=self._err,
        )  # fmt: skip
        weakref.finalize(self, _stop, self.process, self._out, self._err)

    def result(self) -> str:
        """Its output, as `GitCommands.run` gives it (and the same error on a failure)."""
        code = self.process.wait()
        outputs = []
        for stream in (self._out, self._err):
            stream.seek(0)
            outputs.append(stream.read())
            stream.close()
        return self.commands.output(self.args, code, *outputs)


def _unnamed_file() -> IO[bytes]:
    """A file with no name for a background git's output: O_TMPFILE where the kernel has it,
    so `check` does not import tempfile (and shutil) for it; else tempfile's."""
    try:
        fd = os.open(os.environ.get("TMPDIR") or "/tmp", os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # not Linux, or a file system without it
        import tempfile

        return tempfile.TemporaryFile()
    return os.fdopen(fd, "w+b")


class _BlobReader:
    """One `git cat-file --batch` process for the small blobs asked for one by one."""

    def __init__(self, commands: GitCommands) -> None:
        self.commands = commands
        self.process: subprocess.Popen[bytes] | None = None

    def read(self, blob: str, max_bytes: int) -> bytes:
        """The blob's bytes, or b"" when it is missing or larger than `max_bytes` (a large
        blob is never read: the process is stopped instead, and started again if asked)."""
        if not _HEX40.fullmatch(blob):
            return b""
        if self.process is None:
            self.process = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.commands.cwd, env=self.commands.env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            weakref.finalize(self, _stop, self.process)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(blob.encode() + b"\n")
        self.process.stdin.flush()
        header = self.process.stdout.readline().split()
        if len(header) != 3 or not header[2].isdigit():
            if len(header) == 2 and header[1] == b"missing":
                return b""
            self.close()
            raise GitFailed("`git cat-file --batch` gave an unexpected answer", file=blob)
        size = int(header[2])
        if size > max_bytes:
            self.close()
            return b""
        data = self.process.stdout.read(size + 1)[:size]  # the blob, then a newline
        return data if len(data) == size else b""

    def close(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


def _stop(process: subprocess.Popen[bytes], *files: IO[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    for stream in (process.stdin, process.stdout, *files):
        if stream is not None:
            stream.close()


class GitCli:
    """A repository found from a folder in it, as git itself finds it."""

    def __init__(self, working_tree_dir: str | None, git_dir: str, common_dir: str) -> None:
        self.working_tree_dir = working_tree_dir  # None for a bare repository
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.git = GitCommands(working_tree_dir or git_dir)
        self._blobs = _BlobReader(self.git)
        self._objects: Repo | None = None

    @property
    def remotes(self) -> list[GitRemote]:
        """In the order of the config files (as GitPython lists them; `git remote` sorts)."""
        try:
            keys = self.git.config("-z", "--name-only", "--get-regexp", r"^remote\.")
        except GitFailed:  # exit code 1: no remote
            return []
        names = list(
            dict.fromkeys(k[len("remote.") :].rpartition(".")[0] for k in keys.split("\0") if k)
        )
        return [
            GitRemote(n, tuple(self.git.remote("get-url", "--all", n).split("\n"))) for n in names
        ]

    def small_blob(self, blob: str, max_bytes: int) -> bytes:
        """A blob of at most `max_bytes` (a Git-LFS pointer); b"" for a larger or missing one."""
        return self._blobs.read(blob, max_bytes)

    def object_store(self) -> Repo:
        """GitPython's handle on this repository, opened on first use: reading the files of a
        revision (`gitrepo.GitSnapshot`) needs it, nothing else here does."""
        if self._objects is None:
            from modelcards.resolve.gitrepo import open_git_repository

            self._objects = open_git_repository(Path(self.working_tree_dir or self.git_dir))
        return self._objects


def open_git_cli(folder: Path) -> GitCli:
    """The git repository holding `folder`."""
    if not folder.is_dir():
        raise ResolveError("not a git repository (or any parent folder)", file=str(folder))
    finder = GitCommands(str(folder))
    asked = ("rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir")
    try:
        git_dir, common_dir, top = finder.run(*asked, "--show-toplevel").split("\n")
    except GitFailed:
        try:  # a bare repository has no top
            git_dir, common_dir = finder.run(*asked, "--is-bare-repository").split("\n")[:2]
        except (GitFailed, ValueError):
            raise ResolveError(
                "not a git repository (or any parent folder)", file=str(folder)
            ) from None
        top = ""
    return GitCli(top or None, git_dir, common_dir)


def resolve_commit(repo: GitCli, ref: str) -> str:
    """The commit sha `ref` names; a ref is never read as an option (`--output=…`)."""
    return commit_named(ref, repo.git.rev_parse, repo.common_dir, (GitFailed,))


def commit_named(
    ref: str,
    rev_parse: Callable[..., str],
    common_dir: str,
    failures: tuple[type[Exception], ...],
) -> str:
    """`git rev-parse --verify` of `ref` as a commit, through either handle (this one or
    GitPython's), with one error for an unknown revision; `failures`: what the handle raises."""
    if ref.startswith("-") or any(ord(c) < 32 for c in ref):
        raise ResolveError("not a valid git revision", file=ref)
    try:
        sha = rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
    except failures:
        hint = ""
        if (Path(common_dir) / "shallow").exists():
            hint = (
                "; this is a shallow clone, so older commits may be missing "
                "(git fetch --unshallow, or fetch-depth: 0 in CI)"
            )
        raise ResolveError(
            f"unknown git revision (no such branch, tag or commit){hint}", file=ref
        ) from None
    except ValueError as exc:
        raise ResolveError(f"unknown git revision: {exc}", file=ref) from None
    if not _HEX40.fullmatch(sha):
        raise ResolveError(f"git rev-parse gave an unexpected answer {sha!r}", file=ref)
    return sha
