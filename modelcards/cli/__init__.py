"""The command line: thin commands over `project/` and the stages. `app.py` holds the group and
what every command shares; the commands live in `models.py` (model files), `project.py`,
`site.py` and `signing.py`."""

from modelcards.cli import models, project, signing, site  # noqa: F401 - importing them registers the commands
from modelcards.cli.app import cli, main

__all__ = ["cli", "main"]
