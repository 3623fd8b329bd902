"""render: one context per model → README.md (HF card), CHANGES.md and card.json.

The names below load on first use: rendering pulls in Jinja2, and a command that only shows a
diff (`render.diff_view`) should not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcards.safeio.lazy import lazy_names

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


__getattr__ = lazy_names(__name__, _HOME)
