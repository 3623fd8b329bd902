"""One error base for the whole tool, one subclass per pipeline stage.

The CLI turns any `ModelcardsError` into a single line on stderr and exit code 2; anything
else escaping is a bug. Messages name the file (and key) first, then what is wrong.
"""

from __future__ import annotations


class ModelcardsError(Exception):
    """A problem with the user's input that the user can fix."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file = file
        self.reason = message
        super().__init__(f"{file}: {message}" if file else message)


class ConfigError(ModelcardsError):
    """`modelcards.yml` or `[tool.modelcards]` is missing, malformed or has an unknown key."""


class ResolveError(ModelcardsError):
    """A model reference cannot be turned into a readable snapshot."""


class InspectError(ModelcardsError):
    """A model file exists but cannot be read safely (malformed JSON, bad header, too large)."""


class RenderError(ModelcardsError):
    """A template failed to render (missing variable, sandbox violation, bad user template)."""


class PublishError(ModelcardsError):
    """Writing the site or running mkdocs failed."""


class AssessError(ModelcardsError):
    """A risk scan was asked for something it cannot do (no such path, bad limits)."""


class UsageError(ModelcardsError):
    """Arguments that do not go together (an API call, like a command line, is checked first)."""
