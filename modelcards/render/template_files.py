"""Which template files there are, checked, without Jinja2: the fingerprints of `check` hash
them, and `check` must not pay for loading a template engine it does not use."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modelcards.safeio.errors import RenderError


def builtin_templates() -> Path:
    """The default templates: inside the installed package, or the repo's top-level folder."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "card.md.j2").is_file():
            return candidate
    raise RenderError("the default templates are missing from this installation")


MAX_TEMPLATE_BYTES = 1024 * 1024


def _checked(folder: Path, path: Path) -> Path:
    """`path` if it is a regular file inside `folder` once resolved, else a RenderError."""
    real = path.resolve()
    try:
        info = os.stat(real)
    except OSError as exc:
        raise RenderError(f"template cannot be read: {exc.strerror}", file=str(path)) from None
    if not real.is_relative_to(folder.resolve()) or not stat.S_ISREG(info.st_mode):
        raise RenderError(
            f"a template must be a regular file inside {folder.name}/ (this one resolves to "
            "a path outside it, or is not a file)",
            file=str(path),
        )
    if info.st_size > MAX_TEMPLATE_BYTES:
        raise RenderError(f"template larger than {MAX_TEMPLATE_BYTES:,} bytes", file=str(path))
    return real


def template_files(folder: Path) -> list[tuple[str, Path]]:
    """(relative path, checked path) of every template under a project's folder, sorted; a
    symlink out of the folder, a FIFO or a device is an error naming it."""
    found: list[tuple[str, Path]] = []
    for current, dirs, files in os.walk(folder):  # symlinked folders are listed, not entered
        here = Path(current)
        for name in dirs:
            if (here / name).is_symlink():
                raise RenderError(
                    "a templates folder must not hold symlinked folders", file=str(here / name)
                )
        for name in files:
            path = here / name
            found.append((path.relative_to(folder).as_posix(), _checked(folder, path)))
    return sorted(found)


__all__ = ["MAX_TEMPLATE_BYTES", "_checked", "builtin_templates", "template_files"]
