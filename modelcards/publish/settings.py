"""What the publish stage needs of a project: where it is, the site settings, the templates.

`SiteProject` is a protocol the project's configuration satisfies as it is, so this stage never
imports the configuration (the arrows run down: docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from modelcards.assess.policy import Policy
from modelcards.history.keyless import KeylessIdentity


@dataclass(frozen=True)
class SiteConfig:
    enabled: bool = True
    dir: str = "modelcards-site"  # generated Markdown pages and mkdocs.yml
    output: str = "site"  # built HTML, relative to the project root
    title: str = "Model cards"


class SiteModel(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def signing_identity(self) -> KeylessIdentity | None: ...  # checks its signature badge


class SiteProject(Protocol):
    @property
    def root(self) -> Path: ...

    @property
    def file(self) -> str: ...  # the config file, relative to root (for messages)

    @property
    def site(self) -> SiteConfig: ...

    @property
    def templates(self) -> Path | None: ...

    @property
    def policy(self) -> Policy: ...  # its signing_key checks the signature badges

    @property
    def models(self) -> Sequence[SiteModel]: ...
