"""mergekit merges: each named source against the merge — the figures per pair, and the cost.

    python bench/merge_sources.py [--mb 256] [--runs 3] [--dir /tmp/mc-merge]

Part 1 (figures, not a timing): merges made here of small models (8 × 256² matrices and an
embedding, F32; sources independent unless said): linear merges of two and three models at
several weights, SLERP, a merge of two fine-tunes of one base (numpy perturbations of 10 % and
20 %), a TIES-like merge (base + the sign-agreeing half of each task vector), and a config
naming a model that is not in the merge. Each source's verdict with its median (min … max)
cosine over the matrices: the thresholds in `compare/deep/merge_check.py` were set on these.

Part 2 (cost): a merge of two sources of `--mb` MB each (F32, 2,048² matrices), page cache warm.
The baseline is the base check as `build --deep` runs it (`deep_compare` of one source against
the merge, ΔW rank sketch on); the method is `check_sources` over both sources (one pass each,
no sketch); `cat` of the three files beside them. Each in a fresh process, best of `--runs`
interleaved, CPU seconds of the process (imports excluded) and its peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def save(folder: Path, tensors: dict[str, np.ndarray], config: str | None = None) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    save_file(tensors, str(folder / "model.safetensors"))
    if config is not None:
        (folder / "mergekit_config.yml").write_text(config)
    return folder


def model(seed: int, hidden: int = 256, layers: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {"model.embed_tokens.weight": rng.standard_normal((512, hidden)).astype(np.float32)}
    for i in range(layers):
        out[f"model.layers.{i}.mlp.up_proj.weight"] = (
            rng.standard_normal((hidden, hidden)) / math.sqrt(hidden)
        ).astype(np.float32)
        out[f"model.layers.{i}.input_layernorm.weight"] = np.ones(hidden, np.float32)
    return out


def perturbed(base: dict[str, np.ndarray], share: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        k: (v + share * v.std() * rng.standard_normal(v.shape)).astype(np.float32)
        if v.ndim == 2
        else v
        for k, v in base.items()
    }


def linear(parts: list[tuple[float, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    total = sum(w for w, _ in parts)
    return {k: (sum(w * m[k] for w, m in parts) / total).astype(np.float32) for k in parts[0][1]}


def slerp(a: dict[str, np.ndarray], b: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
    out = {}
    for k, x in a.items():
        y = b[k]
        dot = float(np.clip((x / np.linalg.norm(x) * y / np.linalg.norm(y)).sum(), -1, 1))
        if abs(dot) > 0.9995:
            out[k] = ((1 - t) * x + t * y).astype(np.float32)
            continue
        theta = math.acos(dot)
        out[k] = (
            (math.sin((1 - t) * theta) * x + math.sin(t * theta) * y) / math.sin(theta)
        ).astype(np.float32)
    return out


def ties(base: dict[str, np.ndarray], tuned: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """base + mean of the task vectors where their signs agree with the summed sign (TIES's
    elect-and-merge, without its trim)."""
    out = {}
    for k, b in base.items():
        deltas = np.stack([t[k] - b for t in tuned])
        sign = np.sign(deltas.sum(0))
        agree = np.where(np.sign(deltas) == sign, deltas, 0)
        count = np.maximum((agree != 0).sum(0), 1)
        out[k] = (b + agree.sum(0) / count).astype(np.float32)
    return out


def figures(root: Path) -> list[tuple[str, str, dict]]:
    from modelcards.inspect.merge_config import read_merge_config
    from modelcards.project.merge_checks import check_sources
    from modelcards.resolve import open_folder

    a, b, c, d = (model(s) for s in (1, 2, 3, 4))
    base = model(10)
    ft1, ft2 = perturbed(base, 0.1, 11), perturbed(base, 0.2, 12)
    for name, tensors in {"a": a, "b": b, "c": c, "d": d, "base": base, "ft1": ft1,
                          "ft2": ft2}.items():  # fmt: skip
        save(root / "sources" / name, tensors)

    def models(*names: str) -> str:
        return "models:\n" + "".join(f"  - model: sources/{n}\n" for n in names)

    cases = [
        ("linear 0.5 a + 0.5 b", linear([(0.5, a), (0.5, b)]), models("a", "b")),
        ("linear 0.75 a + 0.25 b", linear([(0.75, a), (0.25, b)]), models("a", "b")),
        ("linear 0.9 a + 0.1 b", linear([(0.9, a), (0.1, b)]), models("a", "b")),
        ("linear a + b + c, equal", linear([(1, a), (1, b), (1, c)]), models("a", "b", "c")),
        ("linear a + b + c + d, equal", linear([(1, a), (1, b), (1, c), (1, d)]),
         models("a", "b", "c", "d")),
        ("SLERP a, b at t = 0.5", slerp(a, b, 0.5), models("a", "b")),
        ("SLERP a, b at t = 0.2", slerp(a, b, 0.2), models("a", "b")),
        ("linear of two fine-tunes of one base", linear([(0.5, ft1), (0.5, ft2)]),
         models("ft1", "ft2", "base")),
        ("TIES-like: base + agreeing task vectors", ties(base, [ft1, ft2]),
         models("ft1", "ft2") + "base_model: sources/base\n"),
        ("linear a + b, config names a and c", linear([(0.5, a), (0.5, b)]), models("a", "c")),
    ]  # fmt: skip
    rows = []
    for index, (label, tensors, config) in enumerate(cases):
        folder = save(root / "models" / f"m{index}", tensors, config)
        merged = open_folder(folder, project_root=root)
        merge = read_merge_config(merged)
        assert merge is not None
        for source in check_sources(merge, merged, folder, root):
            rows.append((label, source.reference.removeprefix("sources/"), source.as_json()))
    return rows


def big_pair(root: Path, mb: int) -> Path:
    """Two sources of `mb` MB (2,048² F32 matrices) and their 50/50 linear merge."""
    count = max(1, mb * 1024 * 1024 // (2048 * 2048 * 4))
    sources = []
    for seed, name in ((1, "a"), (2, "b")):
        rng = np.random.default_rng(seed)
        tensors = {
            f"model.layers.{i}.mlp.up_proj.weight": rng.standard_normal((2048, 2048), np.float32)
            for i in range(count)
        }
        save(root / "sources" / name, tensors)
        sources.append(tensors)
    merged = {k: (0.5 * sources[0][k] + 0.5 * sources[1][k]) for k in sources[0]}
    save(root / "models" / "big", merged, "models:\n  - model: sources/a\n  - model: sources/b\n")
    return root


def worker(method: str, root: Path) -> None:
    """One timed method in this fresh process; prints its CPU s, wall s and VmHWM."""
    from modelcards.compare.deep.run import deep_compare
    from modelcards.inspect import inspect_snapshot
    from modelcards.inspect.merge_config import read_merge_config
    from modelcards.project.merge_checks import check_sources
    from modelcards.resolve import open_folder

    folder = root / "models" / "big"
    files = [str(root / p / "model.safetensors") for p in ("sources/a", "sources/b", "models/big")]
    cpu, wall = time.process_time(), time.perf_counter()
    if method == "cat":
        subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)
        cpu_used = sum(os.times()[2:4])
    elif method in ("base", "one"):
        source, merged = open_folder(root / "sources" / "a"), open_folder(folder)
        deep_compare(inspect_snapshot(source), inspect_snapshot(merged), source, merged,
                     rank_sketch=method == "base")  # fmt: skip
    else:
        merged = open_folder(folder, project_root=root)
        merge = read_merge_config(merged)
        assert merge is not None
        found = check_sources(merge, merged, folder, root)
        assert all(s.check.verdict == "consistent" for s in found), found
    seconds = time.perf_counter() - wall
    used = cpu_used if method == "cat" else time.process_time() - cpu
    peak = next(
        int(line.split()[1]) // 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    print(json.dumps({"cpu": used, "wall": seconds, "rss_mb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--worker", default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="mc-merge-"))
    if args.worker:
        worker(args.worker, root)
        return
    print("| merge | source | verdict | median similarity (lowest) over matrices |")
    print("|---|---|---|---|")
    for label, source, data in figures(root / "figures"):
        median = data["median_similarity"]
        shown = (
            "—" if median is None else f"{median:.4f} ({data['lowest']:.3f}) over {data['tensors']}"
        )
        print(f"| {label} | {source} | {data['verdict']} | {shown} |")
    big_pair(root / "cost", args.mb)
    load = os.getloadavg()
    results: dict[str, list[dict]] = {"cat": [], "base": [], "one": [], "sources": []}
    for _ in range(args.runs):
        for method in results:
            done = subprocess.run(
                [sys.executable, __file__, "--worker", method, "--dir", str(root / "cost")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[method].append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = {m: {k: min(r[k] for r in runs) for k in ("cpu", "wall", "rss_mb")}
            for m, runs in results.items()}  # fmt: skip
    print(f"\nload average {load[0]:.1f} → {os.getloadavg()[0]:.1f}, best of {args.runs}")
    print(
        "| | cat of the 3 files | base check (1 pass + ΔW sketch) | 1 pass, no sketch | "
        "2 sources checked (2 passes) | × 1 pass | × base check |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in (("wall", "wall s"), ("cpu", "CPU s"), ("rss_mb", "peak RSS MB")):
        b, one, two = best["base"][key], best["one"][key], best["sources"][key]
        ratios = f"{two / one:.2f} | {two / b:.2f}" if key != "rss_mb" else " | "
        print(f"| {label} | {best['cat'][key]:.2f} | {b:.2f} | {one:.2f} | {two:.2f} | {ratios} |")
    print(
        f"\nmedian over runs, sources CPU s: {statistics.median(r['cpu'] for r in results['sources']):.2f}"
    )


if __name__ == "__main__":
    main()
