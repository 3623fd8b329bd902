"""`modelcards verify --identity --issuer` (keyless) against OpenSSF model-signing's own
`verify sigstore` on the same files and the same Sigstore bundle, offline.

Makes sign_bench's project (one fine-tune of --gb GB), signs it keylessly through
`modelcards sign --keyless` with the test suite's local Sigstore instance standing in for
Fulcio and Rekor (tests/sigstore_local.py: own CA, CT and Rekor keys in a client trust config),
then times, each in a fresh process, interleaved and --repeat times: `modelcards verify` with
`--trust-config`, `model_signing verify sigstore` with `--trust_config` (its verifier reads the
model.sig modelcards wrote), and `modelcards verify --key` of a key-signed copy of the same
manifest for reference. No network: every proxy points at a dead port.

    python bench/keyless_bench.py --gb 2 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sign_bench import BIN, best_of, make_project

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sigstore_local import DEAD, LocalSigstore  # noqa: E402

IDENTITY = "release@modelcards.invalid"
ISSUER = "https://issuer.modelcards.invalid"


def token() -> str:
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"iss": ISSUER, "sub": IDENTITY, "aud": "sigstore", "iat": now, "exp": now + 600}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def sign_keyless(root: Path, trust: Path, local: LocalSigstore) -> None:
    from model_signing._signing import sign_sigstore

    from modelcards import api

    sign_sigstore.Signer = local.signer_class()  # type: ignore[misc]
    api.sign(root, "big", keyless=True, identity_token=token(), trust_config=trust)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temp folder)")
    args = parser.parse_args()
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        os.environ[name] = DEAD
    root = args.dir or Path(tempfile.mkdtemp(prefix="mc-keyless-"))
    try:
        make_project(root, args.gb)
        model = root / "models/big"
        local = LocalSigstore()
        trust = local.trust_config(root / "trust.json")
        keyed = root / "keyed"  # the same files, key-signed, for reference
        shutil.copytree(root, keyed, ignore=shutil.ignore_patterns("keyed"))
        subprocess.run([BIN / "modelcards", "sign", "big", "--key", keyed / "k.pem", "-C", keyed],
                       check=True, capture_output=True)  # fmt: skip
        sign_keyless(root, trust, local)
        subprocess.run(["sh", "-c", f"cat {model}/* {keyed}/models/big/* > /dev/null"], check=True)
        commands: dict[str, list[str | Path]] = {
            "modelcards verify --identity": [BIN / "modelcards", "verify", "big", "--identity",
                                             IDENTITY, "--issuer", ISSUER, "--trust-config",
                                             trust, "-C", root],
            "model_signing verify sigstore": [BIN / "model_signing", "verify", "sigstore", model,
                                              "--signature", model / "model.sig", "--identity",
                                              IDENTITY, "--identity_provider", ISSUER,
                                              "--trust_config", trust],
            "modelcards verify --key": [BIN / "modelcards", "verify", "big", "--key",
                                        keyed / "k.pub", "-C", keyed],
        }  # fmt: skip
        best = best_of(commands, args.repeat)
        size = sum(f.stat().st_size for f in model.iterdir()) / 1e9
        print(f"{size:.2f} GB in {len(list(model.iterdir()))} files, best of {args.repeat}, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
        print("| command | wall s | CPU s | wall ratio | CPU ratio |")
        print("|---|---:|---:|---:|---:|")
        base = best["model_signing verify sigstore"]
        for name, (wall, cpu) in best.items():
            ratios = f"{base[0] / wall:.2f} | {base[1] / cpu:.2f}"
            print(f"| `{name}` | {wall:.2f} | {cpu:.2f} | {ratios} |")
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
