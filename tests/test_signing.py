"""`modelcards sign` / `verify` and check's `policy.require_signature`, with real EC keys made
here, real OpenSSF model-signing bundles and the bundled example's models; no network."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from modelfiles import git, run_modelcards

pytest.importorskip("model_signing", reason="needs the signing extra: pip install -e '.[signing]'")

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

TUNED = "models/chat-tuned"
LORA = "models/chat-lora"


def make_key(folder: Path, name: str) -> tuple[Path, Path]:
    """A fresh P-256 key pair as PEM files: NAME.pem (private, PKCS#8) and NAME.pub."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / f"{name}.pem"
    public = folder / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="module")
def built(example_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with its cards built (twice: a fixed point) and committed, once per module."""
    repo = tmp_path_factory.mktemp("built") / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    for _ in range(2):
        assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: model cards")
    return repo


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return make_key(tmp_path, "signer")


@pytest.fixture
def signed(built: Path, tmp_path: Path, keys: tuple[Path, Path]) -> Path:
    """A copy of the built example with chat-tuned signed (chat-lora is not)."""
    repo = tmp_path / "repo"
    shutil.copytree(built, repo, symlinks=True)
    result = run_modelcards("sign", "chat-tuned", "--key", str(keys[0]), cwd=repo)
    assert result.returncode == 0, result.stderr
    return repo


def verify(repo: Path, key: Path, model: str = "chat-tuned", *args: str):  # type: ignore[no-untyped-def]
    return run_modelcards("verify", model, "--key", str(key), *args, cwd=repo)


def test_sign_writes_both_signatures_and_verify_passes(signed: Path, keys: tuple[Path, Path]):
    folder = signed / TUNED
    assert (folder / "model.sig").is_file() and (folder / "card.sig").is_file()
    result = verify(signed, keys[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("chat-tuned: verified against key sha256:")
    data = json.loads(verify(signed, keys[1], "chat-tuned", "--format", "json").stdout)
    assert data["ok"] is True and data["problems"] == []


def test_model_sig_is_model_signings_own_format(signed: Path, keys: tuple[Path, Path]) -> None:
    """model-signing's own verifier accepts model.sig: the card files and signatures are
    recorded as ignored paths, every other file is in the manifest."""
    from model_signing import verifying

    folder = signed / TUNED
    verifying.Config().use_elliptic_key_verifier(public_key=keys[1]).verify(
        folder, folder / "model.sig"
    )
    envelope = json.loads((folder / "model.sig").read_text())["dsseEnvelope"]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    names = {r["name"] for r in statement["predicate"]["resources"]}
    assert "model.safetensors" in names and "config.json" in names
    assert not names & {"README.md", "CHANGES.md", "card.json", "model.sig", "card.sig"}
    card = json.loads(base64.b64decode(json.loads((folder / "card.sig").read_text())
                                       ["dsseEnvelope"]["payload"]))  # fmt: skip
    assert card["subject"] == statement["subject"]  # the card statement is about this model
    assert {f["name"] for f in card["predicate"]["files"]} == {
        "card.json", "CHANGES.md", "bom.cdx.json"
    }  # fmt: skip


def test_signing_changes_no_card(signed: Path) -> None:
    """The signatures are no input of the card: build after sign writes the same card."""
    folder = signed / TUNED
    before = (folder / "card.json").read_bytes()
    assert run_modelcards("build", "-q", "--no-site", cwd=signed).returncode == 0
    assert (folder / "card.json").read_bytes() == before
    assert "model.sig" not in (folder / "CHANGES.md").read_text()


def test_a_tampered_weight_file_is_named(signed: Path, keys: tuple[Path, Path]) -> None:
    weights = signed / TUNED / "model.safetensors"
    tensors = load_file(weights)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1
    save_file(tensors, weights)
    result = verify(signed, keys[1])
    assert result.returncode == 1
    assert f"{TUNED}/model.safetensors: changed" in result.stdout
    assert "card" not in result.stdout.split("NOT verified")[0]  # the card still verifies


def test_an_added_and_a_deleted_file_are_named(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / TUNED / "extra.bin").write_bytes(b"\0" * 10)
    (signed / TUNED / "eval_results.json").unlink()
    result = verify(signed, keys[1])
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{TUNED}/extra.bin: added (not in the signature)" in lines
    assert f"{TUNED}/eval_results.json: missing" in lines
    assert "2 problems" in lines[-1]


def test_a_tampered_card_fails_the_card_statement_only(
    signed: Path, keys: tuple[Path, Path]
) -> None:
    card = signed / TUNED / "card.json"
    data = json.loads(card.read_text())
    data["model"]["name"] = "someone-else"
    card.write_text(json.dumps(data, indent=2))
    result = verify(signed, keys[1], "chat-tuned", "--format", "json")
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    # card.json, and the ML-BOM built from it; no model file
    assert {p["file"] for p in problems} == {"card.json", "bom.cdx.json"}
    assert all(p["problem"] == "changed since the card was signed" for p in problems)


def test_a_model_without_signature_fails(signed: Path, keys: tuple[Path, Path]) -> None:
    result = verify(signed, keys[1], "chat-lora")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"{LORA}/model.sig: not signed (no model.sig)"
    (signed / TUNED / "card.sig").unlink()
    result = verify(signed, keys[1])
    assert result.returncode == 1
    assert f"{TUNED}/card.sig: the card is not signed (no card.sig)" in result.stdout


def test_a_signature_by_another_key_fails_with_1(signed: Path, tmp_path: Path) -> None:
    """Exit 1, not 2: the key and the signature are both well-formed, the model is simply not
    signed by this key, which a gate must treat like a tampered file, not like a typo."""
    _, other = make_key(tmp_path, "other")
    result = verify(signed, other)
    assert result.returncode == 1
    assert f"{TUNED}/model.sig: signed by another key" in result.stdout


def test_a_forged_statement_fails(signed: Path, keys: tuple[Path, Path]) -> None:
    """The payload edited to drop a file, its signature kept: the signature no longer matches."""
    sig = signed / TUNED / "model.sig"
    bundle = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"] = statement["predicate"]["resources"][1:]
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    sig.write_text(json.dumps(bundle))
    result = verify(signed, keys[1])
    assert result.returncode == 1
    assert f"{TUNED}/model.sig: the signature does not match its content" in result.stdout


@pytest.mark.parametrize("content", [b"garbage\n", b'{"mediaType": 1}', b"\xff\xfe", b""])
def test_a_garbled_signature_is_one_line_and_exit_2(
    signed: Path, keys: tuple[Path, Path], content: bytes
) -> None:
    (signed / TUNED / "card.sig").write_bytes(content)
    result = verify(signed, keys[1])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"modelcards: error: {TUNED}/card.sig: ")


def test_a_bad_key_is_one_line_and_exit_2(signed: Path, keys: tuple[Path, Path]) -> None:
    junk = signed / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    for result in (
        run_modelcards("sign", "chat-tuned", "--key", str(junk), cwd=signed),
        run_modelcards("sign", "chat-tuned", "--key", str(keys[1]), cwd=signed),  # a public key
        verify(signed, keys[0]),  # a private key where the public one belongs
        verify(signed, signed / "missing.pub"),
    ):
        assert result.returncode == 2, result.stdout
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    # a failed sign leaves the signatures it found as they were
    assert verify(signed, keys[1]).returncode == 0


def test_sign_needs_a_built_card(repo: Path, keys: tuple[Path, Path]) -> None:
    result = run_modelcards("sign", "chat-lora", "--key", str(keys[0]), cwd=repo)
    assert result.returncode == 2
    assert "no card.json or CHANGES.md to sign: run `modelcards build` first" in result.stderr
    assert not (repo / LORA / "model.sig").exists()


def require_signatures(repo: Path, key: Path) -> None:
    shutil.copy(key, repo / "signing.pub")
    with (repo / "modelcards.yml").open("a") as config:
        config.write("policy:\n  require_signature: true\n  signing_key: signing.pub\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "policy: signed models only")


def test_check_requires_signatures_when_the_policy_asks(
    signed: Path, keys: tuple[Path, Path]
) -> None:
    assert run_modelcards("check", cwd=signed).returncode == 0  # no policy: signatures ignored
    require_signatures(signed, keys[1])
    result = run_modelcards("check", cwd=signed)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"chat-lora: {LORA}/model.sig: signature: not signed (no model.sig)",
        "1 problem in 1 of 2 models",
    ]
    assert run_modelcards("sign", "chat-lora", "--key", str(keys[0]), cwd=signed).returncode == 0
    result = run_modelcards("check", cwd=signed)
    assert result.returncode == 0, result.stdout
    (signed / LORA / "notes.txt").write_text("added after signing\n")
    result = run_modelcards("check", "--format", "json", cwd=signed)
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert {
        "model": "chat-lora", "file": f"{LORA}/notes.txt",
        "reason": "signature: added (not in the signature)", "diff": None, "kind": "policy",
    } in problems  # fmt: skip


def test_require_signature_needs_a_key(built: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(built, repo, symlinks=True)
    with (repo / "modelcards.yml").open("a") as config:
        config.write("policy:\n  require_signature: true\n")
    result = run_modelcards("check", cwd=repo)
    assert result.returncode == 2
    assert "policy.require_signature" in result.stderr and "signing_key" in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_site_badge(signed: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """Worked out at site build time from the card's recorded digests: nothing is hashed."""
    from modelcards.publish.site.signature import signature_state

    def state(model: str, key: Path | None) -> dict[str, str]:
        folder = signed / model
        card_json = (folder / "card.json").read_text()
        changes = (folder / "CHANGES.md").read_text()
        return signature_state(folder, key, json.loads(card_json), card_json, changes)

    fingerprint = json.loads(verify(signed, keys[1], "chat-tuned", "--format", "json").stdout)[
        "signer"
    ]
    assert state(TUNED, keys[1]) == {"state": "verified", "signer": fingerprint}
    assert state(LORA, keys[1]) == {"state": "not signed"}
    unchecked = state(TUNED, None)
    assert unchecked["state"] == "signed" and unchecked["signer"] == fingerprint
    _, other = make_key(tmp_path, "other")
    assert state(TUNED, other)["state"] == "does not verify"
    (signed / TUNED / "CHANGES.md").write_text("# rewritten\n")
    changed = state(TUNED, keys[1])
    assert changed["state"] == "does not verify" and "CHANGES.md" in changed["note"]


def test_the_site_shows_the_badge(signed: Path, keys: tuple[Path, Path]) -> None:
    require_signatures(signed, keys[1])
    assert run_modelcards("build", "-q", cwd=signed).returncode == 0
    pages = signed / "modelcards-site/docs/models"
    tuned = (pages / "chat-tuned/index.md").read_text()
    lora = (pages / "chat-lora/index.md").read_text()
    assert (
        "Signature: base not signed → this model <strong>verified</strong> · signer key sha256 <code>"
        in tuned
    )
    assert "Signature: base not signed → this model <strong>not signed</strong>" in lora
    # signing chat-lora changes its page at the next build (the reused page is not kept)
    assert run_modelcards("sign", "chat-lora", "--key", str(keys[0]), cwd=signed).returncode == 0
    assert run_modelcards("build", "-q", cwd=signed).returncode == 0
    assert "<strong>verified</strong>" in (pages / "chat-lora/index.md").read_text()


def test_a_link_in_the_model_folder_is_refused_in_one_line(
    signed: Path, keys: tuple[Path, Path]
) -> None:
    """model-signing never follows a link (allow_symlinks stays off): sign and verify both stop
    with one line naming it, rather than sign what the link points at."""
    (signed / TUNED / "outside.txt").symlink_to("/etc/hostname")
    for result in (
        run_modelcards("sign", "chat-tuned", "--key", str(keys[0]), cwd=signed),
        verify(signed, keys[1]),
    ):
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert f"{TUNED}/outside.txt" in result.stderr and "symlink" in result.stderr


def test_the_python_api_is_the_command(signed: Path, keys: tuple[Path, Path]) -> None:
    import modelcards

    result = modelcards.verify(signed, "chat-tuned", key=keys[1])
    assert result.ok and result.as_json() == json.loads(
        verify(signed, keys[1], "chat-tuned", "--format", "json").stdout
    )
    signed_model = modelcards.sign(signed, "models/chat-lora", key=keys[0])
    assert "adapter_model.safetensors" in signed_model.files
    assert modelcards.verify(signed, "chat-lora", key=keys[1]).ok


def test_the_badge_skips_what_the_signer_left_out(
    built: Path, tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    """The card records .gitattributes; model-signing leaves it out of the manifest (as its
    own CLI does): the badge compares only what was signed, and still says verified."""
    from modelcards.publish.site.signature import signature_state

    repo = tmp_path / "repo"
    shutil.copytree(built, repo, symlinks=True)
    folder = repo / TUNED
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    assert run_modelcards("build", "-q", "--no-site", cwd=repo).returncode == 0
    card_json = (folder / "card.json").read_text()
    assert '"path": ".gitattributes"' in card_json
    assert run_modelcards("sign", "chat-tuned", "--key", str(keys[0]), cwd=repo).returncode == 0
    changes = (folder / "CHANGES.md").read_text()
    state = signature_state(folder, keys[1], json.loads(card_json), card_json, changes)
    assert state["state"] == "verified", state
    assert verify(repo, keys[1]).returncode == 0


def test_without_model_signing_sign_and_verify_say_what_to_install(signed: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['model_signing'] = None\n"  # as if the extra were absent
        "from modelcards.cli import main\n"
        "sys.argv = ['modelcards', 'verify', 'chat-tuned', '--key', 'any.pub']; main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=signed, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "modelcards: error: signing needs model-signing: pip install 'modelcards-audit[signing]'"
    )
    assert result.stderr.count("\n") == 1
