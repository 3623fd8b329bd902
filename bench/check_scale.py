"""Bench: `modelcards check` and a `build` with nothing changed, on N models and thousands of
commits; and how long the short commands take to start.

Baseline, timed in the same run on the same repository: the first `build`, which renders every
card (and, with --site, builds the site). Start-up is timed against `python -c pass`, on a
one-model project. Prints Markdown tables, wall and CPU seconds (CPU counts git, mkdocs and
render workers too: the steadier figure on a shared machine).

    python bench/check_scale.py [--models 100] [--commits 3000] [--site] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.org",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.org",
}  # fmt: skip


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {**os.environ, **GIT_ENV}
    result = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0", *args], cwd=repo, env=env,
                            input=stdin, capture_output=True, check=True)  # fmt: skip
    return result.stdout.decode()


def make_repo(root: Path, models: int, commits: int) -> None:
    rng = np.random.default_rng(0)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16,
              "num_hidden_layers": 1, "vocab_size": 32, "max_position_embeddings": 256}  # fmt: skip
    (root / "base").mkdir(parents=True)
    (root / "base/config.json").write_text(json.dumps(config))
    save_file(
        {"w": rng.standard_normal((32, 16), dtype=np.float32)}, str(root / "base/model.safetensors")
    )
    lines = ["models:"]
    for i in range(models):
        folder = root / "models" / f"m{i:03d}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(
            json.dumps({**config, "max_position_embeddings": 256 + i})
        )
        save_file(
            {"w": rng.standard_normal((32, 16), dtype=np.float32)},
            str(folder / "model.safetensors"),
        )
        lines += [f"  - path: models/m{i:03d}", "    base: base"]
    (root / "modelcards.yml").write_text("\n".join(lines) + "\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "feat: import models")
    # thousands of small commits through fast-import: each touches one model's notes file
    stream = []
    for n in range(commits):
        path = f"models/m{n % models:03d}/notes.txt"
        body = f"run {n}\n".encode()
        message = f"train: run {n}\n".encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"committer bench <b@example.org> {1700000000 + n} +0000\n".encode())
        stream.append(b"data %d\n%s" % (len(message), message))
        if n == 0:
            stream.append(b"from refs/heads/main^0\n")
        stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(body), body))
    git(root, "fast-import", "--quiet", stdin=b"".join(stream))
    git(root, "checkout", "-q", "-f", "main")
    for n in range(0, commits, max(1, commits // 20)):  # some release tags along the way
        git(root, "tag", f"v{n}", f"main~{commits - 1 - n}")


def run(args: list[str], repo: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its children — git, mkdocs, workers —, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=repo, check=False, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def modelcards(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelcards", *args]


def best_of(
    runs: int, commands: dict[str, tuple[list[str], Path]]
) -> dict[str, tuple[float, float]]:
    """Best wall and best CPU of each command, the commands interleaved round by round (so
    that a busy moment of the shared machine falls on all of them alike)."""
    best = {label: (float("inf"), float("inf")) for label in commands}
    for _ in range(runs):
        for label, (args, cwd) in commands.items():
            wall, cpu, _out = run(args, cwd)
            best[label] = (min(best[label][0], wall), min(best[label][1], cpu))
    return best


def make_small(root: Path) -> None:
    """One tiny model and its base, built and committed: what start-up is timed on."""
    make_repo(root, 1, 1)
    run(modelcards("build", "--no-site", "-q"), root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs: card")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--site", action="store_true", help="build the site too (cards + site)")
    parser.add_argument("--runs", type=int, default=5, help="best of N for check and start-up")
    args = parser.parse_args()
    build_args = ["build", "-q", "--format", "json"] + ([] if args.site else ["--no-site"])
    # as an installed package runs: with its bytecode cached (the first run here writes it)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        small = Path(tmp) / "small"
        os.environ["MODELCARDS_CACHE"] = str(Path(tmp) / "hashes.json")
        t0 = time.perf_counter()
        make_repo(repo, args.models, args.commits)
        make_small(small)
        setup = time.perf_counter() - t0
        first = run(modelcards(*build_args), repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "docs: cards")
        again = run(modelcards(*build_args), repo)
        written = json.loads(again[2])["written"]
        assert written == [], f"a build with nothing changed wrote {written[:5]}"
        timings = best_of(
            args.runs,
            {
                "pass": ([sys.executable, "-c", "pass"], small),
                "help": (modelcards("--help"), small),
                "diff": (modelcards("diff", "base", "models/m000", "--format", "json"), small),
                "check1": (modelcards("check"), small),
                "check": (modelcards("check"), repo),
            },
        )
    load = os.getloadavg()
    what = "cards and site" if args.site else "cards, --no-site"
    print(
        f"{args.models} models, {args.commits} commits, {what} (repository made in {setup:.1f} s)"
    )
    print(f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")
    print("| run | wall s | CPU s | wall vs first build | CPU vs first build |")
    print("|---|---:|---:|---:|---:|")
    rows = [
        (f"`modelcards check`, nothing changed (best of {args.runs})", timings["check"]),
        ("`modelcards build` again, nothing changed (0 files written)", again[:2]),
        ("`modelcards build`, first run (baseline)", first[:2]),
    ]
    for label, (wall, cpu) in rows:
        print(
            f"| {label} | {wall:.2f} | {cpu:.2f} | {wall / first[0]:.3f} | {cpu / first[1]:.3f} |"
        )
    print(f"\nStart-up (best of {args.runs}, interleaved), against a bare interpreter:\n")
    print("| command | wall s | CPU s | wall − `python -c pass` |")
    print("|---|---:|---:|---:|")
    base = timings["pass"][0]
    for label, key in [
        ("`python -c pass` (baseline)", "pass"),
        ("`modelcards --help`", "help"),
        ("`modelcards diff` (headers only, one small pair)", "diff"),
        ("`modelcards check` (one model)", "check1"),
    ]:
        wall, cpu = timings[key]
        print(f"| {label} | {wall:.3f} | {cpu:.3f} | {wall - base:.3f} |")


if __name__ == "__main__":
    main()
