"""Fixtures for the resolve tests: real model files (JSON configs, a real safetensors file), and
a local Hub endpoint (`FakeHub`, the `hub` fixture) for the real huggingface_hub client.

The server answers the few routes the client uses (model info, resolve with HEAD/GET/Range),
insists on the token, and counts every byte it serves per file. Nothing ever goes to the
internet: huggingface_hub's import-time endpoint is pointed at a dead local port.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from huggingface_hub import constants
from huggingface_hub.utils import close_session
from safetensors.numpy import save_file

LFS_OID = hashlib.sha256(b"pretend these are 5 GB of weights").hexdigest()
LFS_POINTER = (
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{LFS_OID}\nsize 5000000000\n"
).encode()


def write_model(folder: Path, *, hidden: int, vocab: int = 32, lfs_pointer: bool = True) -> None:
    """A small but real model folder: config, tokenizer config, safetensors weights."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "vocab_size": vocab,
        "max_position_embeddings": 128,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"model_max_length": 128, "bos_token": "<s>", "eos_token": "</s>"}) + "\n"
    )
    tensors = {
        "model.embed_tokens.weight": np.arange(vocab * hidden, dtype=np.float32).reshape(
            vocab, hidden
        ),
        "lm_head.weight": np.ones((vocab, hidden), dtype=np.float16),
    }
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if lfs_pointer:
        (folder / "pytorch_model.bin").write_bytes(LFS_POINTER)


@pytest.fixture
def model_writer() -> Callable[..., None]:
    return write_model


# -- a local Hub endpoint ------------------------------------------------------------------

REPO = "org/remote"
COMMIT = "c0ffee" + "0" * 34
TOKEN = "hf_modelcardsTestToken0123456789abcdef"
LFS_SUFFIXES = (".safetensors", ".bin")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class FakeHub:
    files: dict[str, bytes]
    served: Counter[str] = field(default_factory=Counter)  # body bytes sent, per file
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, range
    auth: list[str | None] = field(default_factory=list)
    url: str = ""
    server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        """Shut the server down: from now on nothing answers at `url`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def etag(self, name: str) -> str:
        data = self.files[name]
        if name.endswith(LFS_SUFFIXES):
            return hashlib.sha256(data).hexdigest()
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def info(self) -> dict[str, object]:
        siblings = []
        for name, data in sorted(self.files.items()):
            sibling: dict[str, object] = {
                "rfilename": name,
                "size": len(data),
                "blobId": hashlib.sha1(name.encode()).hexdigest(),
            }
            if name.endswith(LFS_SUFFIXES):
                sibling["size"] = 134
                sibling["lfs"] = {"size": len(data), "sha256": self.etag(name), "pointerSize": 134}
            siblings.append(sibling)
        siblings.append({"rfilename": "../outside.json", "size": 2})  # a hostile listing entry
        return {"id": REPO, "modelId": REPO, "sha": COMMIT, "private": True, "siblings": siblings}


def make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_HEAD(self) -> None:
            self.answer(head=True)

        def do_GET(self) -> None:
            self.answer(head=False)

        def send_error_code(self, status: int, code: str) -> None:
            body = json.dumps({"error": code}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def answer(self, *, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((self.command, path, self.headers.get("Range")))
            hub.auth.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.send_error_code(401, "RepoNotFound")  # private repo, as the Hub does
            api = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path)
            if api:
                repo, revision = api.group(1), api.group(2) or "main"
                if repo != REPO:
                    return self.send_error_code(404, "RepoNotFound")
                if revision not in ("main", COMMIT):
                    return self.send_error_code(404, "RevisionNotFound")
                body = json.dumps(hub.info()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)
                return None
            resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
            if not resolve or resolve.group(1) != REPO:
                return self.send_error_code(404, "RepoNotFound")
            if resolve.group(2) not in ("main", COMMIT):
                return self.send_error_code(404, "RevisionNotFound")
            name = resolve.group(3)
            if name not in hub.files:
                return self.send_error_code(404, "EntryNotFound")
            data = hub.files[name]
            status, body = 200, data
            wanted = self.headers.get("Range")
            if wanted and not head:
                match = _RANGE.fullmatch(wanted)
                assert match, wanted
                start = int(match.group(1))
                stop = min(int(match.group(2) or len(data) - 1), len(data) - 1)
                status, body = 206, data[start : stop + 1]
            self.send_response(status)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha1(name.encode()).hexdigest()}"')
            if name.endswith(LFS_SUFFIXES):
                self.send_header("X-Linked-Etag", f'"{hub.etag(name)}"')
                self.send_header("X-Linked-Size", str(len(data)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{stop}/{len(data)}")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                hub.served[name] += len(body)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)
            return None

    return Handler


@pytest.fixture
def model_files(tmp_path: Path) -> dict[str, bytes]:
    source = tmp_path / "upstream"
    write_model(source, hidden=16, lfs_pointer=False)
    (source / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Remote\n")
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    files["pytorch_model.bin"] = os.urandom(256 * 1024)  # weights that must never be served
    return files


@pytest.fixture
def hub(
    model_files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeHub]:
    state = FakeHub(files=model_files)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    # everything the client could read or write lives under tmp_path
    monkeypatch.setenv("HF_ENDPOINT", state.url)
    # huggingface_hub read HF_ENDPOINT at import time into ENDPOINT and the /resolve/ URL template
    # (hf_hub_url swaps an explicit endpoint in only where the URL starts with ENDPOINT): point
    # both, consistently, at a dead local port, so only an endpoint passed explicitly from the
    # environment reaches the server, and nothing can ever go to huggingface.co.
    dead = "http://127.0.0.1:9"
    monkeypatch.setattr(constants, "ENDPOINT", dead)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    close_session()  # a fresh client, built from this environment
    yield state
    close_session()
    state.stop()
