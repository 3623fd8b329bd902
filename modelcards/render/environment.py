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
from modelcards.render.template_files import (  # re-exported: their home before
    _checked,
    builtin_templates,
    template_files,
)
from modelcards.safeio.errors import RenderError

MAX_ROWS = 500
MAX_OUTPUT_CHARS = 16 * 1024 * 1024  # a card or page larger than this is a runaway template


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
