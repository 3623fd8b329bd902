"""modelcards: what a fine-tune changed against its base, what that risks, and where it came from.

The Python API (`modelcards.diff`, `scan`, `build`, `check`, `card`, `export_cyclonedx`,
`sign`, `verify`; see `modelcards.api`) is loaded on first use, so `import modelcards` stays instant: numpy, GitPython
and Jinja2 are imported only by the call that needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

API = (
    "build", "card", "check", "deep_diff", "diff", "export_cyclonedx", "load_project", "scan",
    "sign", "verify",
)  # fmt: skip

if TYPE_CHECKING:
    from modelcards.api import (  # noqa: F401
        build,
        card,
        check,
        deep_diff,
        diff,
        export_cyclonedx,
        load_project,
        scan,
        sign,
        verify,
    )


def __getattr__(name: str) -> Any:
    if name in API:
        from modelcards import api

        return getattr(api, name)
    raise AttributeError(f"module 'modelcards' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
