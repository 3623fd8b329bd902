"""`sign` and `verify`: OpenSSF model-signing signatures of a model and its card, offline with
a key, or keyless through Sigstore for those who have the network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from modelcards.cli.app import cli, fail_cleanly, repo_option, text_or_json

key_path = click.Path(dir_okay=False, path_type=Path)
trust_config_option = click.option(
    "--trust-config",
    type=key_path,
    help="A private Sigstore instance's client trust config (JSON); verifies offline.",
)
staging_option = click.option(
    "--staging", is_flag=True, help="Sigstore's staging instance, for trying keyless out."
)


@cli.command()
@click.argument("model")
@click.option("--key", type=key_path, help="PEM EC private key (P-256/384/521).")
@click.option(
    "--keyless", is_flag=True, help="Sign through Sigstore (needs the network and an OIDC token)."
)
@click.option(
    "--identity-token",
    envvar="SIGSTORE_ID_TOKEN",
    help="With --keyless: the OIDC token [env SIGSTORE_ID_TOKEN; default: the CI's ambient one].",
)
@trust_config_option
@staging_option
@repo_option
@fail_cleanly
def sign(
    model: str,
    key: Path | None,
    keyless: bool,
    identity_token: str | None,
    trust_config: Path | None,
    staging: bool,
    root: Path,
) -> None:
    """Sign MODEL (its name or folder in modelcards.yml) and its card: offline with a key, or
    keyless through Sigstore.

    Writes model.sig, OpenSSF model-signing's bundle over every file's digest (the OMS v1.0
    manifest; what build writes (README.md, CHANGES.md, card.json, weight-changes.svg, the EU
    documents) and the signatures are left out), and card.sig, a second signed statement about the same model digest listing the
    digests of card.json, CHANGES.md and the CycloneDX ML-BOM `export` prints. Run it after
    `modelcards build`. Needs the extra: pip install 'modelcards-audit[signing]'.

    --keyless signs as the identity of an OIDC token (from --identity-token, or the CI's
    ambient credentials: GitHub Actions with `permissions: id-token: write`), with a
    short-lived Fulcio certificate, both signatures logged in Rekor; never a browser flow.
    It needs the network: offline it fails in one line naming what was unreachable.

    \b
    Examples:
      openssl ecparam -name prime256v1 -genkey -noout -out signing.pem
      openssl ec -in signing.pem -pubout -out signing.pub
      modelcards sign chat-tuned --key signing.pem
      modelcards sign chat-tuned --keyless          # in CI, with ambient credentials

    Exit status: 0 when both signatures are written, 2 on a bad key or token, an unknown
    model or (keyless) an unreachable Sigstore.
    """
    from modelcards.api import sign as sign_model

    source = click.get_current_context().get_parameter_source("identity_token")
    if not keyless and source is click.core.ParameterSource.ENVIRONMENT:
        identity_token = None  # a CI's SIGSTORE_ID_TOKEN does not get in the way of --key
    signed = sign_model(root, model, key=key, keyless=keyless, identity_token=identity_token,
                        trust_config=trust_config, staging=staging)  # fmt: skip
    by = f"keyless as {signed.signer}" if keyless else f"key sha256:{signed.signer}"
    click.echo(
        f"signed {model}: {len(signed.files)} files, model digest sha256:{signed.digest}, "
        f"{by} -> model.sig, card.sig",
        err=True,
    )


@cli.command()
@click.argument("model")
@click.option("--key", type=key_path, help="PEM EC public key of the signer.")
@click.option(
    "--identity", help="A keyless signer's identity: the email or CI workflow URI it signed as."
)
@click.option("--issuer", help="With --identity: the OIDC issuer that vouched for it.")
@trust_config_option
@staging_option
@repo_option
@text_or_json("json for scripts.")
@fail_cleanly
def verify(
    model: str,
    key: Path | None,
    identity: str | None,
    issuer: str | None,
    trust_config: Path | None,
    staging: bool,
    root: Path,
    fmt: str,
) -> None:
    """Check MODEL's files against model.sig and its card against card.sig, with a public key
    or against a keyless (Sigstore) signer's identity and issuer.

    Every file is hashed again and compared with the signed manifest, so a failure names each
    file that changed, was added or is missing; card.json, CHANGES.md and the ML-BOM are
    checked against card.sig. The signatures are model-signing's format: `model_signing
    verify key MODEL --signature MODEL/model.sig --public_key KEY.pub` accepts model.sig too.

    A keyless signature is checked against Sigstore's trust root, fetched (TUF) over the
    network, or read from --trust-config offline: the certificate must chain to its CA, be
    logged in its Rekor and name --identity, issued by --issuer.

    \b
    Examples:
      modelcards verify chat-tuned --key signing.pub
      modelcards verify models/chat-tuned --key signing.pub --format json
      modelcards verify chat-tuned --identity \\
        https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main \\
        --issuer https://token.actions.githubusercontent.com

    Exit status: 0 when every file and the card verify; 1 naming each that does not (a missing
    signature, or one made by another key, is 1 too: the model is not signed by this key); 2
    on a key that is not a public key, a signature file that is not a signature, or (keyless)
    an unreachable trust root.
    """
    from modelcards.api import verify as verify_model

    result = verify_model(root, model, key=key, identity=identity, issuer=issuer,
                          trust_config=trust_config, staging=staging)  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        for problem in result.problems:
            click.echo(f"{result.folder}/{problem.file}: {problem.what}")
        state = "verified" if result.ok else f"NOT verified ({len(result.problems)} problems)"
        click.echo(f"{result.model}: {state} against {result.against}")
    sys.exit(0 if result.ok else 1)
