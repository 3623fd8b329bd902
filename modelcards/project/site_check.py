"""`check` of the site's sources, when they are kept in the project: is every page what build
would write from the cards as they are, and did no hand edit one?"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelcards.project.config import ProjectConfig
from modelcards.project.state import previous_output
from modelcards.render.fingerprint import read_site_marker, site_inputs, site_outputs
from modelcards.safeio.textfile import real_path

if TYPE_CHECKING:
    from modelcards.project.check import Problem

REBUILD = "run `modelcards build` and commit the result"


def check_site(
    config: ProjectConfig, templates: str, cards: list[tuple[str, str, str]]
) -> list[Problem]:
    """The site's sources, when they are kept in the project (a site folder that exists)."""
    from modelcards.project.check import Problem  # check imports this module

    folder = config.root / config.site.dir
    if not config.site.enabled or not folder.is_dir():
        return []
    from modelcards.publish.site import MARKER, site_settings

    marker_file = f"{config.site.dir}/{MARKER}"
    recorded = read_site_marker(previous_output(config, folder / MARKER) or "")
    if recorded is None:
        return [
            Problem(
                None,
                marker_file,
                f"the site folder has no modelcards marker; {REBUILD}",
                kind="site",
            )
        ]
    if site_inputs(site_settings(config), templates, cards) != recorded[0]:
        return [
            Problem(None, marker_file, f"the site is older than the cards; {REBUILD}", kind="site")
        ]
    real_root = real_path(config.root)
    files = {
        rel: previous_output(config, config.root / rel, real_root) or ""
        for rel in site_sources(config)
    }
    if site_outputs(files) != recorded[1]:
        return [
            Problem(
                None,
                marker_file,
                f"site pages were edited or removed by hand; {REBUILD}",
                kind="site",
            )
        ]
    return []


def site_sources(config: ProjectConfig) -> list[str]:
    """Project-relative paths of the files in the site's source folder but its marker — what
    `folder.rglob("*")` and `is_file()` list, walked as strings (thousands of pages)."""
    from modelcards.project.record import RECORD
    from modelcards.publish.site import MARKER

    top = config.root / config.site.dir
    found = []
    for current, _dirs, names in os.walk(top):  # symlinked folders are listed, not entered
        for name in names:
            full = os.path.join(current, name)
            if name not in (MARKER, RECORD) and os.path.isfile(full):
                found.append(Path(os.path.relpath(full, config.root)).as_posix())
    return sorted(found)
