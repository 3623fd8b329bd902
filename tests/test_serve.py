"""`modelcards serve`: the mkdocs dev server on the generated site, stopped like a user would."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from modelfiles import run_modelcards

modelcards = run_modelcards


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_without_a_built_site_says_what_to_do(repo: Path) -> None:
    result = modelcards("serve", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "modelcards: error: modelcards-site/mkdocs.yml: no generated site yet: "
        "run `modelcards build` first"
    )


def test_serve_serves_the_generated_site(repo: Path) -> None:
    assert modelcards("build", "--quiet", cwd=repo).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "modelcards", "serve", "-a", f"127.0.0.1:{port}",
         "--no-livereload"],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        page = ""
        deadline = time.monotonic() + 120  # a bound for a slow machine, not a measurement
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/models/chat-tuned/") as r:
                    page = r.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert "chat-tuned" in page and "Changes from base" in page, server.poll()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
