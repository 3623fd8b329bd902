"""A model's keyless signer in modelcards.yml: `models[i].signing_identity` and
`signing_issuer` (who must have signed it through Sigstore), and `signing_trust_config` (a
private Sigstore instance's client trust config, a file in the project).

`policy.require_signature` needs a way to check every model: `policy.signing_key`, or a
signer of each model's own; a model with neither is named up front, before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelcards.history.keyless import KeylessIdentity
from modelcards.project.config_checker import Checker

IDENTITY_KEYS = ("signing_identity", "signing_issuer", "signing_trust_config")


def signing_identity(check: Checker, model: Any, where: str, root: Path) -> KeylessIdentity | None:
    """`models[i].signing_identity` and its issuer (both or neither) and trust config."""
    given = [key for key in IDENTITY_KEYS if key in model]
    if not given:
        return None
    if "signing_identity" not in model or "signing_issuer" not in model:
        missing = "signing_issuer" if "signing_identity" in model else "signing_identity"
        raise check.fail(
            f"{where}.{given[0]}",
            f"needs {where}.{missing} too: a keyless signature is checked against an "
            "identity and the OIDC issuer that vouched for it",
            model,
            given[0],
        )
    identity = check.string(
        model["signing_identity"], f"{where}.signing_identity", model, "signing_identity"
    )
    issuer = check.string(
        model["signing_issuer"], f"{where}.signing_issuer", model, "signing_issuer"
    )
    if not issuer.startswith(("https://", "http://")):
        raise check.fail(
            f"{where}.signing_issuer",
            f"{issuer!r} is not an OIDC issuer's URL "
            "(e.g. https://token.actions.githubusercontent.com)",
            model,
            "signing_issuer",
        )
    trust = None
    if "signing_trust_config" in model:
        key = f"{where}.signing_trust_config"
        name = check.string(model["signing_trust_config"], key, model, "signing_trust_config")
        trust = root / name
        if not trust.resolve().is_relative_to(root.resolve()) or not trust.is_file():
            raise check.fail(
                key, f"no such file in the project: {name}", model, "signing_trust_config"
            )
    return KeylessIdentity(identity, issuer, trust)


def require_signers(
    check: Checker, policy: Any, signing_key: str | None, models: list[tuple[str, bool]]
) -> None:
    """With `policy.require_signature`: every model (name, has a keyless signer) can be
    checked, by the project's key or its own identity."""
    if signing_key is not None:
        return
    unchecked = [name for name, keyless in models if not keyless]
    if unchecked:
        raise check.fail(
            "policy.require_signature",
            "needs policy.signing_key, the public key signatures are checked with, or a "
            f"keyless signer (signing_identity, signing_issuer) of each model: "
            f"{', '.join(unchecked)} has neither",
            policy,
            "require_signature",
        )
