"""Bench: `modelcards check` on 100 models and thousands of commits, when nothing changed.

Baseline, timed in the same run on the same repository: the first `build --no-site`, which
renders every card. Prints a Markdown table. Usage: python bench/check_scale.py [--models 100] [--commits 3000]
"""

from __future__ import annotations

import argparse
import json
import os
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
    result = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", *args], cwd=repo, env=env,
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


def timed(args: list[str], repo: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "modelcards", *args], cwd=repo, check=True,
                   capture_output=True)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--commits", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        os.environ["MODELCARDS_CACHE"] = str(Path(tmp) / "hashes.json")
        t0 = time.perf_counter()
        make_repo(repo, args.models, args.commits)
        setup = time.perf_counter() - t0
        build_cold = timed(["build", "--no-site", "-q"], repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "docs: cards")
        build_warm = timed(["build", "--no-site", "-q"], repo)
        check = min(timed(["check"], repo) for _ in range(3))
        empty = min(timed(["--version"], repo) for _ in range(3))
    print(f"{args.models} models, {args.commits} commits (repository made in {setup:.1f} s)\n")
    print("| run | seconds | vs first build (every card rendered) |")
    print("|---|---|---|")
    rows = [
        ("`modelcards --version` (interpreter start)", empty),
        ("`modelcards check`, nothing changed (best of 3)", check),
        ("`modelcards build --no-site` again, nothing changed", build_warm),
        ("`modelcards build --no-site`, first run (baseline)", build_cold),
    ]
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / build_cold:.3f} |")


if __name__ == "__main__":
    main()
