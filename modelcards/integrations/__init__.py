"""Hooks into training libraries; each module imports its library, `import modelcards` never does.

`modelcards.integrations.ModelcardsCallback` is the transformers `TrainerCallback`
(`integrations/transformers.py`), loaded with transformers on first use.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "ModelcardsCallback":
        from modelcards.integrations.transformers import ModelcardsCallback

        return ModelcardsCallback
    raise AttributeError(f"module 'modelcards.integrations' has no attribute {name!r}")
