"""A model page's signature badge — signed / verified / not signed, and the signer's key —
worked out when the site is built (card.json cannot hold it: a committed file never depends on
the commit that holds it).

It hashes nothing: the signed manifest is compared with the digests the card already records
(`provenance.files`), the card statement with the card.json and CHANGES.md the site is built
from. The ML-BOM's digest is left to `modelcards verify`, which rebuilds it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from modelcards.history.base_signature import stated_signer
from modelcards.history.keyless import KeylessIdentity, verifier_for
from modelcards.history.signatures import (
    CARD_SIGNATURE,
    MODEL_SIGNATURE,
    UNSIGNED,
    card_statement_problems,
    compare_files,
    signed_model,
    verified_statement,
)
from modelcards.publish.settings import SiteProject
from modelcards.render import RenderedModel
from modelcards.safeio.errors import ModelcardsError

MAX_HINT_BYTES = 64 << 20


def _stated(path: Path) -> dict[str, str]:
    """The signer the bundle names, unverified (shown as "signed"): its key's fingerprint, or
    a keyless certificate's identity."""
    stated = stated_signer(path) or ""
    if stated.startswith("key sha256:"):
        return {"signer": stated.removeprefix("key sha256:")}
    if stated.startswith("certificate for "):
        return {"signer": stated.removeprefix("certificate for "), "keyless": "Sigstore"}
    return {"signer": "unknown"}


def _ignored_paths(statement: dict[str, Any]) -> list[Any]:
    """What the signer left out (model-signing leaves .git* out by default), as it recorded."""
    serialization = (statement.get("predicate") or {}).get("serialization") or {}
    paths = serialization.get("ignore_paths") or []
    return paths if isinstance(paths, list) else []


def signature_state(
    folder: Path,
    key: Path | KeylessIdentity | None,
    context: dict[str, Any],
    card_json: str,
    changes: str,
) -> dict[str, str]:
    """{"state": ..., "signer": fingerprint or identity, "note": why} for the model page
    (with "keyless" and its "issuer" for a Sigstore signature)."""
    model_sig = folder / MODEL_SIGNATURE
    if model_sig.is_symlink() or not model_sig.is_file():
        return {"state": "not signed"}
    signed_by = _stated(model_sig)
    if key is None:
        return {"state": "signed", **signed_by,
                "note": "no policy.signing_key or signing_identity to verify it with"}  # fmt: skip
    keyless = (
        {"keyless": "Sigstore", "issuer": key.issuer} if isinstance(key, KeylessIdentity) else {}
    )
    try:
        check, fingerprint = verifier_for(key)
        statement = verified_statement(check, model_sig)
        if isinstance(statement, str):
            return {"state": "does not verify", **signed_by, "note": statement}
        signed = signed_model(statement, model_sig, fingerprint)
        recorded = (context.get("provenance") or {}).get("files") or []
        ignored = tuple(str(p).rstrip("/") for p in _ignored_paths(statement))
        now = {f["path"]: f.get("sha256") for f in recorded if f["path"] not in UNSIGNED
               and not any(f["path"] == i or f["path"].startswith(i + "/") for i in ignored)}  # fmt: skip
        problems = compare_files(signed.files, now)
        card_sig = folder / CARD_SIGNATURE
        card = verified_statement(check, card_sig) if card_sig.is_file() else "no card.sig"
        if isinstance(card, str):
            return {"state": "does not verify", "signer": fingerprint, **keyless,
                    "note": f"card: {card}"}  # fmt: skip
        card_files: dict[str, str | None] = {name: hashlib.sha256(text.encode("utf-8")).hexdigest()
                      for name, text in (("card.json", card_json), ("CHANGES.md", changes))}  # fmt: skip
        problems += [
            p for p in card_statement_problems(card, signed, card_files) if p.file in card_files
            or p.file == CARD_SIGNATURE
        ]  # fmt: skip
    except ModelcardsError as exc:  # no model-signing here, a bad key or a garbled bundle
        return {"state": "signed", **signed_by, "note": f"not checked: {exc.reason}"}
    if problems:
        shown = ", ".join(f"{p.file} {p.what}" for p in problems[:3])
        return {"state": "does not verify", "signer": fingerprint, **keyless, "note": shown}
    return {"state": "verified", "signer": fingerprint, **keyless}


def model_signature(config: SiteProject, model: RenderedModel) -> dict[str, str]:
    """The badge of one rendered model, checked against its keyless signer, else with the
    project's `policy.signing_key`."""
    key = config.policy.signing_key
    identity = next((m.signing_identity for m in config.models if m.path == model.path), None)
    return signature_state(
        config.root / model.path,
        identity or (config.root / key if key else None),
        model.context,
        model.card_json,
        model.changes,
    )
