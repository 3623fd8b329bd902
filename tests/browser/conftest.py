"""A real browser on the built audit site: Debian's chromium driven by Playwright.

The site is served from a local http.server on 127.0.0.1 (a random port), or opened as plain
files (`file://`). Chromium is the system one (`/usr/bin/chromium`, or $MODELCARDS_CHROMIUM);
Playwright's own browser downloads are never used. Every request to anywhere else is refused:
the site needs no network (its lineage graph is drawn as SVG at build time). Without chromium
the tests are skipped, saying so.
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
# Every uncaught error is recorded.
INIT_SCRIPT = """
(() => {
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


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, example_repo: Path) -> Path:
    """The example project with a hostile README and two risks, built."""
    from modelcards.project.build import render_project
    from modelcards.project.config import load_config
    from modelcards.publish.mkdocs_build import build_site
    from modelcards.publish.site import site_pages, write_site
    from modelcards.render import make_environment

    repo = tmp_path_factory.mktemp("browser") / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    readme = repo / "models/chat-tuned/README.md"
    readme.write_text(readme.read_text() + HOSTILE_PROSE)
    config = load_config(repo)
    models = render_project(config)
    models = [dataclasses.replace(models[0], context={**models[0].context, "risks": RISKS}),
              *models[1:]]  # fmt: skip
    write_site(config, site_pages(config, models, make_environment(config.templates)))
    return build_site(config).output


base_url_folder: list[str] = []  # the built site's folder, for file:// visits


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    base_url_folder[:] = [str(site)]
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
        context.route("**/*", _only_this_machine)
        yield context
        context.close()


def _only_this_machine(route: Any) -> None:
    """The network is blocked: only the local test server and local files answer."""
    if route.request.url.startswith(("http://127.0.0.1:", "file://", "data:")):
        route.continue_()
    else:
        route.abort()


@dataclasses.dataclass
class Visit:
    page: Any
    console_errors: list[str]
    dialogs: list[str]


@pytest.fixture
def open_page(browser_context: Any, base_url: str) -> Iterator[Any]:
    """open_page("models/x/index.html") → a Visit with the page served and loaded, its errors
    recorded; open_page(path, files=True) opens the built file itself (file://)."""
    pages: list[Any] = []
    site_folder = Path(base_url_folder[0]) if base_url_folder else None

    def visit(path: str, *, files: bool = False) -> Visit:
        page = browser_context.new_page()
        pages.append(page)
        errors: list[str] = []
        dialogs: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # a request the page itself gave up (navigation, a worker ended) is not a failure
        page.on(
            "requestfailed",
            lambda r: (
                None
                if "ERR_ABORTED" in (r.failure or "")
                else errors.append(f"request failed: {r.url} ({r.failure})")
            ),
        )

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        url = (site_folder / (path or "index.html")).as_uri() if files and site_folder else None
        page.goto(url or base_url + path, wait_until="load")
        return Visit(page, errors, dialogs)

    yield visit
    for page in pages:
        page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
