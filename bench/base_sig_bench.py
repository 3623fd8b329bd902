"""What checking a signed base costs `build`, against OpenSSF model-signing's own verify of it.

Makes a project with a base of --gb GB (random F16 safetensors in 4 shards, a Llama config)
signed by its publisher with `model_signing sign key`, and a small fine-tune whose config names
the publisher's key (`base_signing_key`); builds once untimed (the base's files hashed into the
cache, as on any build after the first). Then times, each in a fresh process, interleaved and
--repeat times: `modelcards build` of the fine-tune's card with the base unsigned (its model.sig
moved aside), the same build with the base signed (checked and recorded in the card), and
`model_signing verify key` of the base (what an auditor runs otherwise: every byte hashed
again). The card is removed before each build, so both builds render it. Page cache warm. Wall
and CPU seconds (user + system of the child), best of N.

    python bench/base_sig_bench.py --gb 2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from safetensors.numpy import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sign_bench import BIN, CONFIG, timed  # noqa: E402


def make_project(root: Path, gb: float) -> None:
    for name, shards, size in (("base", 4, int(gb * (1 << 30))), ("models/tuned", 1, 1 << 16)):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(CONFIG))
        rng = np.random.default_rng(0 if name == "base" else 1)
        for shard in range(shards):
            count = size // shards // 2 // 1024 * 1024
            values = rng.integers(0, 1 << 16, count, dtype=np.uint16)
            tensors = {f"layers.{shard}.weight": values.view(np.float16).reshape(-1, 1024)}
            save_file(tensors, str(folder / f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"))
    key = ec.generate_private_key(ec.SECP256R1())
    (root / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    (root / "k.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    (root / "modelcards.yml").write_text(
        "models:\n  - path: models/tuned\n    base: {path: base}\n    base_signing_key: k.pub\n"
    )
    subprocess.run([BIN / "model_signing", "sign", "key", root / "base", "--private_key",
                    root / "k.pem", "--signature", root / "base/model.sig"], check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([BIN / "modelcards", "build", "-q", "--no-site", "-C", root], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temp folder)")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="mc-basesig-"))
    try:
        make_project(root, args.gb)
        base, tuned, aside = root / "base", root / "models/tuned", root / "model.sig.aside"
        subprocess.run(["sh", "-c", f"cat {base}/*.safetensors > /dev/null"], check=True)
        build: list[str | Path] = [BIN / "modelcards", "build", "-q", "--no-site", "-C", root]
        verify: list[str | Path] = [BIN / "model_signing", "verify", "key", base,
                                    "--public_key", root / "k.pub", "--signature", aside]  # fmt: skip
        best: dict[str, tuple[float, float]] = {}
        states: list[str] = []
        for _ in range(args.repeat):
            for name in ("build, base unsigned", "build, base signed", "model_signing verify"):
                if name == "model_signing verify":
                    (base / "model.sig").rename(aside)  # its verifier ignores no stray model.sig
                    result = timed(verify)
                    aside.rename(base / "model.sig")
                else:
                    if name.endswith("unsigned"):
                        (base / "model.sig").rename(aside)
                    for output in ("README.md", "card.json", "CHANGES.md"):
                        (tuned / output).unlink(missing_ok=True)
                    result = timed(build)
                    card = json.loads((tuned / "card.json").read_text())
                    states.append(card["provenance"]["base_signature"]["state"])
                    if name.endswith("unsigned"):
                        aside.rename(base / "model.sig")
                old = best.get(name, (float("inf"), float("inf")))
                best[name] = (min(old[0], result[0]), min(old[1], result[1]))
        size = sum(f.stat().st_size for f in base.iterdir()) / 1e9
        print(f"base {size:.2f} GB in {len(list(base.iterdir()))} files, best of {args.repeat}, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"states recorded: {sorted(set(states))}")  # fmt: skip
        print("| command | wall s | CPU s |")
        print("|---|---:|---:|")
        for name, (wall, cpu) in best.items():
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
        extra = best["build, base signed"][1] - best["build, base unsigned"][1]
        print(
            f"checking the base's signature in build: +{extra:.2f} CPU s, "
            f"{extra / best['model_signing verify'][1]:.3f} of model_signing's verify"
        )
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
