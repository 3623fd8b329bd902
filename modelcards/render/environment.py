"""The Jinja2 environment: sandboxed, strict about undefined names, escaping by default.

Templates come from the package (`templates/` in the source tree, `modelcards/templates` in the
wheel) and, first, from the project's own override folder. Nothing from a model is ever used as
template source: model data only arrives as values, escaped on output.

A project's template is a regular file inside its templates folder, resolved: a symlink to
`/proc/self/environ` or `/etc/passwd` would otherwise put the build's secrets into a card. What a
template renders is bounded too (`MAX_OUTPUT_CHARS`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from modelcards.render import escape
from modelcards.safeio.errors import RenderError


def builtin_templates() -> Path:
    """The default templates: inside the installed package, or the repo's top-level folder."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "card.md.j2").is_file():
            return candidate
    raise RenderError("the default templates are missing from this installation")


MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_ROWS = 500
MAX_OUTPUT_CHARS = 16 * 1024 * 1024  # a card or page larger than this is a runaway template


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


class ProjectTemplateLoader(BaseLoader):
    """A project's template folder: only regular files inside it, checked when loaded."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.folder.joinpath(*split_template_path(template))
        if not os.path.lexists(path):
            raise TemplateNotFound(template)
        real = _checked(self.folder, path)
        try:
            source = real.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise RenderError("template is not UTF-8 text", file=str(path)) from None
        mtime = real.stat().st_mtime
        return source, str(path), lambda: real.stat().st_mtime == mtime

    def list_templates(self) -> list[str]:
        return [rel for rel, _ in template_files(self.folder)]


def make_environment(override: Path | None = None) -> SandboxedEnvironment:
    loaders: list[BaseLoader] = [ProjectTemplateLoader(override)] if override else []
    loaders.append(FileSystemLoader(str(builtin_templates())))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=True,  # macro output and our filters' Markup pass; anything else is escaped
        finalize=escape.finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["max_rows"] = MAX_ROWS  # a card lists this many files, then says how many more
    env.filters.update(
        md=escape.finalize,
        json=escape.to_json,
        cell=escape.cell,
        code=escape.code,
        codeblock=escape.codeblock,
        number=escape.number,
        size=escape.human_size,
        params=escape.params,
    )
    return env


def render_template(env: SandboxedEnvironment, name: str, context: dict[str, Any]) -> str:
    try:
        chunks: list[str] = []
        size = 0
        for chunk in env.get_template(name).generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise RenderError(
                    f"template output larger than {MAX_OUTPUT_CHARS:,} characters", file=name
                )
            chunks.append(chunk)
        return "".join(chunks)
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        raise RenderError(
            f"{exc.message or exc}", file=f"{where}:{line}" if line else where
        ) from None
    except RecursionError:  # e.g. a template that includes itself
        raise RenderError(
            "template recursion too deep (does it include itself?)", file=name
        ) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        # a project's own template doing what its values do not allow (e.g. `name + 1`)
        raise RenderError(f"template failed: {type(exc).__name__}: {exc}", file=name) from None
