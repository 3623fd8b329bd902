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


def read_project_text(
    path: Path, *, root: Path, file: str, max_bytes: int, error: type[ModelcardsError]
) -> str | None:
    """The UTF-8 text at `path`, or None when there is no such file; `error` naming `file` when
    it resolves outside `root`, is not a regular file, is larger than `max_bytes` or not UTF-8."""
    if not os.path.lexists(path):
        return None
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        raise error("cannot be resolved (a symlink loop?)", file=file) from None
    if not real.is_relative_to(root.resolve()):
        raise error("is a symlink to a file outside the project: not read", file=file)
    try:
        fd = os.open(real, os.O_RDONLY | _NONBLOCK)
    except OSError as exc:
        raise error(f"cannot open: {exc.strerror or exc}", file=file) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # (a folder cannot even be wrapped in a file)
        os.close(fd)
        raise error("is not a regular file", file=file)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"larger than {max_bytes:,} bytes", file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", file=file) from None
