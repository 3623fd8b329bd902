"""Keyless (Sigstore) `sign --keyless` / `verify --identity --issuer`, check's policy and the
site badge, with no network ever: a Sigstore instance of our own (`sigstore_local.py`: a CA as
Fulcio, CT and Rekor keys in a client trust config, bundles made offline) verified by
model_signing's real Sigstore verifier; the only stand-in is the signer's trip to Fulcio and
Rekor. Every proxy points at a dead port, and the socket layer refuses anything but loopback.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelfiles import run_modelcards

pytest.importorskip("model_signing", reason="needs the signing extra: pip install -e '.[signing]'")

from sigstore_local import DEAD, LocalSigstore  # noqa: E402

from modelcards import api  # noqa: E402
from modelcards.cli import cli  # noqa: E402
from modelcards.history import keyless  # noqa: E402
from modelcards.safeio.errors import ModelcardsError  # noqa: E402

IDENTITY = "release@modelcards.invalid"
ISSUER = "https://issuer.modelcards.invalid"
OFFLINE = {
    **{name: DEAD for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy",
                               "http_proxy", "all_proxy")},
    "NO_PROXY": "", "no_proxy": "",
}  # fmt: skip


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Proxies to a dead port, a TUF cache in tmp, and no connection but to loopback."""
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(f"no network in tests: {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    connect = socket.socket.connect

    def loopback_connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            raise OSError(f"no network in tests: {address}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_connect)
    keyless._CHECKS.clear()


def token(identity: str = IDENTITY, issuer: str = ISSUER) -> str:
    """An OIDC identity token as an issuer would hand it out (its signature is never checked
    by a client: Fulcio does)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"iss": issuer, "sub": identity, "aud": "sigstore", "iat": now, "exp": now + 600}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalSigstore, Path]:
    local = LocalSigstore()
    return local, local.trust_config(tmp_path_factory.mktemp("sigstore") / "trust.json")


def project(folder: Path, extra: str = "") -> Path:
    """A project of one model, `m`, with the card files `sign` signs (hand-written: what is
    signed is their bytes, whatever they say)."""
    model = folder / "models" / "m"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "llama"}\n')
    (model / "weights.bin").write_bytes(bytes(range(256)) * 64)
    (model / "card.json").write_text('{"schema": "test"}\n')
    (model / "CHANGES.md").write_text("# Changes\n")
    (folder / "modelcards.yml").write_text(f"models:\n  - path: models/m\n{extra}")
    return folder


@pytest.fixture
def signed(
    tmp_path: Path, instance: tuple[LocalSigstore, Path], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The project with `m` signed keylessly as IDENTITY through the local instance."""
    from model_signing._signing import sign_sigstore

    root = project(tmp_path / "repo")
    real = sign_sigstore.Signer
    monkeypatch.setattr(sign_sigstore, "Signer", instance[0].signer_class())
    args = ["sign", "m", "--keyless", "--trust-config", str(instance[1]), "-C", str(root)]
    result = CliRunner().invoke(cli, args, env={"SIGSTORE_ID_TOKEN": token()})
    assert result.exit_code == 0, result.output
    assert f"keyless as {IDENTITY} -> model.sig, card.sig" in result.output  # the certificate's
    monkeypatch.setattr(sign_sigstore, "Signer", real)  # verifying is model_signing's own
    return root


def verify(root: Path, trust: Path, identity: str = IDENTITY, issuer: str = ISSUER) -> Any:
    return api.verify(root, "m", identity=identity, issuer=issuer, trust_config=trust)


def test_keyless_signature_verifies_against_its_identity(
    signed: Path, instance: tuple[LocalSigstore, Path]
) -> None:
    """The command: exit 0, and who signed."""
    args = ["verify", "m", "--identity", IDENTITY, "--issuer", ISSUER, "--trust-config",
            str(instance[1]), "-C", str(signed)]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "model": "m", "folder": "models/m", "ok": True, "signer": IDENTITY, "issuer": ISSUER,
        "problems": []}  # fmt: skip
    text = CliRunner().invoke(cli, args).output
    assert text == f"m: verified against identity {IDENTITY} (issuer {ISSUER})\n"
    bundle = json.loads((signed / "models/m/model.sig").read_text())
    assert "certificate" in bundle["verificationMaterial"]  # a Sigstore bundle, not a key's


def test_another_identity_or_issuer_does_not_verify(
    signed: Path, instance: tuple[LocalSigstore, Path]
) -> None:
    other = verify(signed, instance[1], identity="someone@modelcards.invalid")
    assert not other.ok and [p.file for p in other.problems] == ["model.sig"]
    assert "not signed by someone@modelcards.invalid" in other.problems[0].what
    wrong_issuer = verify(signed, instance[1], issuer="https://elsewhere.invalid")
    assert not wrong_issuer.ok and "OIDCIssuer does not match" in wrong_issuer.problems[0].what


def test_a_tampered_file_and_card_are_named(
    signed: Path, instance: tuple[LocalSigstore, Path]
) -> None:
    (signed / "models/m/weights.bin").write_bytes(b"changed")
    (signed / "models/m/CHANGES.md").write_text("# Changes\n\nedited\n")
    result = verify(signed, instance[1])
    assert {(p.file, p.what) for p in result.problems} == {
        ("weights.bin", "changed"),
        ("CHANGES.md", "changed since the card was signed"),
    }


def test_a_bundle_from_another_sigstore_does_not_verify(signed: Path, tmp_path: Path) -> None:
    """Same identity, same issuer, another CA and log: the trust root decides."""
    stranger = LocalSigstore().trust_config(tmp_path / "stranger.json")
    result = verify(signed, stranger)
    assert not result.ok and result.problems[0].file == "model.sig"
    assert "does not verify" in result.problems[0].what


def test_key_and_keyless_signatures_are_told_apart(
    signed: Path, instance: tuple[LocalSigstore, Path], tmp_path: Path
) -> None:
    from test_signing import make_key

    private, public = make_key(tmp_path, "k")
    with_key = api.verify(signed, "m", key=public)
    assert "signed keylessly" in with_key.problems[0].what
    api.sign(signed, "m", key=private)
    keyless_check = verify(signed, instance[1])
    assert "signed with a key" in keyless_check.problems[0].what


class TestOfflineNetwork:
    """Offline, keyless signing and verifying fail in one line, exit 2, in bounded time."""

    def test_sign_offline_is_one_line(self, tmp_path: Path) -> None:
        root = project(tmp_path / "repo")
        started = time.monotonic()
        result = run_modelcards("sign", "m", "--keyless", cwd=root, timeout=120,
                                env={**OFFLINE, "SIGSTORE_ID_TOKEN": token(),
                                     "XDG_DATA_HOME": str(tmp_path / "d"),
                                     "XDG_CACHE_HOME": str(tmp_path / "c")})  # fmt: skip
        assert time.monotonic() - started < keyless.NETWORK_SECONDS + 30
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        tuf = "Sigstore's trust root (its TUF repository) at https://tuf-repo-cdn.sigstore.dev/"
        assert f"could not reach {tuf}" in result.stderr
        assert "key-based signing (--key) works offline" in result.stderr
        assert not (root / "models/m/model.sig").exists()

    def test_verify_offline_is_one_line(self, tmp_path: Path) -> None:
        root = project(tmp_path / "repo")
        args = ["verify", "m", "--identity", IDENTITY, "--issuer", ISSUER, "-C", str(root)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert "could not reach Sigstore's trust root (its TUF repository)" in result.output
        assert "needs the network or a --trust-config; key-based signing (--key) works offline" \
            in result.output  # fmt: skip

    def test_sign_with_a_trust_config_offline_names_its_issuer(
        self, tmp_path: Path, instance: tuple[LocalSigstore, Path]
    ) -> None:
        root = project(tmp_path / "repo")
        with pytest.raises(ModelcardsError, match="could not reach the OIDC issuer of the Sigstore "
                           f"instance of .*trust.json at {DEAD}/.*works offline"):  # fmt: skip
            api.sign(root, "m", keyless=True, identity_token=token(), trust_config=instance[1])

    def test_a_service_that_never_answers_is_cut_off(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(keyless, "NETWORK_SECONDS", 0.2)
        never = threading.Event()
        started = time.monotonic()
        with pytest.raises(ModelcardsError, match="Rekor did not answer within 0 s.*--key"):
            keyless.bounded(never.wait, "Rekor")
        assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sign", "m", "--keyless", "--key", "k.pem"], "one of the two"),
        (["sign", "m"], "one of the two"),
        (["sign", "m", "--key", "k.pem", "--staging"], "go with --keyless"),
        (["sign", "m", "--keyless", "--staging", "--trust-config", "t.json"], "not with --staging"),
        (["verify", "m", "--identity", IDENTITY], "--identity needs --issuer"),
        (["verify", "m", "--issuer", ISSUER], "one of the two"),
        (["verify", "m", "--key", "k.pub", "--identity", IDENTITY], "one of the two"),
        (["verify", "m", "--key", "k.pub", "--issuer", ISSUER], "go with --identity"),
        (["sign", "m", "--keyless", "--identity-token", "not-a-jwt"], "token is not usable"),
    ],
)
def test_options_that_do_not_go_together(tmp_path: Path, args: list[str], message: str) -> None:
    root = project(tmp_path / "repo")
    result = CliRunner().invoke(cli, [*args, "-C", str(root)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.count("\n") == 1


def test_a_token_in_the_environment_does_not_get_in_the_way_of_a_key(tmp_path: Path) -> None:
    from test_signing import make_key

    root = project(tmp_path / "repo")
    private, _public = make_key(tmp_path, "k")
    args = ["sign", "m", "--key", str(private), "-C", str(root)]
    result = CliRunner().invoke(cli, args, env={"SIGSTORE_ID_TOKEN": token()})
    assert result.exit_code == 0, result.output


def test_a_trust_config_that_is_none_is_one_line(tmp_path: Path) -> None:
    root = project(tmp_path / "repo")
    (root / "t.json").write_text('{"mediaType": "nonsense"}')
    with pytest.raises(ModelcardsError, match="t.json: not a Sigstore client trust config"):
        api.verify(root, "m", identity=IDENTITY, issuer=ISSUER, trust_config=root / "t.json")


class TestConfig:
    def load(self, root: Path) -> Any:
        return api.load_project(root)

    def test_identity_needs_its_issuer(self, tmp_path: Path) -> None:
        root = project(tmp_path / "repo", f"    signing_identity: {IDENTITY}\n")
        with pytest.raises(ModelcardsError, match=r"modelcards.yml:3: models\[0\]."
                           r"signing_identity: needs models\[0\].signing_issuer too"):  # fmt: skip
            self.load(root)

    def test_a_mistyped_key_gets_a_suggestion(self, tmp_path: Path) -> None:
        root = project(tmp_path / "repo", f"    signing_identiy: {IDENTITY}\n")
        with pytest.raises(ModelcardsError, match="did you mean 'signing_identity'"):
            self.load(root)

    def test_an_issuer_is_a_url(self, tmp_path: Path) -> None:
        extra = f"    signing_identity: {IDENTITY}\n    signing_issuer: github\n"
        with pytest.raises(ModelcardsError, match="'github' is not an OIDC issuer's URL"):
            self.load(project(tmp_path / "repo", extra))

    def test_require_signature_needs_a_way_to_check_each_model(self, tmp_path: Path) -> None:
        extra = "policy:\n  require_signature: true\n"
        with pytest.raises(ModelcardsError, match="keyless signer .* of each model: m has neither"):
            self.load(project(tmp_path / "repo", extra))


def test_check_and_the_badge_use_the_models_keyless_signer(
    signed: Path, instance: tuple[LocalSigstore, Path]
) -> None:
    from modelcards.project.base_signing import signature_check
    from modelcards.project.check import _signature_problems
    from modelcards.publish.site.signature import signature_state

    trust = instance[1].relative_to(instance[1].parent)
    (signed / trust).write_bytes(instance[1].read_bytes())
    (signed / "modelcards.yml").write_text(
        f"models:\n  - path: models/m\n    signing_identity: {IDENTITY}\n"
        f"    signing_issuer: {ISSUER}\n    signing_trust_config: {trust}\n"
        "policy:\n  require_signature: true\n"
    )
    config = api.load_project(signed)
    entry = config.models[0]
    assert _signature_problems(config, entry) == []
    folder = signed / "models/m"
    card, changes = (folder / "card.json").read_text(), (folder / "CHANGES.md").read_text()
    files = [{"path": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in folder.iterdir() if p.name in ("config.json", "weights.bin")]  # fmt: skip
    context = {"provenance": {"files": files}}  # what the card records of the model's files
    badge = signature_state(folder, signature_check(config, entry), context, card, changes)
    assert badge == {"state": "verified", "signer": IDENTITY, "keyless": "Sigstore",
                     "issuer": ISSUER}  # fmt: skip
    unchecked = signature_state(folder, None, {}, card, changes)
    assert unchecked["state"] == "signed" and unchecked["signer"] == IDENTITY
    (folder / "weights.bin").write_bytes(b"changed")
    problems = _signature_problems(config, entry)
    assert [(p.file, p.reason) for p in problems] == [
        ("models/m/weights.bin", "signature: changed")
    ]
