"""The base's own signature, when the base is a folder that carries one: who signed it, as the
signature states it, and whether it verifies against the base's files — the first link of a
chain "base signed by X → this model signed by Y" (the second is the site's badge: a card
cannot hold its own model's signature).

Nothing is hashed again: the signed manifest is compared with the base's manifest, hashed for
the card already; only files that manifest leaves out and a signer may have signed (the base's
README.md, say, which model-signing's own CLI signs) are hashed here, and only when the
signature names them. A key is needed to call a signature verified: an OpenSSF key bundle
carries only a hint of its key (the sha256 of its public key PEM), which is what is recorded
when no key is configured, marked so. A base that is not signed is said to be not signed,
nothing more. model_signing is imported only for a base that carries model.sig.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcards.history.keyless import certificate_identities
from modelcards.history.signatures import (
    CARD_SIGNATURE,
    MAX_SIGNATURE_BYTES,
    MODEL_SIGNATURE,
    SigningError,
    card_statement_problems,
    compare_files,
    folder_digests,
    signed_model,
    verified_statement,
    verifier,
)
from modelcards.resolve.snapshot import FileEntry
from modelcards.safeio.errors import ModelcardsError
from modelcards.safeio.hashing import BLOCK_BYTES

MAX_SHOWN = 3


@dataclass(frozen=True)
class BaseSignature:
    """card.json's `provenance.base_signature`."""

    state: (
        str  # "not signed", "signed" (not verified, `note` says why), "verified", "does not verify"
    )
    signer: str | None = None  # as the signature states it: "key sha256:…" or a certificate's
    key: str | None = None  # the config key whose public key it was checked with
    note: str | None = None  # why it is not verified, or what does not verify
    card: str | None = None  # the base's card.sig: "verified" or what fails; None: it has none

    def as_json(self) -> dict[str, str | None]:
        return {"state": self.state, "signer": self.signer, "key": self.key, "note": self.note,
                "card": self.card}  # fmt: skip


def _regular(path: Path) -> bool:
    return not path.is_symlink() and path.is_file()


def _present(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def signature_inputs(folder: Path) -> str | None:
    """sha256 over the base's model.sig and card.sig (for the card's inputs fingerprint: they
    are no files of the base's manifest); None when it has no model.sig."""
    if not _present(folder / MODEL_SIGNATURE):
        return None
    digest = hashlib.sha256()
    for name in (MODEL_SIGNATURE, CARD_SIGNATURE):
        path = folder / name
        if _regular(path) and path.stat().st_size <= MAX_SIGNATURE_BYTES:
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        elif _present(path):
            digest.update(name.encode() + b"\0unread\0")
    return digest.hexdigest()


def stated_signer(path: Path) -> str | None:
    """Who the bundle says signed it, unverified: its key hint, or its certificate's subject."""
    try:
        if path.stat().st_size > MAX_SIGNATURE_BYTES:
            return None
        material = json.loads(path.read_bytes())["verificationMaterial"]
        hint = (material.get("publicKey") or {}).get("hint")
        if isinstance(hint, str) and hint:
            return f"key sha256:{hint}"
        certificate = material.get("certificate") or next(
            iter((material.get("x509CertificateChain") or {}).get("certificates") or []), None
        )
        if isinstance(certificate, dict) and isinstance(certificate.get("rawBytes"), str):
            return _certificate_subject(certificate["rawBytes"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _certificate_subject(raw: str) -> str:
    """A keyless (Sigstore) signer: the identity its certificate names."""
    import base64

    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(base64.b64decode(raw))
        found = certificate_identities(cert)
        return f"certificate for {', '.join(found) or cert.subject.rfc4514_string()}"
    except Exception:  # no cryptography here, or a certificate it cannot read
        return "a certificate (unread)"


def _sha256_file(path: Path) -> str | None:
    if not _regular(path):
        return None
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _ignored(statement: dict[str, Any]) -> tuple[str, ...]:
    serialization = (statement.get("predicate") or {}).get("serialization") or {}
    paths = serialization.get("ignore_paths") or []
    return tuple(str(p).rstrip("/") for p in paths) if isinstance(paths, list) else ()


def _files_now(
    folder: Path, files: tuple[FileEntry, ...], statement: dict[str, Any], signed: dict[str, str]
) -> dict[str, str]:
    """Each file's sha256 as the signature would see it: from the manifest, plus the signed
    files the manifest leaves out; hashed afresh only for another hash type."""
    serialization = (statement.get("predicate") or {}).get("serialization") or {}
    if serialization.get("hash_type") != "sha256":
        return folder_digests(folder, statement)
    ignored = _ignored(statement)
    now = {f.path: f.sha256 for f in files if f.sha256 is not None
           and not any(f.path == i or f.path.startswith(i + "/") for i in ignored)}  # fmt: skip
    inside = folder.resolve()
    for name in signed.keys() - now.keys():
        path = folder / name  # a name the signature states: never one that leads out
        if Path(name).is_absolute() or ".." in Path(name).parts:
            continue
        if path.resolve().is_relative_to(inside) and (sha := _sha256_file(path)) is not None:
            now[name] = sha
    return now


def _card_state(check: Any, folder: Path, model: Any) -> str | None:
    """The base's card.sig against its card.json and CHANGES.md (the ML-BOM is left to
    `modelcards verify`, which rebuilds it); None when the base has no card.sig."""
    card_sig = folder / CARD_SIGNATURE
    if not _regular(card_sig):
        return None
    statement = verified_statement(check, card_sig)
    if isinstance(statement, str):
        return f"does not verify: {statement}"
    names = ("card.json", "CHANGES.md")
    problems = [
        p
        for p in card_statement_problems(statement, model, {n: _sha256_file(folder / n) for n in names})
        if p.file in names or p.file == CARD_SIGNATURE
    ]  # fmt: skip
    if problems:
        return "does not verify: " + ", ".join(f"{p.file} {p.what}" for p in problems[:MAX_SHOWN])
    return "verified"


def base_signature(
    folder: Path,
    files: tuple[FileEntry, ...],
    key: Path | None,
    key_name: str | None,
    *,
    explicit: bool,
) -> BaseSignature:
    """The base folder's signature state. `key`: the public key to check it with, given under
    `key_name`; `explicit`: a key meant for the base (a signature by another key does not
    verify), not the project's own key tried on it (then another key leaves it unverified)."""
    model_sig = folder / MODEL_SIGNATURE
    if not _present(model_sig):
        return BaseSignature("not signed")
    if not _regular(model_sig):
        return BaseSignature("does not verify", None, key_name,
                             f"{MODEL_SIGNATURE} is a link or no regular file: not read")  # fmt: skip
    stated = stated_signer(model_sig)  # None: the bundle names no signer
    if key is None:
        return BaseSignature("signed", stated, None, "not verified: no key configured for the "
                             "base (base_signing_key)")  # fmt: skip
    try:
        check, fingerprint = verifier(key)
    except SigningError as exc:
        if explicit:
            raise  # a key given for the base that is no key: the config's mistake, exit 2
        return BaseSignature("signed", stated, key_name, f"not verified: {exc.reason}")
    except ModelcardsError as exc:  # model-signing is not installed here
        return BaseSignature("signed", stated, key_name, f"not verified: {exc.reason}")
    try:
        statement = verified_statement(check, model_sig)
        if isinstance(statement, str):
            if statement == "signed by another key" and not explicit:
                return BaseSignature("signed", stated, key_name,
                                     f"not verified: signed by a key other than {key_name}")  # fmt: skip
            return BaseSignature("does not verify", stated, key_name, statement)
        signed = signed_model(statement, model_sig, fingerprint)
        problems = compare_files(signed.files, _files_now(folder, files, statement, signed.files))
    except ModelcardsError as exc:  # a garbled bundle, or a manifest of another method
        return BaseSignature("does not verify", stated, key_name, exc.reason)
    signer = f"key sha256:{fingerprint}"
    if problems:
        shown = ", ".join(f"{p.file} {p.what}" for p in problems[:MAX_SHOWN])
        more = f" and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        return BaseSignature("does not verify", signer, key_name, shown + more)
    try:
        card = _card_state(check, folder, signed)
    except ModelcardsError as exc:
        card = f"does not verify: {exc.reason}"
    return BaseSignature("verified", signer, key_name, None, card)
