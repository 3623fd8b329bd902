"""org/name read online through the real huggingface_hub client, against a local Hub endpoint.

The server answers the few routes the client uses (model info, resolve with HEAD/GET/Range),
insists on the token, and counts every byte it serves per file: the weights must never leave it,
and of a safetensors file only the header.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import write_model
from huggingface_hub import constants, hf_hub_download
from huggingface_hub.utils import close_session

from modelcards.errors import ResolveError
from modelcards.inspect import inspect_snapshot
from modelcards.resolve import HubSnapshot, resolve_reference

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
    server.shutdown()
    server.server_close()


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_metadata_small_files_and_headers_only(hub: FakeHub, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    snapshot = resolve_reference(f"{REPO}@main", project_root=project, online=True)

    assert isinstance(snapshot, HubSnapshot)
    assert (
        snapshot.ref.kind,
        snapshot.ref.location,
        snapshot.ref.revision,
        snapshot.ref.hub_id,
    ) == ("hub", REPO, COMMIT, REPO)
    assert [e.path for e in snapshot.files()] == [
        "README.md",
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "tokenizer_config.json",
    ]
    assert snapshot.skipped == [("../outside.json", "unsafe file name in the Hub listing")]
    weights = snapshot.entry("model.safetensors")
    pickle = snapshot.entry("pytorch_model.bin")
    assert weights is not None and pickle is not None
    assert weights.size == len(hub.files["model.safetensors"])
    assert weights.sha256 == hashlib.sha256(hub.files["model.safetensors"]).hexdigest()
    assert (pickle.size, pickle.sha256) == (256 * 1024, hub.etag("pytorch_model.bin"))

    facts = inspect_snapshot(snapshot)
    assert facts.config is not None and facts.config["hidden_size"] == 16
    assert facts.weights.tensors["model.embed_tokens.weight"].shape == (32, 16)
    assert facts.card is not None and facts.card.metadata["license"] == "apache-2.0"
    assert [o.file for o in facts.weights.opaque] == ["pytorch_model.bin"]

    # of the weights, only the 8-byte length and the header it announces left the server
    data = hub.files["model.safetensors"]
    (header_len,) = struct.unpack("<Q", data[:8])
    assert hub.served["model.safetensors"] == 8 + header_len < len(data)
    assert "pytorch_model.bin" not in hub.served
    assert not any(p.endswith("pytorch_model.bin") for _m, p, _r in hub.requests)
    ranges = [r for _m, p, r in hub.requests if p.endswith("model.safetensors")]
    assert ranges == ["bytes=0-7", f"bytes=8-{8 + header_len - 1}"]
    assert hub.served["config.json"] == len(hub.files["config.json"])

    # the tensor data is refused before any request is made
    before = len(hub.requests)
    with pytest.raises(ResolveError, match="never the tensor data"):
        snapshot.read_range("model.safetensors", 8 + header_len, 16)
    with pytest.raises(ResolveError, match="weight files are not downloaded"):
        snapshot.read_range("pytorch_model.bin", 0, 8)
    assert len(hub.requests) == before

    # the token was sent with every request, and written nowhere
    assert hub.auth and all(a == f"Bearer {TOKEN}" for a in hub.auth)
    assert files_containing(tmp_path, TOKEN.encode()) == []
    # nothing landed in the shared cache: a config-only snapshot there would hide the weights
    assert not (tmp_path / "hf-cache" / "models--org--remote").exists()
    snapshot.close()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_hub_is_not_asked_unless_online(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ResolveError, match="pass --online"):
        resolve_reference(REPO, project_root=tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ResolveError, match="HF_HUB_OFFLINE is set"):
        resolve_reference(REPO, project_root=tmp_path, online=True)
    assert hub.requests == []


def test_the_cache_is_used_first(hub: FakeHub, tmp_path: Path) -> None:
    """A cache written by the real client is read offline; the Hub is not asked again."""
    for name in ("config.json", "tokenizer_config.json", "model.safetensors"):
        hf_hub_download(REPO, name, endpoint=hub.url, cache_dir=tmp_path / "hf-cache")
    asked = len(hub.requests)
    snapshot = resolve_reference(REPO, project_root=tmp_path, online=True)
    assert len(hub.requests) == asked
    assert (snapshot.ref.kind, snapshot.ref.revision) == ("hf-cache", COMMIT)
    weights = snapshot.entry("model.safetensors")
    assert weights is not None
    assert weights.sha256 == hashlib.sha256(hub.files["model.safetensors"]).hexdigest()
    assert inspect_snapshot(snapshot).weights.tensors["lm_head.weight"].shape == (32, 16)


def test_hub_errors_are_one_clear_line(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ResolveError, match="no such revision on the Hub") as bad_revision:
        resolve_reference(f"{REPO}@v9", project_root=tmp_path, online=True)
    assert "\n" not in str(bad_revision.value)
    with pytest.raises(ResolveError, match="no such model on the Hub") as missing:
        resolve_reference("org/missing", project_root=tmp_path, online=True)
    assert "no folder" in str(missing.value) and "not in the Hugging Face cache" in str(
        missing.value
    )
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(ResolveError, match="private and no valid token"):
        resolve_reference(REPO, project_root=tmp_path, online=True)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ResolveError, match="cannot reach the Hub at http://127.0.0.1:9"):
        resolve_reference(REPO, project_root=tmp_path, online=True)
