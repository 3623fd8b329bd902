"""The audit site: Markdown pages + mkdocs.yml for mkdocs-material, then `mkdocs build --strict`.

The site folder belongs to modelcards (a marker file says so); a folder holding anything else is
refused rather than overwritten, and pages of models that left the config are removed.

`pages` writes every file of the site source, from `facts` (what the site adds to a model's
context), `prose` (the card body made inert), `mkdocs_yml` and `assets`; `folder` puts them on
disk; `modelcards.publish.mkdocs_build` turns them into HTML.
"""

from __future__ import annotations

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
