"""What naming a deep merge card's sources costs `check`, against the same check without it.

    python bench/merge_identity_bench.py [--mb 128] [--runs 5] [--dir /tmp/mc-mergekey]

Two copies of one project (a 50/50 linear merge of two source folders of `--mb` MB each, F32
2,048² matrices, kept in the project and committed; a small model with no mergekit config
beside it), each built with `--deep` (site included, so the record is written) and committed:
"before" with the sources left out of the fingerprint and the record's key (the code as it was:
`state._merge_sources`, `record.source_key` and `check.as_built` patched to do nothing), "after"
with this code. Timed, each in a fresh process, best of `--runs` interleaved, CPU seconds of
the call (the project modules imported before the timer in both):

- `check` on the record's fast path (each copy with its own record);
- `check` on the slow path (the record moved aside): every sha256 from the warm hash cache;
- `check` after source b's mtime changed (same bytes): the slow path hashes b once, against
  `sha256sum` of b in the same run — the one read a changed source costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AFTER = """
import modelcards.project.state as state, modelcards.project.record as record
import modelcards.project.check as check
"""  # the same modules loaded before the timer as for BEFORE: imports are not timed
BEFORE = (
    AFTER
    + """
state._merge_sources = lambda *args: None
record.source_key = lambda keys, entry, files: []
check.as_built = lambda config, state, cache, git, card_json: state
"""
)

CHECK = """
import json, sys, time
sys.path.insert(0, {repo!r})
{patch}
from modelcards import api
wall, cpu = time.perf_counter(), time.process_time()
report = api.check({root!r})
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
stale = [p.model for p in report.problems if p.kind == "stale"]
print(json.dumps({{"cpu": cpu, "wall": wall, "stale": stale, "rendered": report.rendered}}))
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def make_project(root: Path, mb: int) -> None:
    from safetensors.numpy import save_file

    count = max(1, mb * 1024 * 1024 // (2048 * 2048 * 4))
    weights = []
    for seed, name in ((1, "a"), (2, "b")):
        rng = np.random.default_rng(seed)
        tensors = {
            f"model.layers.{i}.mlp.up_proj.weight": rng.standard_normal((2048, 2048), np.float32)
            for i in range(count)
        }
        folder = root / "sources" / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"model_type": "llama"}')
        save_file(tensors, str(folder / "model.safetensors"))
        weights.append(tensors)
    merge = root / "models" / "merge"
    merge.mkdir(parents=True)
    (merge / "config.json").write_text('{"model_type": "llama"}')
    save_file({k: (weights[0][k] + weights[1][k]) / 2 for k in weights[0]},
              str(merge / "model.safetensors"))  # fmt: skip
    (merge / "mergekit_config.yml").write_text(
        "models:\n  - model: sources/a\n  - model: sources/b\nmerge_method: linear\n"
    )
    plain = root / "models" / "plain"
    plain.mkdir(parents=True)
    (plain / "config.json").write_text('{"model_type": "llama"}')
    save_file({"w": np.ones((64, 64), np.float32)}, str(plain / "model.safetensors"))
    (root / "modelcards.yml").write_text(
        "models:\n  - path: models/merge\n  - path: models/plain\n"
    )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "models")


def build(root: Path, patch: str, env: dict[str, str]) -> None:
    code = f"import sys; sys.path.insert(0, {str(REPO)!r})\n{patch}\n" \
           f"from modelcards import api\napi.build({str(root)!r}, deep=True, jobs=1)\n"  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    git(root, "add", "-A")
    git(root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "cards")


def check(root: Path, patch: str, env: dict[str, str]) -> dict:
    code = CHECK.format(repo=str(REPO), patch=patch, root=str(root))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0 and not done.stdout.strip():
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="mc-mergekey-"))
    env = {**os.environ, "MODELCARDS_CACHE": str(work / "hashes.json"), "HF_HUB_OFFLINE": "1"}
    copies = {"before": (work / "before", BEFORE), "after": (work / "after", AFTER)}
    for root, patch in copies.values():
        make_project(root, args.mb)
        build(root, patch, env)
    best: dict[tuple[str, str], dict] = {}

    def keep(case: str, name: str, result: dict) -> None:
        known = best.get((case, name))
        if known is None or result["cpu"] < known["cpu"]:
            best[case, name] = result

    for _ in range(args.runs):
        for name, (root, patch) in copies.items():
            keep("fast path", name, check(root, patch, env))
            record = root / "modelcards-site" / ".modelcards-record.json"
            record.rename(root / "record-aside")
            keep("slow path, warm cache", name, check(root, patch, env))
            source = root / "sources" / "b" / "model.safetensors"
            os.utime(source, ns=(time.time_ns(), time.time_ns()))  # same bytes, hashed again
            keep("slow path, b's mtime changed", name, check(root, patch, env))
            (root / "record-aside").rename(record)
        source = copies["after"][0] / "sources" / "b" / "model.safetensors"
        wall, cpu = time.perf_counter(), os.times()
        subprocess.run(["sha256sum", str(source)], check=True, capture_output=True)
        after = os.times()
        keep("sha256sum of b", "baseline", {"cpu": after.children_user + after.children_system
                                            - cpu.children_user - cpu.children_system,
                                            "wall": time.perf_counter() - wall, "stale": [],
                                            "rendered": 0})  # fmt: skip
    print(f"load average {os.getloadavg()}, {args.mb} MB per source, best of {args.runs}")
    print("| case | code | CPU s | wall s | stale | rendered |")
    print("|---|---|---:|---:|---|---:|")
    for (case, name), r in best.items():
        print(f"| {case} | {name} | {r['cpu']:.3f} | {r['wall']:.3f} | "
              f"{', '.join(r['stale']) or '—'} | {r['rendered']} |")  # fmt: skip
    if args.dir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
