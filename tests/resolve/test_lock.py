"""modelcards.lock: a Hub base pinned once (from the Hub or the cache), then read offline from it.

The Hub is the local `FakeHub` endpoint (conftest.py) behind the real huggingface_hub client;
the cache is the one that client writes. Nothing goes to the internet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import COMMIT, REPO, TOKEN, FakeHub, write_model
from huggingface_hub import constants, hf_hub_download

from modelcards.inspect import inspect_snapshot
from modelcards.inspect.facts import ModelFacts
from modelcards.project.config import load_config
from modelcards.project.lock import update_lock
from modelcards.render.fingerprint import base_identity
from modelcards.resolve import HubSnapshot, LocalSnapshot, SourceRef, resolve_base
from modelcards.resolve.lock import (
    LOCK_NAME,
    MAX_CONTENT_BYTES,
    LockedSnapshot,
    LockFile,
    load_lock,
    loads_lock,
    lock_snapshot,
    locked_snapshot,
)
from modelcards.safeio.errors import ConfigError, ResolveError
from modelfiles import run_modelcards

TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}</s>{% endfor %}"
BIG_TOKENIZER = json.dumps({"model": {"vocab": {f"t{i}": i for i in range(120_000)}}}).encode()


@pytest.fixture
def model_files(tmp_path: Path) -> dict[str, bytes]:
    """What the fake Hub serves: a model with a chat template, a tokenizer.json over 1 MiB, a
    vocab.txt that is not UTF-8, a binary tokenizer.model, a generation config, and pickled
    weights that must never leave."""
    source = tmp_path / "upstream"
    write_model(source, hidden=16, lfs_pointer=False)
    (source / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Remote\n")
    (source / "generation_config.json").write_text('{"temperature": 0.7, "top_p": 0.9}\n')
    (source / "chat_template.jinja").write_text(TEMPLATE)
    (source / "special_tokens_map.json").write_text('{"unk_token": "<unk>"}\n')
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    files["tokenizer.json"] = BIG_TOKENIZER
    files["tokenizer.model"] = b"\x80\x81\xfe binary sentencepiece \xff"
    files["vocab.txt"] = "<s>\ncafé\n".encode("latin-1")
    files["pytorch_model.bin"] = os.urandom(64 * 1024)  # weights that must never be served
    assert len(BIG_TOKENIZER) > MAX_CONTENT_BYTES
    return files


def make_project(root: Path, *bases: str) -> Path:
    """A project whose models are fine-tunes of `bases` (Hub ids)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["models:"]
    for index, base in enumerate(bases):
        write_model(root / f"tuned-{index}", hidden=16, lfs_pointer=False)
        lines += [f"  - path: tuned-{index}", f"    base: {base}"]
    (root / "modelcards.yml").write_text("\n".join(lines) + "\n")
    return root


def go_offline(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No server, HF_HUB_OFFLINE=1, an empty HF_HOME and cache: only the lock is left."""
    hub.stop()
    empty = tmp_path / "empty-hf-home"
    empty.mkdir()
    monkeypatch.setenv("HF_HOME", str(empty))
    monkeypatch.setenv("HF_HUB_CACHE", str(empty / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")


def comparable(facts: ModelFacts) -> ModelFacts:
    """Everything inspect found but where it came from (the source, and sha256s the lock adds)."""
    return dataclasses.replace(facts, source=SourceRef(kind="path", location="."), files=())


def header_of(data: bytes) -> bytes:
    (length,) = struct.unpack("<Q", data[:8])
    return data[8 : 8 + length]


def test_online_lock_then_offline_gives_the_same_facts(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project", REPO)
    online = HubSnapshot(REPO)
    online_facts = inspect_snapshot(online)
    online_files = {e.path: e for e in online.files()}
    online.close()
    hub.served.clear()

    report = update_lock(load_config(project), online=True)
    assert [(b.key, b.status) for b in report.bases] == [(REPO, "locked")] and report.written

    entry = json.loads((project / LOCK_NAME).read_text())["bases"][REPO]
    assert entry["revision"] == COMMIT
    assert [f["path"] for f in entry["files"]] == sorted(hub.files)  # not ../outside.json
    listed = {f["path"]: f for f in entry["files"]}
    weights = hub.files["model.safetensors"]
    assert listed["model.safetensors"]["size"] == len(weights)
    assert listed["model.safetensors"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert listed["pytorch_model.bin"]["sha256"] == hub.etag("pytorch_model.bin")
    assert listed["config.json"]["blob_id"] == online_files["config.json"].blob_id
    assert listed["config.json"]["sha256"] == hashlib.sha256(hub.files["config.json"]).hexdigest()
    assert sorted(entry["contents"]) == [
        "README.md",
        "chat_template.jinja",
        "config.json",
        "generation_config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
    ]
    assert entry["contents"]["chat_template.jinja"] == TEMPLATE
    assert entry["contents"]["config.json"].encode() == hub.files["config.json"]
    assert entry["safetensors_headers"] == {"model.safetensors": header_of(weights).decode()}
    assert entry["not_locked"] == [
        {"path": "tokenizer.json", "size": len(BIG_TOKENIZER), "reason": "larger than 1 MiB"},
        {"path": "vocab.txt", "size": len(hub.files["vocab.txt"]), "reason": "not UTF-8 text"},
    ]
    # of the weights only the header left the server; large and binary files were not fetched
    assert hub.served["model.safetensors"] == 8 + len(header_of(weights))
    for never in ("pytorch_model.bin", "tokenizer.json", "tokenizer.model"):
        assert never not in hub.served, never

    go_offline(hub, tmp_path, monkeypatch)
    with pytest.raises(ResolveError, match="not in the Hugging Face cache"):
        resolve_base(None, REPO, None, project_root=project)  # without the lock: nothing
    lock = load_lock(project)
    snapshot = resolve_base(None, REPO, None, project_root=project, lock=lock)
    assert isinstance(snapshot, LockedSnapshot)
    assert (snapshot.ref.kind, snapshot.ref.location, snapshot.ref.revision) == (
        "lock",
        REPO,
        COMMIT,
    )
    assert snapshot.ref.hub_id == REPO
    facts = inspect_snapshot(snapshot)
    assert facts.config == online_facts.config and facts.config is not None
    assert facts.tokenizer == online_facts.tokenizer and facts.tokenizer is not None
    assert facts.tokenizer.chat_templates == {"default": TEMPLATE}
    assert {"tokenizer.json", "tokenizer.model", "vocab.txt"} <= set(facts.tokenizer.files)
    assert facts.weights.tensors == online_facts.weights.tensors
    assert facts.weights.tensors["model.embed_tokens.weight"].shape == (32, 16)
    # what the lock could not hold is said: tokenizer.json (over 1 MiB) was read online for its
    # added tokens (it has none); offline only its size and hash are there, and a note says so
    assert facts.notes == (
        f"tokenizer.json: modelcards.lock holds only this file's size and hash ({REPO}), not its "
        "content; its added tokens left out",
    )
    assert comparable(dataclasses.replace(facts, notes=())) == comparable(online_facts)
    assert [(e.path, e.size) for e in facts.files] == [(e.path, e.size) for e in online_facts.files]


def test_lock_bytes_are_deterministic(hub: FakeHub, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", REPO, f"{REPO}@main")
    config = load_config(project)
    update_lock(config, online=True)
    first = (project / LOCK_NAME).read_bytes()
    (project / LOCK_NAME).unlink()
    second_report = update_lock(config, online=True)
    assert second_report.written
    assert (project / LOCK_NAME).read_bytes() == first
    assert update_lock(config, online=True).written is False  # same bytes: not rewritten

    text = first.decode()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert sorted(data["bases"]) == [REPO, f"{REPO}@main"] and data["version"] == 1
    assert TOKEN not in text and str(tmp_path) not in text and os.uname().nodename not in text
    assert loads_lock(first).dumps() == text  # what the loader reads, the writer writes back
    assert not list(project.glob(f".{LOCK_NAME}.*"))  # no temp file left by the atomic write


def test_lock_from_the_hugging_face_cache(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache written by the real client is locked offline: blob ids from its blob names."""
    for name in ("config.json", "tokenizer_config.json", "model.safetensors"):
        hf_hub_download(REPO, name, endpoint=hub.url, cache_dir=tmp_path / "hf-cache")
    hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    project = make_project(tmp_path / "project", REPO)
    report = update_lock(load_config(project))
    assert [b.status for b in report.bases] == ["locked"], report.bases[0].error
    lock = load_lock(project)
    assert lock is not None
    entry = lock.bases[REPO]
    assert entry.revision == COMMIT
    weights = hub.files["model.safetensors"]
    assert [(f.path, f.size, f.sha256) for f in entry.files] == [
        ("config.json", len(hub.files["config.json"]),
         hashlib.sha256(hub.files["config.json"]).hexdigest()),
        ("model.safetensors", len(weights), hashlib.sha256(weights).hexdigest()),
        ("tokenizer_config.json", len(hub.files["tokenizer_config.json"]),
         hashlib.sha256(hub.files["tokenizer_config.json"]).hexdigest()),
    ]  # fmt: skip
    assert entry.files[0].blob_id == hashlib.sha1(b"config.json").hexdigest()  # the cache's ETag
    assert entry.safetensors_headers["model.safetensors"].encode() == header_of(weights)
    assert entry.not_locked == ()


@pytest.fixture
def local_lock(tmp_path: Path) -> dict[str, Any]:
    """A valid lock (as JSON) made from a local folder posing as a pinned Hub snapshot."""
    folder = tmp_path / "base"
    write_model(folder, hidden=8)
    (folder / "README.md").write_text("x" * (MAX_CONTENT_BYTES + 1))
    snapshot = LocalSnapshot(folder, SourceRef(kind="hf-cache", location=REPO, revision=COMMIT))
    data: dict[str, Any] = json.loads(LockFile(bases={REPO: lock_snapshot(snapshot)}).dumps())
    return data


def test_locked_snapshot_refuses_reads_past_the_header(
    local_lock: dict[str, Any], tmp_path: Path
) -> None:
    lock = loads_lock(json.dumps(local_lock))
    snapshot = locked_snapshot(lock, REPO, None)
    assert snapshot is not None
    real = (tmp_path / "base" / "model.safetensors").read_bytes()
    header = header_of(real)
    assert snapshot.read_range("model.safetensors", 0, 8) == real[:8]
    assert snapshot.read_range("model.safetensors", 8, len(header)) == header
    with pytest.raises(ResolveError, match="never the tensor data"):
        snapshot.read_range("model.safetensors", 8 + len(header), 16)
    with pytest.raises(ResolveError, match="never the tensor data"):
        snapshot.read_range("model.safetensors", 4, len(header) + 8)
    with pytest.raises(ResolveError, match="never the tensor data"):
        snapshot.read_bytes("model.safetensors", max_bytes=len(real))
    # the pointer's size and oid are kept; its content was never there
    pickle = snapshot.entry("pytorch_model.bin")
    assert pickle is not None and not pickle.lfs_pointer and pickle.size == 5_000_000_000
    with pytest.raises(ResolveError, match="holds only this file's size and hash"):
        snapshot.read_range("pytorch_model.bin", 0, 8)
    # a README over 1 MiB is not locked: inspect sees its content as not present
    readme = snapshot.entry("README.md")
    assert readme is not None and readme.lfs_pointer and not snapshot.has("README.md")
    assert lock.bases[REPO].not_locked[0].path == "README.md"
    facts = inspect_snapshot(snapshot)
    assert facts.card is None and facts.config is not None and facts.config["hidden_size"] == 8


def _break(data: dict[str, Any], change: str) -> None:
    entry = data["bases"][REPO]
    if change == "revision":
        entry["revision"] = "main"
    elif change == "size":
        entry["files"][0]["size"] = "12"
    elif change == "escape":
        entry["files"].insert(0, {"path": "../outside.json", "size": 2})
    elif change == "absolute":
        entry["contents"]["/etc/passwd"] = "root"
    elif change == "backslash":
        entry["files"].insert(0, {"path": "sub\\config.json", "size": 2})
    elif change == "control":
        entry["files"].insert(0, {"path": "a\x1bb", "size": 2})
    elif change == "edited":
        entry["contents"]["config.json"] = entry["contents"]["config.json"].replace("8", "9")
    elif change == "header":
        entry["safetensors_headers"]["model.safetensors"] = '{"a": '
    elif change == "unknown":
        entry["extra"] = 1
    elif change == "key":
        data["bases"]["../evil"] = data["bases"].pop(REPO)


@pytest.mark.parametrize("change, message", [
    ("revision", 'bases["org/remote"].revision: expected a 40-hex commit sha'),
    ("size", 'bases["org/remote"].files[0].size: expected a non-negative integer'),
    ("escape", "file name '../outside.json' escapes the repository"),
    ("absolute", "file name '/etc/passwd' is an absolute path"),
    ("backslash", "contains a backslash"),
    ("control", "contains a control character"),
    ("edited", 'contents["config.json"]: the text does not match the sha256'),
    ("header", 'safetensors_headers["model.safetensors"]: invalid safetensors header'),
    ("unknown", 'bases["org/remote"].extra: unknown key'),
    ("key", 'bases["../evil"]: not a Hub id'),
])  # fmt: skip
def test_a_broken_lock_is_one_clear_error(
    local_lock: dict[str, Any], change: str, message: str
) -> None:
    loads_lock(json.dumps(local_lock))  # valid as written
    _break(local_lock, change)
    with pytest.raises(ConfigError) as error:
        loads_lock(json.dumps(local_lock))
    text = str(error.value)
    assert text.startswith(f"{LOCK_NAME}: ") and message in text and "\n" not in text


def test_malformed_lock_through_the_cli(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", REPO)
    (project / LOCK_NAME).write_text('{"version": 1, "bases": {"org/remote": ')
    result = run_modelcards("lock", "--check", cwd=project)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"modelcards: error: {LOCK_NAME}: malformed JSON"
    )


def test_the_lock_is_used_only_for_its_id_and_revision(
    local_lock: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    lock = loads_lock(json.dumps(local_lock))
    assert resolve_base(None, REPO, None, project_root=tmp_path, lock=lock).ref.kind == "lock"
    with pytest.raises(ResolveError, match="not in the Hugging Face cache"):
        resolve_base(None, REPO, "main", project_root=tmp_path, lock=lock)
    # a base given by path is the files there, whatever the lock says of its id
    local = resolve_base("base", REPO, None, project_root=tmp_path, lock=lock)
    assert local.ref.kind == "path" and local.ref.hub_id == REPO


def test_relocking_makes_the_base_identity_change(local_lock: dict[str, Any]) -> None:
    def identity(data: dict[str, Any]) -> Any:
        snapshot = locked_snapshot(loads_lock(json.dumps(data)), REPO, None)
        assert snapshot is not None
        return base_identity(snapshot.ref, None, lock_digest=snapshot.entry_digest)

    before = identity(local_lock)
    assert before == identity(json.loads(json.dumps(local_lock)))  # same entry, same identity
    assert before[:3] == ["lock", REPO, COMMIT]
    header = local_lock["bases"][REPO]["safetensors_headers"]["model.safetensors"]
    local_lock["bases"][REPO]["safetensors_headers"]["model.safetensors"] = header.replace(
        '"pt"', '"np"'
    )  # same revision and file list: only the locked header differs
    assert identity(local_lock) != before
    cache_ref = SourceRef(kind="hf-cache", location=REPO, revision=COMMIT, hub_id=REPO)
    assert base_identity(cache_ref, None) != before


def test_update_one_base_keeps_the_others(hub: FakeHub, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", REPO, f"{REPO}@main")
    config = load_config(project)
    update_lock(config, online=True)
    asked = len(hub.requests)
    report = update_lock(config, online=True, only=f"{REPO}@main")
    assert [(b.key, b.status) for b in report.bases] == [(REPO, "kept"), (f"{REPO}@main", "locked")]
    assert len(hub.requests) > asked
    with pytest.raises(ConfigError, match="no model's base is that Hub id"):
        update_lock(config, online=True, only="org/other")


def test_cli_lock_online_check_and_failures(hub: FakeHub, tmp_path: Path) -> None:
    """The command as a user runs it, against the local Hub (the env points the client at it)."""
    project = make_project(tmp_path / "project", REPO)
    env = {"TMPDIR": str(tmp_path / "tmp")}

    missing = run_modelcards("lock", "--check", cwd=project, env=env)
    assert missing.returncode == 1, missing.stderr
    assert f"missing  {REPO}  (not in {LOCK_NAME}" in missing.stdout

    locked = run_modelcards("lock", "--online", cwd=project, env=env)
    assert locked.returncode == 0, locked.stderr
    assert f"locked  {REPO}  {COMMIT}  11 files, 6 texts, 1 safetensors header;" in locked.stdout
    assert "not locked: tokenizer.json (" in locked.stdout
    assert f"wrote {LOCK_NAME} (1 base)" in locked.stdout
    lock = load_lock(project)
    assert lock is not None and lock.bases[REPO].revision == COMMIT
    assert "pytorch_model.bin" not in hub.served
    assert list((tmp_path / "tmp").iterdir()) == []  # the private download folder is gone

    ok = run_modelcards("lock", "--check", "--format", "json", cwd=project, env=env)
    assert ok.returncode == 0, ok.stdout
    assert json.loads(ok.stdout)["bases"][0]["status"] == "ok"

    # the config now asks for another revision, and names a base the Hub does not have
    (project / "modelcards.yml").write_text(
        "models:\n  - path: tuned-0\n    base: org/remote@main\n"
        "  - path: tuned-1\n    base: org/missing\n"
    )
    write_model(project / "tuned-1", hidden=16, lfs_pointer=False)
    stale = run_modelcards("lock", "--check", cwd=project, env=env)
    assert stale.returncode == 1
    assert f"other-revision  {REPO}@main" in stale.stdout and "missing  org/missing" in stale.stdout
    assert f"unused  {REPO}" in stale.stdout

    partly = run_modelcards("lock", "--online", cwd=project, env=env)
    assert partly.returncode == 2, (partly.stdout, partly.stderr)
    errors = partly.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("modelcards: error: org/missing: ")
    assert "no such model on the Hub" in errors[0]
    assert f"locked  {REPO}@main  {COMMIT}" in partly.stdout
    assert f"dropped  {REPO}  (no model uses it any more)" in partly.stdout
    lock = load_lock(project)
    assert lock is not None and sorted(lock.bases) == [f"{REPO}@main"]
