"""A real browser on the built audit site: Debian's chromium driven by Playwright.

The site is served from a local http.server on 127.0.0.1 (a random port). Chromium is the
system one (`/usr/bin/chromium`, or $MODELCARDS_CHROMIUM); Playwright's own browser downloads
are never used. Mermaid comes from the npm package that `.ci/run` unpacks into
build/mermaid/ (or $MODELCARDS_MERMAID_JS), so the lineage graph renders with no network.
Without chromium or mermaid.min.js the tests are skipped, saying which is missing.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HOSTILE_PROSE = (
    "\n## Notes from upstream\n\n"
    "Upstream says <script>window.__pwned = 'script'; alert('script')</script> and "
    "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\"> here.\n"
)
# Closed shadow roots (mkdocs-material draws Mermaid into one) are opened, so the test can see
# the SVG; every dialog and uncaught error is recorded.
INIT_SCRIPT = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };
  window.__errors = [];
  window.addEventListener("error", (e) => window.__errors.push(String(e.message || e)));
})();
"""
RISKS = [
    {"rule": "MC101", "severity": "high", "file": "config.json",
     "message": "auto_map loads modeling code <script>alert('risk')</script>",
     "evidence": {"key": "auto_map"}, "recommendation": "review the code before use"},
    {"rule": "MC201", "severity": "medium", "file": "tokenizer_config.json",
     "message": "chat template changed", "evidence": {"key": "chat_template"},
     "recommendation": "re-run the safety evaluation",
     "waived": True, "waiver_expired": False,
     "waiver": {"rule": "MC201", "reason": "evaluated in ticket 42", "owner": "ml-team",
                "expires": None}},
]  # fmt: skip


def chromium_path() -> str | None:
    for candidate in (os.environ.get("MODELCARDS_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def mermaid_path() -> Path | None:
    for candidate in (
        os.environ.get("MODELCARDS_MERMAID_JS"),
        ROOT / "build/mermaid/mermaid.min.js",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, example_repo: Path) -> Path:
    """The example project with a hostile README, two risks and a local Mermaid, built."""
    mermaid = mermaid_path()
    if mermaid is None:
        pytest.skip("no mermaid.min.js: .ci/run unpacks it into build/mermaid/ (npm pack mermaid)")
    from modelcards.build import render_project
    from modelcards.config import load_config
    from modelcards.publish.mkdocs_build import build_site
    from modelcards.publish.site import site_pages, write_site
    from modelcards.render import make_environment

    repo = tmp_path_factory.mktemp("browser") / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    (repo / "vendor").mkdir()
    shutil.copy(mermaid, repo / "vendor/mermaid.min.js")
    config_file = repo / "modelcards.yml"
    config_file.write_text(config_file.read_text() + "site:\n  mermaid_js: vendor/mermaid.min.js\n")
    readme = repo / "models/chat-tuned/README.md"
    readme.write_text(readme.read_text() + HOSTILE_PROSE)
    config = load_config(repo)
    models = render_project(config)
    models = [dataclasses.replace(models[0], context={**models[0].context, "risks": RISKS}),
              *models[1:]]  # fmt: skip
    write_site(config, site_pages(config, models, make_environment(config.templates)))
    return build_site(config)


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium: install Debian's `chromium` (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.add_init_script(INIT_SCRIPT)
        yield context
        context.close()


@dataclasses.dataclass
class Visit:
    page: Any
    console_errors: list[str]
    dialogs: list[str]


@pytest.fixture
def open_page(browser_context: Any, base_url: str) -> Iterator[Any]:
    """open_page("models/x/") → a Visit with the page loaded and its errors recorded."""
    pages: list[Any] = []

    def visit(path: str) -> Visit:
        page = browser_context.new_page()
        pages.append(page)
        errors: list[str] = []
        dialogs: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(base_url + path, wait_until="load")
        return Visit(page, errors, dialogs)

    yield visit
    for page in pages:
        page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
