"""render: one context per model → README.md (HF card), CHANGES.md and card.json.

The names below load on first use: rendering pulls in Jinja2, and a command that only shows a
diff (`render.diff_view`) should not pay for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelcards.render.context import ModelInputs, build_context
    from modelcards.render.environment import make_environment
    from modelcards.render.model import RenderedModel, render_model

__all__ = ["ModelInputs", "RenderedModel", "build_context", "make_environment", "render_model"]

_HOME = {
    "ModelInputs": "modelcards.render.context",
    "build_context": "modelcards.render.context",
    "make_environment": "modelcards.render.environment",
    "RenderedModel": "modelcards.render.model",
    "render_model": "modelcards.render.model",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
