"""The Jinja2 environment: sandboxed, strict about undefined names, escaping by default.

Templates come from the package (`templates/` in the source tree, `modelcards/templates` in the
wheel) and, first, from the project's own override folder. Nothing from a model is ever used as
template source: model data only arrives as values, escaped on output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from modelcards.errors import RenderError
from modelcards.render import escape


def builtin_templates() -> Path:
    """The default templates: inside the installed package, or the repo's top-level folder."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "card.md.j2").is_file():
            return candidate
    raise RenderError("the default templates are missing from this installation")


def make_environment(override: Path | None = None) -> SandboxedEnvironment:
    folders = [str(p) for p in (override, builtin_templates()) if p is not None]
    env = SandboxedEnvironment(
        loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
        undefined=StrictUndefined,
        autoescape=True,  # macro output and our filters' Markup pass; anything else is escaped
        finalize=escape.finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
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
        return env.get_template(name).render(context)
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        raise RenderError(
            f"{exc.message or exc}", file=f"{where}:{line}" if line else where
        ) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        # a project's own template doing what its values do not allow (e.g. `name + 1`)
        raise RenderError(f"template failed: {type(exc).__name__}: {exc}", file=name) from None
