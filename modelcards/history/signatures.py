"""Model and card signatures: OpenSSF model-signing bundles (DSSE envelopes over in-toto
statements) made and checked with an EC key, fully offline.

`model.sig` is model-signing's own format (the OMS v1.0 predicate: every file's digest), so
`model_signing verify key` accepts it; `card.sig` is a second statement about the same model
digest whose predicate lists the digests of the card's files. Verification compares the signed
manifest with the folder file by file, so a failure names what changed, was added or is
missing. model_signing is imported here only, on first use: no other command pays for it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from modelcards.inspect import CARD_OUTPUTS
from modelcards.safeio.errors import ModelcardsError

MODEL_SIGNATURE = "model.sig"
CARD_SIGNATURE = "card.sig"
# never part of the model digest: the signatures themselves, and the card (signed on its own)
UNSIGNED = tuple(sorted(CARD_OUTPUTS))  # CARD_OUTPUTS holds MODEL_SIGNATURE and CARD_SIGNATURE
CARD_PREDICATE = "urn:modelcards-audit:card:v1"
MAX_SIGNATURE_BYTES = 64 << 20  # a manifest of 100,000 files is ~15 MB


class SigningError(ModelcardsError):
    """A key or signature file that cannot be read (exit 2), as opposed to one that does not
    verify (exit 1)."""


@dataclass(frozen=True)
class FileProblem:
    file: str  # relative to the model folder
    what: str  # changed, added, missing, or why a signature does not verify

    def as_json(self) -> dict[str, str]:
        return {"file": self.file, "problem": self.what}


@dataclass(frozen=True)
class SignedModel:
    """What a verified model.sig says: the model's root digest and each file's digest."""

    name: str
    digest: str  # sha256 over the files' digests, model-signing's subject digest
    files: dict[str, str]  # path -> sha256
    signer: str  # fingerprint of the public key


def _library() -> SimpleNamespace:
    try:
        from in_toto_attestation.v1 import statement
        from model_signing import hashing
        from model_signing._signing import sign_ec_key, sign_sigstore_pb, signing
    except ImportError as exc:
        raise ModelcardsError(
            f"signing needs model-signing: pip install 'modelcards-audit[signing]' ({exc})"
        ) from None
    return SimpleNamespace(
        statement=statement, hashing=hashing, ec=sign_ec_key, bundle=sign_sigstore_pb,
        signing=signing,
    )  # fmt: skip


def key_fingerprint(public_pem: bytes) -> str:
    """sha256 of the SubjectPublicKeyInfo PEM: the key hint model-signing writes in a bundle."""
    return hashlib.sha256(public_pem).hexdigest()


def _public_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )


def signer(private_key: Path) -> tuple[Any, str]:
    """model-signing's EC key signer and its public key's fingerprint; a file that is not a
    usable EC private key is one line."""
    from cryptography.hazmat.primitives import serialization

    lib = _library()
    try:
        key = serialization.load_pem_private_key(private_key.read_bytes(), None)
        return lib.ec.Signer(private_key), key_fingerprint(_public_pem(key.public_key()))
    except (ValueError, TypeError, OSError) as exc:
        raise SigningError(
            f"not a PEM EC private key (P-256, P-384 or P-521) without password: {exc}",
            file=str(private_key),
        ) from None
    except Exception as exc:  # cryptography's UnsupportedAlgorithm and kin
        raise SigningError(f"unusable private key: {exc}", file=str(private_key)) from None


def verifier(public_key: Path) -> tuple[Any, str]:
    """model-signing's EC key verifier and the key's fingerprint."""
    from cryptography.hazmat.primitives import serialization

    lib = _library()
    try:
        key = serialization.load_pem_public_key(public_key.read_bytes())
        return lib.ec.Verifier(public_key), key_fingerprint(_public_pem(key))
    except (ValueError, TypeError, OSError) as exc:
        raise SigningError(
            f"not a PEM EC public key (P-256, P-384 or P-521): {exc}", file=str(public_key)
        ) from None
    except Exception as exc:
        raise SigningError(f"unusable public key: {exc}", file=str(public_key)) from None


def hashing_config() -> Any:
    return _library().hashing.Config().set_ignored_paths(paths=UNSIGNED)


def _file_digests(manifest: Any) -> dict[str, str]:
    return {str(rd.identifier): rd.digest.digest_hex for rd in manifest.resource_descriptors()}


def sign_model(folder: Path, key: Any, fingerprint: str) -> tuple[str, SignedModel]:
    """model.sig's text for `folder` (every file but UNSIGNED), and what it says."""
    lib = _library()
    manifest = hashing_config().hash(folder)
    payload = lib.signing.Payload(manifest)
    subject = payload.statement.pb.subject[0]
    bundle = key.sign(payload).bundle.to_json()
    signed = SignedModel(
        manifest.model_name, subject.digest["sha256"], _file_digests(manifest), fingerprint
    )
    return bundle, signed


def sign_statement(key: Any, model: SignedModel, files: dict[str, str]) -> str:
    """card.sig's text: an in-toto statement whose subject is the model's digest and whose
    predicate holds the digests of the card's files (the OMS way to attach metadata)."""
    lib = _library()
    subject = lib.statement.ResourceDescriptor(name=model.name, digest={"sha256": model.digest}).pb
    predicate = {
        "files": [{"name": name, "digest": {"sha256": files[name]}} for name in sorted(files)]
    }
    payload = SimpleNamespace(  # all a Signer reads of a Payload is its statement
        statement=lib.statement.Statement(
            subjects=[subject], predicate_type=CARD_PREDICATE, predicate=predicate
        )
    )
    return str(key.sign(payload).bundle.to_json())


def _read_bundle(lib: SimpleNamespace, check: Any, path: Path) -> Any:
    """The bundle at `path` as `check` reads it (a keyless verifier has a reader of its own)."""
    try:
        if path.is_symlink() or not path.is_file():
            raise SigningError("not a regular file", file=str(path))
        if path.stat().st_size > MAX_SIGNATURE_BYTES:
            raise SigningError(f"over {MAX_SIGNATURE_BYTES >> 20} MB", file=str(path))
        reader = getattr(check, "read_bundle", None) or lib.bundle.Signature.read
        return reader(path)
    except SigningError:
        raise
    except Exception as exc:  # json, key and protobuf errors of a garbled file
        raise SigningError(
            f"not a model-signing bundle ({type(exc).__name__}: {exc})", file=str(path)
        ) from None


def _keyless(bundle: Any) -> bool:
    """A bundle with a certificate and no key hint, read as a key bundle."""
    material = getattr(getattr(bundle, "bundle", None), "verification_material", None)
    hint = getattr(getattr(material, "public_key", None), "hint", None)
    return material is not None and not hint and bool(getattr(material, "certificate", None))


def verified_statement(check: Any, path: Path) -> dict[str, Any] | str:
    """The signed in-toto statement of the bundle at `path`, or why the signature does not
    verify with this key (a string). A file that is no bundle at all raises SigningError."""
    lib = _library()
    bundle = _read_bundle(lib, check, path)
    if _keyless(bundle) and not hasattr(check, "read_bundle"):
        return "signed keylessly (a Sigstore certificate), not with a key: verify it with " \
            "--identity and --issuer"  # fmt: skip
    try:  # the Verifier's own step before it reads an OMS manifest: card.sig holds none
        payload_type, payload = check._verify_signed_content(bundle)
    except ValueError as exc:
        if "Key mismatch" in str(exc):
            return "signed by another key"
        return f"does not verify: {exc}"
    except Exception as exc:  # cryptography.exceptions.InvalidSignature
        return f"the signature does not match its content ({type(exc).__name__})"
    try:
        statement = json.loads(payload)
        if payload_type != "application/vnd.in-toto+json" or not isinstance(statement, dict):
            raise ValueError("not an in-toto statement")
        return statement
    except ValueError as exc:
        raise SigningError(
            f"signed content is not an in-toto statement: {exc}", file=str(path)
        ) from None


def signed_model(statement: dict[str, Any], path: Path, fingerprint: str) -> SignedModel:
    """The manifest a verified model.sig holds (its root digest checked against its files)."""
    lib = _library()
    try:
        manifest = lib.signing.dsse_payload_to_manifest(statement)
        digest = statement["subject"][0]["digest"]["sha256"]
        args = manifest.serialization_type
        if args.get("method") != "files":
            raise ValueError(f"serialization {args.get('method')!r} is not supported here")
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise SigningError(f"not a model manifest: {exc}", file=str(path)) from None
    return SignedModel(manifest.model_name, str(digest), _file_digests(manifest), fingerprint)


def folder_digests(folder: Path, statement: dict[str, Any]) -> dict[str, str]:
    """Every file's digest now, hashed the way the signature says it was signed."""
    lib = _library()
    args = statement["predicate"]["serialization"]
    config = lib.hashing.Config().use_file_serialization(
        hashing_algorithm=args["hash_type"], allow_symlinks=bool(args.get("allow_symlinks"))
    )
    config.set_ignored_paths(paths=[*args.get("ignore_paths", ()), *UNSIGNED])
    return _file_digests(config.hash(folder))


def compare_files(signed: dict[str, str], now: dict[str, str]) -> list[FileProblem]:
    """Each file that differs from the signed manifest, by name."""
    problems = [FileProblem(p, "changed") for p in sorted(signed.keys() & now.keys())
                if signed[p] != now[p]]  # fmt: skip
    problems += [
        FileProblem(p, "added (not in the signature)") for p in sorted(now - signed.keys())
    ]
    problems += [FileProblem(p, "missing") for p in sorted(signed.keys() - now.keys())]
    return problems


def card_statement_problems(
    statement: dict[str, Any], model: SignedModel, files: dict[str, str | None]
) -> list[FileProblem]:
    """What in a verified card.sig does not hold: another model digest, or a card file whose
    digest differs from the signed one (`files`: name -> sha256 now, None when absent)."""
    try:
        subject = statement["subject"][0]["digest"]["sha256"]
        listed = {f["name"]: f["digest"]["sha256"] for f in statement["predicate"]["files"]}
        if statement["predicateType"] != CARD_PREDICATE:
            raise ValueError(f"predicate {statement['predicateType']!r}")
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise SigningError(f"not a card statement: {exc}", file=CARD_SIGNATURE) from None
    problems = []
    if subject != model.digest:
        problems.append(FileProblem(CARD_SIGNATURE, "describes another model digest"))
    for name in sorted(listed.keys() | files.keys()):
        if name not in listed:
            if files.get(name) is not None:  # absent when signed and now (a BOM-less card)
                problems.append(FileProblem(name, "not in the card signature"))
        elif files.get(name) is None:
            problems.append(FileProblem(name, "missing"))
        elif files[name] != listed[name]:
            problems.append(FileProblem(name, "changed since the card was signed"))
    return problems
