"""A base folder's own signature in the card's provenance: who signed it and whether it
verifies against the base's files, with real EC keys made here and real OpenSSF model-signing
bundles (model-signing's own signer, as a base's publisher would use it); no network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelfiles import git, llama_config, llama_tensors, make_model

pytest.importorskip("model_signing", reason="needs the signing extra: pip install -e '.[signing]'")

from model_signing import signing  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402
from test_signing import make_key  # noqa: E402

from modelcards import api  # noqa: E402
from modelcards.export.signing import sign_folder  # noqa: E402
from modelcards.history.base_signature import base_signature  # noqa: E402
from modelcards.history.provenance import hashed_manifest  # noqa: E402
from modelcards.history.signatures import (  # noqa: E402
    SigningError,
    key_fingerprint,
    sign_model,
    sign_statement,
    signer,
)
from modelcards.inspect import manifest_files  # noqa: E402
from modelcards.project.check import check_project  # noqa: E402
from modelcards.project.config import load_config  # noqa: E402
from modelcards.resolve import open_folder  # noqa: E402
from modelcards.safeio.errors import ConfigError  # noqa: E402
from modelcards.safeio.hashcache import HashCache  # noqa: E402


def build(repo: Path) -> None:
    """`modelcards build --no-site` in this process (no interpreter to start)."""
    assert not api.build(repo, site=False, jobs=1).failed


def publisher_signs(folder: Path, private: Path) -> None:
    """model-signing's own key signer, the way a publisher signs a base (README.md included;
    an earlier model.sig would be signed too, so it goes first)."""
    (folder / "model.sig").unlink(missing_ok=True)
    signing.Config().use_elliptic_key_signer(private_key=private).sign(folder, folder / "model.sig")


def hint(public: Path) -> str:
    return f"key sha256:{key_fingerprint(public.read_bytes())}"


def checked(folder: Path, key: Path | None, *, explicit: bool = True):  # type: ignore[no-untyped-def]
    files = hashed_manifest(open_folder(folder), manifest_files(open_folder(folder)), HashCache())
    return base_signature(folder, files, key, "models[0].base_signing_key" if key else None,
                          explicit=explicit)  # fmt: skip


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return make_model(tmp_path / "base", config=llama_config(), tensors=llama_tensors(),
                      readme="# Base\n")  # fmt: skip


@pytest.fixture
def keys(tmp_path: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    return make_key(tmp_path, "publisher"), make_key(tmp_path, "someone-else")


def test_unsigned_base_is_said_to_be_not_signed_and_nothing_else(base: Path, keys) -> None:  # type: ignore[no-untyped-def]
    got = checked(base, keys[0][1])
    assert got.as_json() == {"state": "not signed", "signer": None, "key": None, "note": None,
                             "card": None}  # fmt: skip


def test_a_signed_base_verifies_against_its_publishers_key(base: Path, keys) -> None:  # type: ignore[no-untyped-def]
    (private, public), (_, other) = keys
    publisher_signs(base, private)
    got = checked(base, public)
    assert (got.state, got.signer, got.key, got.note) == (
        "verified", hint(public), "models[0].base_signing_key", None
    )  # fmt: skip
    # without a key: the signer as the bundle states it, never called verified
    unkeyed = checked(base, None)
    assert (unkeyed.state, unkeyed.signer) == ("signed", hint(public))
    assert unkeyed.note is not None and unkeyed.note.startswith("not verified: no key")
    # a key meant for the base that did not sign it: does not verify
    wrong = checked(base, other)
    assert (wrong.state, wrong.note) == ("does not verify", "signed by another key")
    # the project's own key tried on a third party's base: only "signed"
    tried = checked(base, other, explicit=False)
    assert tried.state == "signed" and "signed by a key other than" in str(tried.note)


def test_tampered_added_and_missing_files_are_named(base: Path, keys) -> None:  # type: ignore[no-untyped-def]
    (private, public), _ = keys
    publisher_signs(base, private)
    tensors = load_file(base / "model.safetensors")
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1e-3
    save_file(tensors, str(base / "model.safetensors"), metadata={"format": "pt"})
    (base / "notes.txt").write_text("added after signing\n")
    got = checked(base, public)
    assert got.state == "does not verify" and got.signer == hint(public)
    assert got.note == "model.safetensors changed, notes.txt added (not in the signature)"
    (base / "config.json").unlink()
    assert "config.json missing" in str(checked(base, public).note)
    # README.md is out of the base's manifest but in the publisher's signature: hashed for it
    (base / "notes.txt").unlink()
    shutil.copy(base / "README.md", base / "README.bak")
    (base / "README.md").write_text("# Base, edited\n")
    assert "README.md changed" in str(checked(base, public).note)


def test_a_garbled_signature_and_a_bad_key(base: Path, keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (private, public), _ = keys
    (base / "model.sig").write_text('{"not": "a bundle"}')
    got = checked(base, public)
    assert got.state == "does not verify" and "not a model-signing bundle" in str(got.note)
    assert got.signer is None  # garbage names nobody: "base signed by" would be false
    (base / "model.sig").unlink()
    (tmp_path / "elsewhere.sig").write_text("{}")
    (base / "model.sig").symlink_to(
        tmp_path / "elsewhere.sig"
    )  # never followed, never "not signed"
    linked = checked(base, public)
    assert (linked.state, linked.note) == ("does not verify",
                                           "model.sig is a link or no regular file: not read")  # fmt: skip
    (base / "model.sig").unlink()
    publisher_signs(base, private)
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    with pytest.raises(SigningError, match="not a PEM EC public key"):
        checked(base, bad)
    # the project's own key, only tried on the base: an unusable one leaves it unverified
    tried = checked(base, bad, explicit=False)
    assert tried.state == "signed" and "not verified: not a PEM EC public key" in str(tried.note)


def test_the_bases_card_signature_is_checked_too(base: Path, keys) -> None:  # type: ignore[no-untyped-def]
    """A base that is a modelcards model signed with `modelcards sign`: model.sig and card.sig."""
    (private, public), _ = keys
    (base / "card.json").write_text('{"model": "base"}\n')
    (base / "CHANGES.md").write_text("# Changes\n")
    key, fingerprint = signer(private)
    model_text, signed = sign_model(base, key, fingerprint)
    digests = {n: __import__("hashlib").sha256((base / n).read_bytes()).hexdigest()
               for n in ("card.json", "CHANGES.md")}  # fmt: skip
    (base / "model.sig").write_text(model_text)
    (base / "card.sig").write_text(sign_statement(key, signed, digests))
    got = checked(base, public)
    assert (got.state, got.card) == ("verified", "verified")
    (base / "card.json").write_text('{"model": "edited"}\n')
    assert (
        checked(base, public).card == "does not verify: card.json changed since the card was signed"
    )


# ------------------------------------------------------------------ in a project, end to end


@pytest.fixture(scope="module")
def project(example_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example, built and committed, then its base signed by a publisher: chat-tuned names
    the publisher's key, chat-lora only has the project's own key to try."""
    top = tmp_path_factory.mktemp("basesig")
    repo = top / "repo"
    shutil.copytree(example_repo, repo, symlinks=True)
    (publisher, publisher_pub), (own, own_pub) = make_key(top, "publisher"), make_key(top, "own")
    shutil.copy(publisher_pub, repo / "publisher.pub")
    shutil.copy(own_pub, repo / "own.pub")
    (repo / "modelcards.yml").write_text(
        "policy:\n  signing_key: own.pub\nmodels:\n  - path: models/chat-tuned\n"
        "    base: {path: base-model, id: acme/tiny-llama-base}\n"
        "    base_signing_key: publisher.pub\n  - path: models/chat-lora\n"
        "    base: {path: base-model, id: acme/tiny-llama-base}\n"
    )
    build(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs: model cards")
    return {"repo": repo, "publisher": publisher, "publisher_pub": publisher_pub, "own": own}


def provenance(repo: Path, model: str) -> dict[str, object]:
    return json.loads((repo / f"models/{model}/card.json").read_text())["provenance"]  # type: ignore[no-any-return]


def test_signing_the_base_makes_the_cards_stale_and_build_records_the_chain(
    project: dict[str, Path],
) -> None:
    repo = project["repo"]
    assert provenance(repo, "chat-tuned")["base_signature"] == {
        "state": "not signed", "signer": None, "key": None, "note": None, "card": None
    }  # fmt: skip
    assert (
        "- Base signature: the base folder is not signed (no `model.sig`)."
        in (repo / "models/chat-tuned/README.md").read_text()
    )
    publisher_signs(repo / "base-model", project["publisher"])
    report = check_project(load_config(repo), cache=HashCache())
    assert [(p.model, p.kind) for p in report.problems] == [
        ("chat-tuned", "stale"), ("chat-lora", "stale")
    ]  # fmt: skip
    build(repo)
    signer_hint = hint(project["publisher_pub"])
    tuned = provenance(repo, "chat-tuned")["base_signature"]
    assert tuned == {"state": "verified", "signer": signer_hint,
                     "key": "models[0].base_signing_key", "note": None, "card": None}  # fmt: skip
    lora = provenance(repo, "chat-lora")["base_signature"]
    assert lora == {"state": "signed", "signer": signer_hint, "key": "policy.signing_key",
                    "note": "not verified: signed by a key other than policy.signing_key",
                    "card": None}  # fmt: skip
    card = (repo / "models/chat-tuned/README.md").read_text()
    assert (f"- Base signature: base signed by `{signer_hint}` (verified against "
            "`models[0].base_signing_key`).") in card  # fmt: skip
    assert check_project(load_config(repo), cache=HashCache()).ok


def test_the_site_shows_the_chain(project: dict[str, Path]) -> None:
    from modelcards.project.build import render_project
    from modelcards.publish.site import site_pages
    from modelcards.render import make_environment

    repo = project["repo"]
    if not (repo / "base-model/model.sig").exists():  # run alone: what the test above did
        publisher_signs(repo / "base-model", project["publisher"])
        build(repo)
    sign_folder(repo / "models/chat-tuned", project["own"])  # what `modelcards sign` does
    config = load_config(repo)
    pages = site_pages(config, render_project(config), make_environment(config.templates))
    tuned = next(v for k, v in pages.items() if k.endswith("models/chat-tuned/index.md"))
    lora = next(v for k, v in pages.items() if k.endswith("models/chat-lora/index.md"))
    short = hint(project["publisher_pub"])[11:27]
    assert (f"Signature: base signed by key sha256 <code>{short}</code> (verified) → this model "
            "<strong>verified</strong>") in tuned  # fmt: skip
    assert (f"Signature: base signed by key sha256 <code>{short}</code> (not verified) → this "
            "model <strong>not signed</strong>") in lora  # fmt: skip


def test_a_base_signing_key_that_is_not_there_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "modelcards.yml").write_text(
        "models:\n  - path: m\n    base: b\n    base_signing_key: keys/publisher.pub\n"
    )
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert error.value.file == "modelcards.yml:4"
    assert "models[0].base_signing_key: no such file in the project: keys/publisher.pub" in str(
        error.value
    )
