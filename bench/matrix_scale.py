#!/usr/bin/env python3
"""A CI matrix on one machine: N `modelcards build --shard K/N` jobs, then `modelcards site merge`.

    python bench/matrix_scale.py [--models 10000] [--shards 10] [--compare] [--out DIR]

Makes the project of bench/site_scale.py (N tiny fine-tunes of one base, committed), then runs
each shard job as a CI runner would: in a checkout of its own (`git clone`), a fresh
`modelcards build --shard K/N` process with every core of this machine, one job after another.
The merge job gets the parts copied beside its own checkout (the artifact download, not timed)
and runs `modelcards site merge`. Timed: each job's wall and CPU seconds, and the merge's.

With --compare, the baseline timed in the same run: one machine's `modelcards build` of the
whole project in another checkout; the merged site must be the same bytes (checked, printed).
Nothing here is a test: it prints the figures and exits 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_scale import make_project  # noqa: E402


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one command in a fresh process (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} in {cwd} exited {done.returncode}:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def tree(folder: Path) -> dict[str, bytes]:
    files = (p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--compare", action="store_true", help="also build on one machine")
    parser.add_argument("--out", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="keep --out's generated project")
    args = parser.parse_args(argv)
    work = args.out or Path(tempfile.mkdtemp(prefix="modelcards-matrix-"))
    origin = work / "origin"
    reuse = args.out is not None and (origin / ".git").is_dir() and args.reuse
    for entry in work.iterdir() if work.is_dir() else ():
        if not (reuse and entry == origin):
            shutil.rmtree(entry)
    work.mkdir(parents=True, exist_ok=True)
    modelcards = [sys.executable, "-m", "modelcards"]
    env_note = f"{os.cpu_count()} CPUs"
    try:
        started = time.perf_counter()
        if not reuse:
            make_project(origin, args.models)
        # git's automatic gc, started in the background by the commit, must not pack the
        # objects away while the checkouts are cloned
        # (the commit's own gc may still be running: wait for it rather than fail)
        for _attempt in range(120):
            gc = subprocess.run(["git", "-C", str(origin), "gc", "-q"], capture_output=True)
            if gc.returncode == 0 or b"already running" not in gc.stderr:
                break
            time.sleep(5)
        gc.check_returncode()
        print(f"models {args.models:,}, shards {args.shards}; making the repo "
              f"{time.perf_counter() - started:.0f} s (not timed below); {env_note}")  # fmt: skip
        jobs = []
        for number in range(1, args.shards + 1):
            checkout = work / f"shard-{number}"
            subprocess.run(["git", "clone", "-q", str(origin), str(checkout)], check=True)
            wall, cpu = timed([*modelcards, "build", "--shard", f"{number}/{args.shards}", "-q"],
                              checkout)  # fmt: skip
            jobs.append((wall, cpu))
            print(
                f"shard {number:>3}/{args.shards}: {wall:7.1f} s wall {cpu:7.1f} s cpu", flush=True
            )
        merge = work / "merge"
        subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{work / 'origin'}",
                        str(merge)], check=True)  # fmt: skip
        for number in range(1, args.shards + 1):
            shutil.copytree(work / f"shard-{number}/site", merge / "parts" / f"site-{number}")
        parts = [f"parts/site-{n}" for n in range(1, args.shards + 1)]
        merge_wall, merge_cpu = timed([*modelcards, "site", "merge", *parts, "-q"], merge)
        walls = [w for w, _ in jobs]
        print(f"per shard: min {min(walls):.1f} s, median {statistics.median(walls):.1f} s, "
              f"max {max(walls):.1f} s wall; cpu median {statistics.median(c for _, c in jobs):.1f} s")  # fmt: skip
        print(f"merge: {merge_wall:.1f} s wall, {merge_cpu:.1f} s cpu")
        print(f"matrix wall (slowest shard + merge): {max(walls) + merge_wall:.1f} s")
        if args.compare:
            whole = work / "whole"
            subprocess.run(["git", "clone", "-q", str(work / "origin"), str(whole)], check=True)
            wall, cpu = timed([*modelcards, "build", "-q"], whole)
            same = tree(whole / "site") == tree(merge / "site")
            print(f"one machine (baseline): {wall:.1f} s wall, {cpu:.1f} s cpu; matrix / one "
                  f"machine {(max(walls) + merge_wall) / wall:.2f}; merged site byte-identical: {same}")  # fmt: skip
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
