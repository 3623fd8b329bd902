"""docs/gallery.md is what docs/gen_gallery.py writes from the bundled example today."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gallery_page_is_current() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from gen_gallery import gallery
    finally:
        sys.path.remove(str(ROOT / "docs"))
    page = gallery()
    assert "vocabulary size 320 → 322 (+2 tokens)" in page and '"modelParameters"' in page
    assert (ROOT / "docs" / "gallery.md").read_text() == page, "run python docs/gen_gallery.py"


def test_rule_pages_are_current() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from gen_rules import rule_pages
    finally:
        sys.path.remove(str(ROOT / "docs"))
    pages = rule_pages()
    on_disk = {p.name: p.read_text() for p in (ROOT / "docs" / "rules").glob("*.md")}
    assert on_disk == pages, "run python docs/gen_rules.py"
    assert "MC101.md" in pages and "[MC702](MC702.md)" in pages["index.md"]
