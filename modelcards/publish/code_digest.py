"""The digest of the code that turns a model into a card and pages (the render and publish
stages), by its bytes, in a module of its own: `check` names it in a record's key without
loading the renderer or the site's page writers, which `publish/site/` would."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from modelcards import __version__


@functools.cache
def code_digest() -> str:
    """The render and publish code, by its bytes: a modelcards that renders pages otherwise
    renders them again."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(__version__.encode())
    for stage in ("render", "publish"):
        for module in sorted((package / stage).rglob("*.py")):
            digest.update(module.relative_to(package).as_posix().encode() + b"\0")
            digest.update(module.read_bytes())
    return digest.hexdigest()
