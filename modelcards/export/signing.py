"""`sign` and `verify` for one model folder: model.sig over its files, card.sig over what the
card says about them (card.json, CHANGES.md and the CycloneDX ML-BOM `export` prints).

The BOM is not a file in the folder: its digest is that of the bytes `modelcards export MODEL`
prints for the card as committed, rebuilt here from card.json and the README (no render), so
that a BOM someone was handed can be checked against the signed statement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelcards.export.cyclonedx import build_bom, to_json
from modelcards.history.keyless import KeylessIdentity, KeylessSigner, KeylessSigning, verifier_for
from modelcards.history.signatures import (
    CARD_SIGNATURE,
    MODEL_SIGNATURE,
    FileProblem,
    SignedModel,
    SigningError,
    card_statement_problems,
    compare_files,
    folder_digests,
    sign_model,
    sign_statement,
    signed_model,
    signer,
    verified_statement,
)
from modelcards.inspect.card import split_front_matter
from modelcards.publish.compliance import use_cases
from modelcards.safeio.errors import ModelcardsError
from modelcards.safeio.jsonfile import loads_strict
from modelcards.safeio.write import write_atomic

CARD_FILES = ("card.json", "CHANGES.md")
BOM_NAME = "bom.cdx.json"  # stands for the bytes `modelcards export MODEL` prints
MAX_CARD_BYTES = 64 << 20


@dataclass(frozen=True)
class SignatureCheck:
    """What `verify` found for one model: who signed it and each file that does not verify."""

    model: str
    folder: str  # project-relative
    signer: str  # fingerprint of the key it was checked against, or the keyless identity
    problems: tuple[FileProblem, ...]
    issuer: str | None = None  # a keyless signature's OIDC issuer; None: a key's

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        keyless = {"issuer": self.issuer} if self.issuer is not None else {}
        return {"model": self.model, "folder": self.folder, "ok": self.ok, "signer": self.signer,
                **keyless, "problems": [p.as_json() for p in self.problems]}  # fmt: skip

    @property
    def against(self) -> str:
        """Who the signatures were checked against, for a sentence."""
        if self.issuer is None:
            return f"key sha256:{self.signer}"
        return f"identity {self.signer} (issuer {self.issuer})"


def _read(path: Path) -> bytes | None:
    """A card file's bytes; None when absent (a link or a huge file is never read)."""
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_CARD_BYTES:
        return None
    return path.read_bytes()


def _sha256(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def card_digests(folder: Path) -> dict[str, str | None]:
    """The sha256 of card.json, CHANGES.md and the ML-BOM; None for one that is absent."""
    found = {name: _read(folder / name) for name in CARD_FILES}
    digests = {name: _sha256(data) for name, data in found.items()}
    digests[BOM_NAME] = None
    if found["card.json"] is not None:
        readme = _read(folder / "README.md")
        body = split_front_matter(readme.decode("utf-8", "replace"))[1] if readme else ""
        try:
            context = loads_strict(found["card.json"], file=f"{folder.name}/card.json")
            bom = to_json(build_bom(context, use_cases=use_cases(body)))
            digests[BOM_NAME] = _sha256(bom.encode("utf-8"))
        except (ModelcardsError, KeyError, TypeError, AttributeError, ValueError):
            pass  # a card.json that is no card: its own digest already tells
    return digests


def sign_folder(folder: Path, private_key: Path | KeylessSigning) -> SignedModel:
    """Write model.sig and card.sig beside the model, each atomically; with a key, or
    keylessly (Sigstore: the signer is the token's identity)."""
    digests = card_digests(folder)
    absent = [name for name in CARD_FILES if digests[name] is None]
    if absent:
        raise SigningError(
            f"no {' or '.join(absent)} to sign: run `modelcards build` first", file=str(folder)
        )
    key: Any
    if isinstance(private_key, KeylessSigning):
        key = KeylessSigner(private_key)
        fingerprint = key.identity
    else:
        key, fingerprint = signer(private_key)
    model_text, signed = sign_model(folder, key, fingerprint)
    if isinstance(key, KeylessSigner):  # who the certificate names, known once signed
        signed = replace(signed, signer=key.identity)
    card_text = sign_statement(key, signed, {k: v for k, v in digests.items() if v is not None})
    write_atomic(folder / MODEL_SIGNATURE, model_text)
    write_atomic(folder / CARD_SIGNATURE, card_text)
    return signed


def verify_folder(
    folder: Path, public_key: Path | KeylessIdentity, *, model: str, label: str
) -> SignatureCheck:
    """Check model.sig against the folder's files and card.sig against the card's files,
    with a public key or against a keyless signer's identity."""
    check, fingerprint = verifier_for(public_key)
    issuer = public_key.issuer if isinstance(public_key, KeylessIdentity) else None

    def done(problems: list[FileProblem]) -> SignatureCheck:
        return SignatureCheck(model, label, fingerprint, tuple(problems), issuer)

    model_sig = folder / MODEL_SIGNATURE
    if not model_sig.exists() and not model_sig.is_symlink():
        return done([FileProblem(MODEL_SIGNATURE, "not signed (no model.sig)")])
    statement = verified_statement(check, model_sig)
    if isinstance(statement, str):
        return done([FileProblem(MODEL_SIGNATURE, statement)])
    signed = signed_model(statement, model_sig, fingerprint)
    problems = compare_files(signed.files, folder_digests(folder, statement))
    card_sig = folder / CARD_SIGNATURE
    if not card_sig.exists() and not card_sig.is_symlink():
        return done(
            [*problems, FileProblem(CARD_SIGNATURE, "the card is not signed (no card.sig)")]
        )
    card = verified_statement(check, card_sig)
    if isinstance(card, str):
        return done([*problems, FileProblem(CARD_SIGNATURE, card)])
    return done([*problems, *card_statement_problems(card, signed, card_digests(folder))])
