"""A model's site pages taken from the last build when nothing they are made of changed.

A model's pages are a function of its card, card.json and heatmap, its folder name, the site
templates and the site folder: `pages_key` digests exactly those. The last build recorded, per
model, that key and the digest of each page it wrote; when the key is the same and the pages on
disk still have those digests, their text is read back instead of rendered again, which for a
fleet is most of the cost of a build where one model changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from modelcards.publish.code_digest import code_digest
from modelcards.render import RenderedModel
from modelcards.render.fingerprint import text_sha256
from modelcards.safeio.textfile import written_text

__all__ = ["PAGES_RECORD", "pages_key", "pages_record", "recorded_pages"]

PAGES_RECORD = ".modelcards-pages.json"  # in the site folder, beside mkdocs.yml
RECORD_FORMAT = "modelcards site pages 1"
MAX_PAGE_BYTES = 64 * 1024 * 1024


def previous_texts(root: Path, paths: list[str]) -> dict[str, str] | None:
    """The files the last build wrote at `paths`, or None when one is absent or not one it could
    have written (a link, a FIFO, too large, not UTF-8, in a folder that leads out of the
    project): then the pages are rendered again. Each folder is resolved once, not each file."""
    real_root = root.resolve()
    inside: dict[Path, bool] = {}
    texts = {}
    for relative in paths:
        path = root / relative
        if path.parent not in inside:
            inside[path.parent] = path.parent.resolve().is_relative_to(real_root)
        if not inside[path.parent]:
            return None
        text = written_text(path, MAX_PAGE_BYTES)
        if text is None:
            return None
        texts[relative] = text
    return texts


def pages_key(model: RenderedModel, slug: str, templates: str, site_dir: str) -> str:
    """What a model's pages are made of (its context is card.json read back: render_model makes
    a RenderedModel so, and card.json stands for it here)."""
    digest = hashlib.sha256()
    for part in (RECORD_FORMAT, code_digest(), templates, site_dir, slug, model.card,
                 model.card_json, model.heatmap):  # fmt: skip
        if part is None:
            digest.update(b"none;")
        else:
            data = part.encode("utf-8", "surrogatepass")
            digest.update(f"{len(data)}:".encode() + data)
    return digest.hexdigest()


def pages_record(
    keys: Mapping[str, str], pages: Mapping[str, Mapping[str, str]], known: Mapping[str, str]
) -> str:
    """The record to write: per model folder, its key and its pages' digests (`known`: those
    of the pages read back, checked against the last record)."""
    record = {
        slug: {
            "key": keys[slug],
            "pages": {p: known.get(p) or text_sha256(t) for p, t in sorted(files.items())},
        }
        for slug, files in sorted(pages.items())
    }
    return json.dumps({"format": RECORD_FORMAT, "models": record}, indent=1, sort_keys=True) + "\n"


def recorded_pages(
    root: Path, site_dir: str, keys: Mapping[str, str], known: dict[str, str]
) -> dict[str, dict[str, str]]:
    """slug → the pages the last build wrote for it (project-relative path → text), for every
    model whose key is the recorded one and whose pages are on disk as they were written;
    `known` gets each such page's sha256 (checked here: its other users need not hash it)."""
    try:
        texts = previous_texts(root, [f"{site_dir}/{PAGES_RECORD}"])
        record = json.loads(texts[f"{site_dir}/{PAGES_RECORD}"]) if texts else {}
    except ValueError:
        return {}
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return {}
    models = record.get("models")
    if not isinstance(models, dict):
        return {}
    found: dict[str, dict[str, str]] = {}
    for slug, key in keys.items():
        entry = models.get(slug)
        if not isinstance(entry, dict) or entry.get("key") != key:
            continue
        pages = entry.get("pages")
        folder = f"{site_dir}/docs/models/{slug}/"
        if (
            not isinstance(pages, dict)
            or not pages
            or not all(
                isinstance(path, str) and path.startswith(folder) and ".." not in path.split("/")
                for path in pages
            )
        ):
            continue
        texts = previous_texts(root, list(pages))
        if texts is not None and all(text_sha256(texts[p]) == d for p, d in pages.items()):
            found[slug] = texts
            known.update(pages)
    return found
