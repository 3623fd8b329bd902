"""Atomic, change-aware writes: a crash never leaves half a file, an unchanged file keeps its mtime."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from modelcards.safeio.errors import PublishError


def _mode_for(path: Path) -> int:
    """The file's own mode when it exists, else what the umask gives a new file."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path, content: str | bytes) -> bool:
    """Write `content` to `path` via a temp file + rename; return False when it was already there."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = _mode_for(path)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, mode)  # mkstemp makes 0600; a card is as readable as any file here
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PublishError(f"cannot write: {exc.strerror or exc}", file=str(path)) from None
    return True
