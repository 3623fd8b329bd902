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


def test_project_docs_build_strictly_with_the_example_site(tmp_path: Path) -> None:
    import os
    import subprocess

    out = tmp_path / "docs-site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(out)],
        capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    gallery = (out / "gallery/index.html").read_text()
    assert '<a href="../example-site/">open the example site</a>' in gallery
    example = out / "example-site"
    assert 'href="models/chat-tuned/index.html"' in (example / "index.html").read_text()
    report = (example / "models/chat-tuned/report.html").read_text()
    assert '<h2 id="risks">' in report and "The chat template changed" in report
