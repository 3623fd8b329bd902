"""The audit site in a real browser: lists, search, risks, diff, releases, lineage, no script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WAIT = 20_000  # ms: upper bound for the page to finish rendering, not a measured expectation


def test_home_lists_the_models(open_page: Any, artifacts: Path) -> None:
    visit = open_page("")
    table = visit.page.locator("article table").first
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    text = table.inner_text()
    assert "chat-tuned" in text and "chat-lora" in text and "acme/tiny-llama-base" in text
    assert visit.page.locator("span.mc-badge.mc-high").first.inner_text() == "1 high"
    link = table.get_by_role("link", name="chat-tuned", exact=True)
    assert link.get_attribute("href") == "models/chat-tuned/index.html"
    visit.page.wait_for_selector("div.mc-graph svg.mc-lineage", timeout=WAIT)
    visit.page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    assert visit.console_errors == [] and visit.dialogs == []


def test_home_table_sorts_by_the_clicked_column(open_page: Any) -> None:
    visit = open_page("")
    table = visit.page.locator("article table").first

    def names() -> list[str]:
        return [row.locator("td").first.inner_text() for row in table.locator("tbody tr").all()]

    by_name = table.locator("th", has_text="Model")
    by_name.click()
    assert names() == ["chat-lora", "chat-tuned"]
    assert by_name.get_attribute("aria-sort") == "ascending"
    by_name.click()
    assert names() == ["chat-tuned", "chat-lora"]
    findings = table.locator("th", has_text="Findings")
    findings.click()  # ascending: fewest and mildest findings first
    assert names() == ["chat-lora", "chat-tuned"]  # chat-tuned has the one high finding
    findings.press("Enter")
    assert names() == ["chat-tuned", "chat-lora"]
    assert visit.console_errors == []


def test_lineage_graph_renders_as_svg(open_page: Any) -> None:
    visit = open_page("")
    svg = visit.page.wait_for_selector("div.mc-graph svg.mc-lineage", timeout=WAIT)
    labels = svg.text_content() or ""
    assert "acme/tiny-llama-base" in labels and "chat-lora" in labels and "adapter" in labels
    box = svg.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 50  # drawn, not collapsed
    visit.page.locator("svg.mc-lineage a").first.click()  # a node opens its model's card
    visit.page.wait_for_url("**/models/*/index.html")
    assert visit.console_errors == []


def test_the_site_works_as_plain_files_with_no_network(open_page: Any) -> None:
    """Opened from file:// (an artifact, a zip): links open pages, not folder listings; the
    graph is there; search says it needs a server instead of silently finding nothing."""
    visit = open_page("index.html", files=True)
    assert visit.page.url.startswith("file://")
    visit.page.locator("article table a", has_text="chat-tuned").first.click()
    visit.page.wait_for_url("**/models/chat-tuned/index.html")
    assert visit.page.locator("h1").first.inner_text().startswith("chat-tuned")
    visit.page.get_by_role("link", name="audit report").first.click()
    visit.page.wait_for_url("**/models/chat-tuned/report.html*")
    assert visit.page.locator("h2#risks").count() == 1
    home = open_page("index.html", files=True)
    assert home.page.locator("svg.mc-lineage").count() == 1
    search = home.page.locator("input.md-search__input")
    assert search.is_disabled() and "modelcards serve" in (
        search.get_attribute("placeholder") or ""
    )
    elsewhere = [
        e
        for e in visit.console_errors + home.console_errors
        if e.startswith("request failed:") and not e.startswith("request failed: file://")
    ]
    assert elsewhere == []  # nothing tried to reach another machine


def test_search_finds_a_model_by_name(open_page: Any) -> None:
    visit = open_page("")
    visit.page.locator("input.md-search__input").click()
    visit.page.locator("input.md-search__input").press_sequentially("chat-lora")
    # results update as the index answers each keystroke: wait for the one naming the model
    hit = visit.page.locator("li.md-search-result__item", has_text="chat-lora").first
    hit.wait_for(timeout=WAIT)
    href = hit.locator("a").first.get_attribute("href") or ""
    assert "/models/chat-lora/index.html" in href
    assert visit.console_errors == []


def test_model_page_shows_its_risks_and_diff(open_page: Any, artifacts: Path) -> None:
    card = open_page("models/chat-tuned/index.html")
    assert card.page.locator("h1").first.inner_text().startswith("chat-tuned")
    card.page.screenshot(path=str(artifacts / "model.png"), full_page=True)
    # the page's own "Known risks" section links to the report (the table of contents, which
    # lists the section itself, comes first on the page)
    card.page.locator("article a[href$='report.html#risks']").first.click()
    card.page.wait_for_url("**/models/chat-tuned/report.html#risks")
    register = card.page.locator("xpath=//h2[@id='risks']/following::table[1]").inner_text()
    assert "MC101" in register and "review the code before use" in register
    assert "auto_map loads modeling code <script>alert('risk')</script>" in register
    assert "waived: evaluated in ticket 42 (owner ml-team)" in register
    card.page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    diff = open_page("models/chat-tuned/report.html")
    text = diff.page.locator("article").inner_text()
    assert "vocabulary size 320 → 322 (+2 tokens)" in text
    assert "The chat template changed" in text and "<|im_start|>" in text
    assert card.console_errors == [] and diff.console_errors == []


def test_release_page_exists(open_page: Any) -> None:
    visit = open_page("models/chat-tuned/report.html")
    visit.page.get_by_role("link", name="chat-tuned/v1.0").click()
    visit.page.wait_for_url("**/releases/chat-tuned-v1-0.html")
    assert "fine-tune chat-tuned on support chats" in visit.page.locator("article").inner_text()
    assert visit.console_errors == []


def test_training_charts_load(open_page: Any) -> None:
    visit = open_page("models/chat-tuned/report.html")
    for image in visit.page.locator("img.mc-chart").all():
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert visit.page.locator("img.mc-chart").count() == 2
    assert visit.console_errors == []


def test_hostile_readme_shows_as_text_and_runs_nothing(open_page: Any) -> None:
    visit = open_page("models/chat-tuned/index.html")
    visit.page.wait_for_load_state("networkidle")
    article = visit.page.locator("article").inner_text()
    assert "<script>window.__pwned = 'script'; alert('script')</script>" in article
    assert "<img src=x onerror=" in article
    assert visit.page.evaluate("() => window.__pwned") is None
    assert visit.page.locator("article script, article img[onerror]").count() == 0
    assert visit.dialogs == []
    assert visit.page.evaluate("() => window.__errors") == []
    assert visit.console_errors == []


def test_print_view_hides_chrome_and_keeps_tables_whole(open_page: Any, artifacts: Path) -> None:
    visit = open_page("models/chat-tuned/report.html")
    visit.page.emulate_media(media="print")
    for selector in (".md-header", ".md-sidebar--secondary", ".mc-subnav"):
        assert not visit.page.locator(selector).first.is_visible(), selector
    table = visit.page.locator("xpath=//h2[@id='provenance']/following::table[2]")  # files + hashes
    assert table.is_visible()
    article_width = visit.page.locator("article").evaluate("a => a.clientWidth")
    assert table.evaluate("t => t.scrollWidth") <= article_width + 1  # nothing cut at the edge
    visit.page.screenshot(path=str(artifacts / "print.png"), full_page=True)
