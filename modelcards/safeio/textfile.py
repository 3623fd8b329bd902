"""Reading a project's own text files (its config, a model's README.md, the outputs of the last
build) as untrusted: bounded, never through a link out of the project, never a FIFO or device.

A README.md that is a symlink to `/proc/self/environ` would otherwise become the card's prose,
and a card.json linked to `/dev/urandom` would hang the build.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modelcards.safeio.errors import ModelcardsError

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open
_O_PATH = getattr(os, "O_PATH", 0)  # Linux: a handle on the path that opens nothing
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def written_text(path: str | Path, max_bytes: int) -> str | None:
    """A file a build wrote itself, as text: None when it is a link, no regular file, larger
    than `max_bytes` or not UTF-8 (the caller then does the work again rather than trust it)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = handle.read(max_bytes + 1)
    try:
        return data.decode("utf-8") if len(data) <= max_bytes else None
    except UnicodeDecodeError:
        return None


def real_path(path: Path) -> Path:
    """`path.resolve()`, asked of the kernel where it can answer (an `O_PATH` handle, which
    opens no FIFO or device, and its name in /proc/self/fd): 12 µs instead of 67 for
    pathlib's walk, which is what a thousand models' cards cost otherwise. A path the kernel
    cannot resolve (dangling, a loop) is resolved by pathlib, with its errors."""
    if _O_PATH:
        try:
            fd = os.open(path, _O_PATH)
        except OSError:
            return path.resolve()
        try:
            real = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            real = ""
        finally:
            os.close(fd)
        if real.startswith("/") and not real.endswith(" (deleted)"):
            return Path(real)
    return path.resolve()


def read_project_text(
    path: Path,
    *,
    root: Path,
    file: str,
    max_bytes: int,
    error: type[ModelcardsError],
    real_root: Path | None = None,
) -> str | None:
    """The UTF-8 text at `path`, or None when there is no such file; `error` naming `file` when
    it resolves outside `root`, is not a regular file, is larger than `max_bytes` or not UTF-8.
    `real_root`: `real_path(root)`, when the caller reads many files of one project."""
    if not os.path.lexists(path):
        return None
    try:
        real = real_path(path)
    except (OSError, RuntimeError):
        raise error("cannot be resolved (a symlink loop?)", file=file) from None
    if not real.is_relative_to(real_root or real_path(root)):
        raise error("is a symlink to a file outside the project: not read", file=file)
    try:
        fd = os.open(real, os.O_RDONLY | _NONBLOCK)
    except OSError as exc:
        raise error(f"cannot open: {exc.strerror or exc}", file=file) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # (a folder cannot even be wrapped in a file)
        os.close(fd)
        raise error("is not a regular file", file=file)
    with os.fdopen(fd, "rb") as handle:
        # a buffer of the file's size, not of the bound (64 MiB allocated per card.json
        # cost a millisecond each); a file grown since fstat is read on, still bounded
        data = handle.read(min(info.st_size, max_bytes) + 1)
        if len(data) <= max_bytes and len(data) == min(info.st_size, max_bytes) + 1:
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise error(f"larger than {max_bytes:,} bytes", file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", file=file) from None
