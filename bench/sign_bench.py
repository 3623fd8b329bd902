"""`modelcards sign` / `verify` against OpenSSF model-signing's own CLI on the same files.

Makes a project with one fine-tune of --gb GB (random F16 safetensors in 4 shards, a Llama
config) over a tiny base, builds its card once (not timed), then times, each in a fresh
process, interleaved and --repeat times: `modelcards sign`, `model_signing sign key`,
`modelcards verify`, `model_signing verify key` (both sign into their own signature file; both
verifiers check model.sig, which the two tools write in the same format). Page cache warm (one
untimed `cat` of the files first). Wall seconds and CPU seconds (user + system of the child)
are reported best of N, with the ratio against model_signing in the same run.

    python bench/sign_bench.py --gb 2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from safetensors.numpy import save_file

BIN = Path(sys.executable).parent
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
          "num_hidden_layers": 2, "vocab_size": 320, "torch_dtype": "float16"}  # fmt: skip


def make_project(root: Path, gb: float) -> None:
    for name, shards, size in (("base", 1, 1 << 16), ("models/big", 4, int(gb * (1 << 30)))):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(CONFIG))
        rng = np.random.default_rng(0)
        for shard in range(shards):
            count = size // shards // 2 // 1024 * 1024
            values = rng.integers(0, 1 << 16, count, dtype=np.uint16)
            tensors = {f"layers.{shard}.weight": values.view(np.float16).reshape(-1, 1024)}
            save_file(tensors, str(folder / f"model-{shard + 1:05d}-of-{shards:05d}.safetensors"))
    (root / "modelcards.yml").write_text("models:\n  - path: models/big\n    base: {path: base}\n")
    key = ec.generate_private_key(ec.SECP256R1())
    (root / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    (root / "k.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    subprocess.run([BIN / "modelcards", "build", "-q", "--no-site", "-C", root], check=True)


def timed(command: list[str | Path]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best_of(commands: dict[str, list[str | Path]], repeat: int) -> dict[str, tuple[float, float]]:
    """Each command's best wall and best CPU seconds over `repeat` rounds, interleaved: each
    round runs every command, so a busy moment hits them alike."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for name, command in commands.items():
            wall, cpu = timed(command)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temp folder)")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="mc-sign-"))
    try:
        make_project(root, args.gb)
        model = root / "models/big"
        subprocess.run(["sh", "-c", f"cat {model}/*.safetensors > /dev/null"], check=True)
        ms = BIN / "model_signing"
        commands: dict[str, list[str | Path]] = {
            "modelcards sign": [BIN / "modelcards", "sign", "big", "--key", root / "k.pem",
                                "-C", root],
            "model_signing sign key": [ms, "sign", "key", model, "--private_key", root / "k.pem",
                                       "--signature", root / "ms.sig"],
            "modelcards verify": [BIN / "modelcards", "verify", "big", "--key", root / "k.pub",
                                  "-C", root],
            "model_signing verify key": [ms, "verify", "key", model, "--public_key",
                                         root / "k.pub", "--signature", model / "model.sig"],
        }  # fmt: skip
        best = best_of(commands, args.repeat)
        size = sum(f.stat().st_size for f in model.iterdir()) / 1e9
        print(f"{size:.2f} GB in {len(list(model.iterdir()))} files, best of {args.repeat}, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
        print("| command | wall s | CPU s | wall ratio | CPU ratio |")
        print("|---|---|---|---|---|")
        for name, (wall, cpu) in best.items():
            base = best[name.replace("modelcards", "model_signing") + " key"
                        if name.startswith("modelcards") else name]  # fmt: skip
            print(
                f"| `{name}` | {wall:.2f} | {cpu:.2f} | {base[0] / wall:.2f} | {base[1] / cpu:.2f} |"
            )
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
