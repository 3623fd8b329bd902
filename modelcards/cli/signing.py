"""`sign` and `verify`: OpenSSF model-signing signatures of a model and its card, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from modelcards.cli.app import cli, fail_cleanly, repo_option, text_or_json

key_path = click.Path(dir_okay=False, path_type=Path)


@cli.command()
@click.argument("model")
@click.option("--key", required=True, type=key_path, help="PEM EC private key (P-256/384/521).")
@repo_option
@fail_cleanly
def sign(model: str, key: Path, root: Path) -> None:
    """Sign MODEL (its name or folder in modelcards.yml) and its card, offline, with a key.

    Writes model.sig, OpenSSF model-signing's bundle over every file's digest (the OMS v1.0
    manifest; what build writes (README.md, CHANGES.md, card.json, weight-changes.svg, the EU
    documents) and the signatures are left out), and card.sig, a second signed statement about the same model digest listing the
    digests of card.json, CHANGES.md and the CycloneDX ML-BOM `export` prints. Run it after
    `modelcards build`. Needs the extra: pip install 'modelcards-audit[signing]'.

    \b
    Examples:
      openssl ecparam -name prime256v1 -genkey -noout -out signing.pem
      openssl ec -in signing.pem -pubout -out signing.pub
      modelcards sign chat-tuned --key signing.pem

    Exit status: 0 when both signatures are written, 2 on a bad key or an unknown model.
    """
    from modelcards.api import sign as sign_model

    signed = sign_model(root, model, key=key)
    click.echo(
        f"signed {model}: {len(signed.files)} files, model digest sha256:{signed.digest}, "
        f"key sha256:{signed.signer} -> model.sig, card.sig",
        err=True,
    )


@cli.command()
@click.argument("model")
@click.option("--key", required=True, type=key_path, help="PEM EC public key of the signer.")
@repo_option
@text_or_json("json for scripts.")
@fail_cleanly
def verify(model: str, key: Path, root: Path, fmt: str) -> None:
    """Check MODEL's files against model.sig and its card against card.sig, with a public key.

    Every file is hashed again and compared with the signed manifest, so a failure names each
    file that changed, was added or is missing; card.json, CHANGES.md and the ML-BOM are
    checked against card.sig. The signatures are model-signing's format: `model_signing
    verify key MODEL --signature MODEL/model.sig --public_key KEY.pub` accepts model.sig too.

    \b
    Examples:
      modelcards verify chat-tuned --key signing.pub
      modelcards verify models/chat-tuned --key signing.pub --format json

    Exit status: 0 when every file and the card verify; 1 naming each that does not (a missing
    signature, or one made by another key, is 1 too: the model is not signed by this key); 2
    on a key that is not a public key or a signature file that is not a signature.
    """
    from modelcards.api import verify as verify_model

    result = verify_model(root, model, key=key)
    if fmt == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        for problem in result.problems:
            click.echo(f"{result.folder}/{problem.file}: {problem.what}")
        state = "verified" if result.ok else f"NOT verified ({len(result.problems)} problems)"
        click.echo(f"{result.model}: {state} against key sha256:{result.signer}")
    sys.exit(0 if result.ok else 1)
