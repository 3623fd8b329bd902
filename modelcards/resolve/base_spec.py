"""A base model as a project names it: where its files are, what the card calls it, at which
revision. Resolution starts from this (`reference`); the config builds it and render shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BaseSpec:
    """A base model: where its files are (`path`), and what the card names it (`id`)."""

    path: str | None = None
    id: str | None = None
    revision: str | None = None

    @property
    def reference(self) -> str:
        """What to resolve: the files' location first, else the Hub id."""
        if self.path:
            return self.path
        assert self.id is not None
        return f"{self.id}@{self.revision}" if self.revision else self.id
