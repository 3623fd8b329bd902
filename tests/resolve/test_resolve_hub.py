"""org/name read online through the real huggingface_hub client, against a local Hub endpoint.

The server (`FakeHub` and the `hub` fixture, in conftest.py) answers the few routes the client
uses (model info, resolve with HEAD/GET/Range), insists on the token, and counts every byte it
serves per file: the weights must never leave it, and of a safetensors file only the header.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from conftest import COMMIT, REPO, TOKEN, FakeHub
from huggingface_hub import hf_hub_download

from modelcards.inspect import inspect_snapshot
from modelcards.resolve import HubSnapshot, resolve_reference
from modelcards.safeio.errors import ResolveError


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
