"""The audit site: Markdown pages + mkdocs.yml for mkdocs-material, then `mkdocs build --strict`.

The site folder belongs to modelcards (a marker file says so); a folder holding anything else is
refused rather than overwritten, and pages of models that left the config are removed.

`pages` writes every file of the site source, from `facts` (what the site adds to a model's
context), `prose` (the card body made inert), `mkdocs_yml` and `assets`; `folder` puts them on
disk; `modelcards.publish.mkdocs_build` turns them into HTML.

The names below load on first use: the pages import the renderer and the rule catalogue, and
`check` (the marker, the site settings) and a record's key (`reuse`) need neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelcards.safeio.lazy import lazy_names

if TYPE_CHECKING:
    from modelcards.publish.site.facts import shard_slugs, slug, unique_slugs
    from modelcards.publish.site.folder import MARKER, check_site_folder, write_site
    from modelcards.publish.site.mkdocs_yml import site_settings
    from modelcards.publish.site.pages import site_pages

__all__ = [
    "MARKER",
    "check_site_folder",
    "shard_slugs",
    "site_pages",
    "site_settings",
    "slug",
    "unique_slugs",
    "write_site",
]

_HOME = {
    "shard_slugs": "modelcards.publish.site.facts",
    "slug": "modelcards.publish.site.facts",
    "unique_slugs": "modelcards.publish.site.facts",
    "MARKER": "modelcards.publish.site.folder",
    "check_site_folder": "modelcards.publish.site.folder",
    "write_site": "modelcards.publish.site.folder",
    "site_settings": "modelcards.publish.site.mkdocs_yml",
    "site_pages": "modelcards.publish.site.pages",
}


__getattr__ = lazy_names(__name__, _HOME)
