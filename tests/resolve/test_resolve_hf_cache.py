"""org/name[@rev] read offline from a Hugging Face cache laid out as huggingface_hub lays it out."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import write_model
from huggingface_hub import constants

from modelcards.inspect import inspect_snapshot
from modelcards.resolve import HfCacheSnapshot, resolve_base, resolve_reference
from modelcards.safeio.errors import ResolveError

OLD = "1" * 40
NEW = "a" * 40
REPO = "org/name"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def add_snapshot(repo_cache: Path, commit: str, source: Path) -> None:
    """Files as huggingface_hub stores them: blobs named by ETag, relative symlinks to them."""
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = file.relative_to(source)
        data = file.read_bytes()
        lfs = file.suffix in (".safetensors", ".bin")
        etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_id(data)
        blob = repo_cache / "blobs" / etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo_cache / "snapshots" / commit / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "hf-cache"
    repo_cache = root / "models--org--name"
    for commit, hidden in ((OLD, 8), (NEW, 16)):
        source = tmp_path / f"src-{hidden}"
        write_model(source, hidden=hidden, lfs_pointer=False)
        (source / "sub").mkdir()
        (source / "sub" / "chat_template.jinja").write_text("{{ messages }}")
        add_snapshot(repo_cache, commit, source)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(NEW)  # huggingface_hub writes no newline
    (repo_cache / "refs" / "v1").write_text(OLD)
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    # network off, twice over: the environment and the client's own switch (read at import)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    return root


def test_default_branch_and_pinned_revisions(cache: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    plain = resolve_reference(REPO, project_root=project)
    main = resolve_reference(f"{REPO}@main", project_root=project)
    old = resolve_reference(f"{REPO}@{OLD}", project_root=project)
    tag = resolve_reference(f"{REPO}@v1", project_root=project)

    assert isinstance(plain, HfCacheSnapshot)
    assert plain.ref.kind == "hf-cache"
    assert (plain.ref.location, plain.ref.revision, plain.ref.hub_id) == (REPO, NEW, REPO)
    assert main.ref.revision == NEW
    assert old.ref.revision == OLD and tag.ref.revision == OLD
    assert plain.ref.describe() == f"{REPO}@{NEW}"

    assert inspect_snapshot(plain).weights.tensors["lm_head.weight"].shape == (32, 16)
    assert inspect_snapshot(old).weights.tensors["lm_head.weight"].shape == (32, 8)
    assert [e.path for e in old.files()] == [
        "config.json",
        "model.safetensors",
        "sub/chat_template.jinja",
        "tokenizer_config.json",
    ]


def test_sha256_comes_from_lfs_blob_names(cache: Path, tmp_path: Path) -> None:
    snapshot = resolve_reference(f"{REPO}@{OLD}", project_root=tmp_path)
    weights = snapshot.entry("model.safetensors")
    config = snapshot.entry("config.json")
    assert weights is not None and config is not None
    real = (cache / "models--org--name" / "snapshots" / OLD / "model.safetensors").resolve()
    assert weights.sha256 == hashlib.sha256(real.read_bytes()).hexdigest() == real.name
    assert config.sha256 is None  # its blob is named by the git blob id, not a sha256
    assert snapshot.local_file("model.safetensors") == real


def test_symlinks_out_of_the_repo_cache_are_not_followed(cache: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    os.symlink(secret, cache / "models--org--name" / "snapshots" / NEW / "added_tokens.json")
    snapshot = resolve_reference(REPO, project_root=tmp_path)
    assert snapshot.entry("added_tokens.json") is None
    assert isinstance(snapshot, HfCacheSnapshot)
    assert snapshot.skipped == [("added_tokens.json", "symlink pointing outside the model folder")]


def test_hf_home_is_honoured_when_hf_hub_cache_is_unset(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "hf-home"
    home.mkdir()
    (cache).rename(home / "hub")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    snapshot = resolve_reference(REPO, project_root=tmp_path)
    assert snapshot.ref.revision == NEW


def test_a_local_folder_wins_over_a_hub_id(cache: Path, tmp_path: Path) -> None:
    write_model(tmp_path / "org" / "name", hidden=4, lfs_pointer=False)
    snapshot = resolve_reference(REPO, project_root=tmp_path, hub_id="org/upstream")
    assert snapshot.ref.kind == "path"
    assert snapshot.ref.hub_id == "org/upstream"


def test_misses_say_what_was_tried(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(ResolveError) as missing:
        resolve_reference("org/other", project_root=tmp_path)
    message = str(missing.value)
    assert "not in the Hugging Face cache" in message
    assert str(cache) in message
    assert "pass --online" in message
    assert f"no folder {tmp_path / 'org' / 'other'}" in message
    assert sorted(p.name for p in cache.iterdir()) == ["models--org--name"]  # nothing written

    with pytest.raises(ResolveError, match="not in the Hugging Face cache"):
        resolve_reference(f"{REPO}@v2", project_root=tmp_path)
    with pytest.raises(ResolveError, match="HF_HUB_OFFLINE is set"):
        resolve_reference("org/other", project_root=tmp_path, online=True)
    with pytest.raises(ResolveError, match="not a valid Hub revision"):
        resolve_reference(f"{REPO}@../../../etc", project_root=tmp_path)
    # a legacy un-namespaced id (gpt2, roberta-base) is looked up too, not refused
    with pytest.raises(ResolveError, match="not in the Hugging Face cache") as legacy:
        resolve_reference("just-a-name", project_root=tmp_path)
    assert f"no folder {tmp_path / 'just-a-name'}" in str(legacy.value)
    with pytest.raises(ResolveError, match="no such folder"):
        resolve_reference("not/a/hub/id", project_root=tmp_path)


def test_a_partial_snapshot_is_not_taken_for_the_whole_model(cache: Path, tmp_path: Path) -> None:
    """When huggingface_hub's tree listing shows files missing, the cache is not used."""
    repo_cache = cache / "models--org--name"
    listing = {
        "format_version": 1,
        "files": {
            path: {"size": 1, "blob_id": "0" * 40}
            for path in ("config.json", "model.safetensors", "model-00002.safetensors")
        },
    }
    (repo_cache / "trees").mkdir()
    (repo_cache / "trees" / f"{NEW}.json").write_text(json.dumps(listing))
    with pytest.raises(ResolveError, match="incomplete"):
        resolve_reference(REPO, project_root=tmp_path)
    assert resolve_reference(f"{REPO}@{OLD}", project_root=tmp_path).ref.revision == OLD


def test_resolve_base_from_config_fields(cache: Path, tmp_path: Path) -> None:
    by_id = resolve_base(None, REPO, "v1", project_root=tmp_path)
    assert (by_id.ref.kind, by_id.ref.revision, by_id.ref.hub_id) == ("hf-cache", OLD, REPO)
    write_model(tmp_path / "vendor" / "base", hidden=4, lfs_pointer=False)
    by_path = resolve_base("vendor/base", REPO, None, project_root=tmp_path)
    assert (by_path.ref.kind, by_path.ref.location, by_path.ref.hub_id) == (
        "path",
        "vendor/base",
        REPO,
    )
    # with vendored files, the revision only records which upstream revision they are
    vendored = resolve_base("vendor/base", REPO, "v1", project_root=tmp_path)
    assert (vendored.ref.kind, vendored.ref.location) == ("path", "vendor/base")
    with pytest.raises(ResolveError, match="give `path`"):
        resolve_base(None, None, None, project_root=tmp_path)
    with pytest.raises(ResolveError, match="must be a Hub id"):
        resolve_base("vendor/base", "not an id", None, project_root=tmp_path)
