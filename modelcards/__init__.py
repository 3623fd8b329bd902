"""modelcards: what a fine-tune changed against its base, what that risks, and where it came from.

The Python API (`modelcards.diff`, `scan`, `build`, `check`, `card`, `export`; see
`modelcards.api`) is loaded on first use, so `import modelcards` stays instant: numpy, GitPython
and Jinja2 are imported only by the call that needs them.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

API = ("build", "card", "check", "deep_diff", "diff", "export", "load_project", "scan")

if TYPE_CHECKING:
    from modelcards.api import (  # noqa: F401
        build,
        card,
        check,
        deep_diff,
        diff,
        export,
        load_project,
        scan,
    )


def __getattr__(name: str) -> Any:
    if name in API:
        from modelcards import api

        return getattr(api, name)
    raise AttributeError(f"module 'modelcards' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})


class _Package(types.ModuleType):
    """`modelcards.build` and `modelcards.check` are API functions, though modules of the same
    names exist: loading those modules must not replace the functions on the package (their
    contents stay importable with `from modelcards.build import …`)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
