"""Keyless (Sigstore) signing and verification through model_signing's Sigstore signer and
verifier: an option for those who have the network, never required (a key signs offline).

Signing needs Fulcio (a short-lived certificate for the OIDC identity) and Rekor (the log);
verifying needs the trust root, from Sigstore's TUF repository unless a client trust config
file is given. Both run under one deadline: offline, or with a service that does not answer,
they fail in one line saying what was unreachable — never a hang, never a traceback (some of
the libraries' own requests have no timeout at all). The identity token comes from
`--identity-token` (or SIGSTORE_ID_TOKEN) or the CI's ambient credentials; the interactive
browser flow is never started, since nobody may be there to finish it. sigstore is imported
here only, on first use.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from modelcards.history.signatures import MAX_SIGNATURE_BYTES, SigningError, verifier

NETWORK_SECONDS = 60.0  # the whole of a keyless sign or a trust root's fetch
OFFLINE_HINT = "key-based signing (--key) works offline"
SIGNING_NEEDS = "keyless signing needs the network"
VERIFYING_NEEDS = "keyless verification needs the network or a --trust-config"
T = TypeVar("T")


@dataclass(frozen=True)
class KeylessSigning:
    """How `sign --keyless` gets its certificate."""

    identity_token: str | None = None  # an OIDC token; None: the CI's ambient credentials
    trust_config: Path | None = None  # a private Sigstore instance's client trust config
    staging: bool = False  # Sigstore's staging instance (for trying it out)


@dataclass(frozen=True)
class KeylessIdentity:
    """Who a keyless signature must come from, and the trust root it is checked against."""

    identity: str  # the certificate's SAN: an email, or a CI workflow's URI
    issuer: str  # the OIDC issuer that vouched for it
    trust_config: Path | None = None
    staging: bool = False

    @property
    def described(self) -> str:
        return f"{self.identity} (issuer {self.issuer})"


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in found:
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


NETWORK_ERRORS = {"ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout", "MaxRetryError",
                  "NewConnectionError", "ProxyError", "DownloadError", "SlowRetrievalError",
                  "NameResolutionError", "TUFError", "NetworkError", "IssuerError"}  # fmt: skip


def _network_error(chain: list[BaseException]) -> bool:
    """Whether a connection failed or timed out somewhere in what raised."""
    return any(isinstance(e, OSError) or type(e).__name__ in NETWORK_ERRORS for e in chain)


def _url(chain: list[BaseException]) -> str | None:
    """The address that did not answer, as the libraries name it."""
    for exc in chain:
        url = getattr(getattr(exc, "request", None), "url", None)
        if isinstance(url, str):
            return url
    for exc in chain:
        if found := re.search(r"https?://[^\s'\"()]+", str(exc)):
            return found.group(0)
    return None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def bounded(call: Callable[[], T], service: str, *, needs: str = SIGNING_NEEDS) -> T:
    """`call()` with a deadline; a network failure becomes one line naming `service` (or
    Sigstore's TUF trust root, when that is what failed), the address that did not answer and
    what `needs` the network."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name="modelcards-sigstore", daemon=True)
    worker.start()
    worker.join(NETWORK_SECONDS)
    if not outcome:
        raise SigningError(f"{service} did not answer within {NETWORK_SECONDS:.0f} s: {needs}; "
                           f"{OFFLINE_HINT}")  # fmt: skip
    ok, value = outcome[0]
    if ok:
        return value
    if isinstance(value, SigningError):
        raise value
    chain = _chain(value)
    if _network_error(chain):
        if any(type(e).__name__ == "TUFError" for e in chain):
            service = "Sigstore's trust root (its TUF repository)"
        where = f" at {url}" if (url := _url(chain)) else ""
        raise SigningError(f"could not reach {service}{where} ({_short(chain[-1])}): {needs}; "
                           f"{OFFLINE_HINT}") from None  # fmt: skip
    raise SigningError(f"{service}: {type(value).__name__}: {_short(value)}") from None


def _instance(trust_config: Path | None, staging: bool) -> str:
    if trust_config is not None:
        return f"the Sigstore instance of {trust_config}"
    return "Sigstore's staging instance" if staging else "Sigstore"


def _trust_config(path: Path | None) -> Path | None:
    """A trust config file, checked before any network: a regular, bounded JSON file."""
    if path is None:
        return None
    if path.is_symlink() or not path.is_file():
        raise SigningError("no such trust config file (a regular file)", file=str(path))
    if path.stat().st_size > MAX_SIGNATURE_BYTES:
        raise SigningError(f"over {MAX_SIGNATURE_BYTES >> 20} MB", file=str(path))
    try:
        from sigstore.models import ClientTrustConfig

        ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))
    except Exception as exc:  # json, pydantic and sigstore's own errors
        raise SigningError(
            f"not a Sigstore client trust config ({type(exc).__name__}: {_short(exc)})",
            file=str(path),
        ) from None
    return path


def certificate_identities(certificate: Any) -> list[str]:
    """The identities a Sigstore certificate names (its SAN: emails, URIs, Sigstore's
    other names), as an identity policy matches them."""
    from cryptography import x509

    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    found = [str(v) for v in names.get_values_for_type(x509.RFC822Name)]
    found += [str(v) for v in names.get_values_for_type(x509.UniformResourceIdentifier)]
    found += [o.value.decode("utf-8", "replace") for o in names.get_values_for_type(x509.OtherName)
              if o.type_id.dotted_string == "1.3.6.1.4.1.57264.1.7"]  # fmt: skip
    return found


def _sigstore() -> Any:
    """model_signing's Sigstore signer, verifier and bundle (imports sigstore)."""
    try:
        from model_signing._signing import sign_sigstore
    except ImportError as exc:
        raise SigningError(f"keyless signing needs model-signing with sigstore: pip install "
                           f"'modelcards-audit[signing]' ({exc})") from None  # fmt: skip
    return sign_sigstore


def identity_token(token: str | None) -> Any:
    """The OIDC identity token, checked offline (its claims and validity period): the one
    given, else the CI's ambient credential; never the interactive browser flow."""
    _sigstore()
    from sigstore import oidc

    if token is None:
        token = bounded(oidc.detect_credential, "the CI's OIDC credential service")
        if not token:
            raise SigningError(
                "keyless signing needs an OIDC identity token: pass --identity-token (or "
                "SIGSTORE_ID_TOKEN), or sign in CI with ambient credentials (GitHub Actions: "
                "permissions id-token: write)"
            )
    try:
        return oidc.IdentityToken(token)
    except Exception as exc:  # IdentityError, ExpiredIdentity
        raise SigningError(f"the identity token is not usable: {_short(exc)}") from None


class KeylessSigner:
    """model_signing's Sigstore signer under the deadline; `identity`: who the token names."""

    def __init__(self, settings: KeylessSigning) -> None:
        token = identity_token(settings.identity_token)  # imports sigstore, or says what to install
        self.identity = str(token.identity)
        self.issuer = str(token.issuer)
        trust_config = _trust_config(settings.trust_config)
        self._service = _instance(trust_config, settings.staging)
        sigstore = _sigstore()
        self._signer = bounded(
            lambda: sigstore.Signer(
                identity_token=str(token._raw_token),
                use_ambient_credentials=False,
                use_staging=settings.staging,
                trust_config=trust_config,
            ),
            f"the OIDC issuer of {self._service}",
        )

    def sign(self, payload: Any) -> Any:
        """model_signing's signature; `identity` becomes what its certificate names (for a CI
        token, the workflow's URI, not the token's subject)."""
        signature = bounded(
            lambda: self._signer.sign(payload), f"Fulcio and Rekor of {self._service}"
        )
        named = certificate_identities(signature.bundle.signing_certificate)
        self.identity = ", ".join(named) or self.identity
        return signature


class KeylessCheck:
    """model_signing's Sigstore verifier for one identity, read and checked the way
    `verified_statement` calls a key verifier (`read_bundle`, `_verify_signed_content`)."""

    def __init__(self, wanted: KeylessIdentity) -> None:
        self.wanted = wanted
        sigstore = _sigstore()
        trust_config = _trust_config(wanted.trust_config)
        self._verifier = bounded(
            lambda: sigstore.Verifier(
                identity=wanted.identity,
                oidc_issuer=wanted.issuer,
                use_staging=wanted.staging,
                trust_config=trust_config,
            ),
            f"the trust root of {_instance(trust_config, wanted.staging)}",
            needs=VERIFYING_NEEDS,
        )

    def read_bundle(self, path: Path) -> Any:
        """A Sigstore bundle; a key-signed one (no certificate) is kept for what it is."""
        text = path.read_text(encoding="utf-8")
        material = json.loads(text).get("verificationMaterial") or {}
        if material.get("publicKey") and not material.get("certificate"):
            return KeySigned(str((material.get("publicKey") or {}).get("hint") or "unknown"))
        return _sigstore().Signature.read(path)

    def _verify_signed_content(self, signature: Any) -> tuple[str, bytes]:
        if isinstance(signature, KeySigned):
            raise ValueError(f"signed with a key (sha256:{signature.hint}), not keylessly by "
                             f"{self.wanted.identity}")  # fmt: skip
        try:
            result: tuple[str, bytes] = self._verifier._verify_signed_content(signature)
        except Exception as exc:  # sigstore's VerificationError: identity, chain, log
            if "do not match" in str(exc) or "does not match" in str(exc):
                raise ValueError(f"not signed by {self.wanted.described}: {_short(exc)}") from None
            raise ValueError(_short(exc)) from None
        return result


@dataclass(frozen=True)
class KeySigned:
    """A bundle with a public key hint and no certificate: not a keyless signature."""

    hint: str


_CHECKS: dict[KeylessIdentity, KeylessCheck | SigningError] = {}
_LOCK = threading.Lock()


def keyless_verifier(wanted: KeylessIdentity) -> tuple[KeylessCheck, str]:
    """The verifier for `wanted` and the signer it stands for; one per identity in a run
    (the trust root is fetched once, and a failure to fetch it is not tried again)."""
    with _LOCK:
        known = _CHECKS.get(wanted)
        if known is None:
            try:
                known = KeylessCheck(wanted)
            except SigningError as exc:
                known = exc
            _CHECKS[wanted] = known
    if isinstance(known, SigningError):
        raise known
    return known, wanted.identity


def verifier_for(against: Path | KeylessIdentity) -> tuple[Any, str]:
    """The verifier and the signer it stands for: a public key file's, or a keyless one's."""
    if isinstance(against, KeylessIdentity):
        return keyless_verifier(against)
    return verifier(against)
