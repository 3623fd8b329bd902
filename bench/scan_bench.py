"""Risk scanner vs picklescan on one generated corpus: detections, false positives, speed.

    python bench/scan_bench.py [--size-mb 256]

Builds the malicious and benign corpora of tests/scan/corpus.py plus large benign files (torch
zip checkpoints with one and with 2000 tensors, a legacy torch file, a pickled OrderedDict of
arrays, a .npy) in a
temporary folder, scans every file with both tools and prints a Markdown table. No torch needed.
"""

from __future__ import annotations

import argparse
import collections
import io
import logging
import pickle
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "scan"))

from corpus import (  # noqa: E402
    benign_files,
    checkpoint_pkl,
    legacy_torch,
    malicious_files,
    write,
)

from modelcards.assess.findings import Severity  # noqa: E402
from modelcards.assess.scan import scan_path  # noqa: E402


def large_benign(size_mb: int) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    blob = rng.standard_normal(size_mb * 1024 * 1024 // 4, dtype=np.float32).tobytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", checkpoint_pkl())
        zf.writestr("archive/version", b"3\n")
        zf.writestr("archive/data/0", blob)
    many = io.BytesIO()  # a checkpoint with thousands of tensors, like a real LLM shard
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", checkpoint_pkl())
        step = len(blob) // 2000
        for i in range(2000):
            zf.writestr(f"archive/data/{i}", blob[i * step : (i + 1) * step])
    arrays = collections.OrderedDict(
        (f"layer{i}", rng.standard_normal(size_mb * 1024 * 1024 // 32, dtype=np.float32))
        for i in range(4)
    )
    npy = io.BytesIO()
    np.save(npy, np.frombuffer(blob, dtype=np.float32))
    return {
        "big_checkpoint.pt": buf.getvalue(),
        "many_tensors.pt": many.getvalue(),
        "big_legacy.bin": legacy_torch(checkpoint_pkl()) + blob,
        "big_state_dict.pkl": pickle.dumps(arrays, protocol=4),
        "big_array.npy": npy.getvalue(),
    }


def ours(path: Path) -> bool:
    report = scan_path(path)
    return any(f.severity >= Severity.HIGH for f in report.findings)


def theirs(path: Path) -> bool:
    from picklescan.scanner import SafetyLevel, scan_file_path

    try:
        result = scan_file_path(str(path))
    except Exception:  # noqa: BLE001 - it raises on padded .npy headers: nothing flagged
        return False
    return any(g.safety == SafetyLevel.Dangerous for g in result.globals)


def run(tool: object, paths: list[Path], repeat: int = 3) -> tuple[list[str], float]:
    """Flagged file names and the best wall time of `repeat` runs (the machine is shared)."""
    best = float("inf")
    flagged: list[str] = []
    for _ in range(repeat):
        flagged, start = [], time.perf_counter()
        for path in paths:
            if tool(path):  # type: ignore[operator]
                flagged.append(path.name)
        best = min(best, time.perf_counter() - start)
    return flagged, best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=256, help="size of each large file")
    args = parser.parse_args()
    logging.getLogger("picklescan").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bad = write(malicious_files(), root / "malicious")
        good = write(benign_files(), root / "benign")
        big = write(large_benign(args.size_mb), root / "large")
        sizes = {
            name: sum(p.stat().st_size for p in paths) / 2**20
            for name, paths in (("bad", bad), ("good", good), ("big", big))
        }
        rows = []
        for label, tool in (("modelcards scan", ours), ("picklescan", theirs)):
            run(tool, good)  # warm imports and page cache
            flagged, t_bad = run(tool, bad)
            false_good, t_good = run(tool, good)
            false_big, t_big = run(tool, big)
            missed = sorted({p.name for p in bad} - set(flagged))
            rows.append(
                (
                    label,
                    len(flagged),
                    len(false_good) + len(false_big),
                    t_bad + t_good,
                    t_big,
                    missed,
                )
            )
    print(
        f"Corpus: {len(bad)} malicious files ({sizes['bad']:.2f} MB), {len(good)} small benign "
        f"files ({sizes['good']:.2f} MB), {len(big)} large benign files "
        f"({sizes['big']:.0f} MB). Flagged = a finding of severity high or above (ours) / a "
        "'dangerous' global (picklescan). Times: best of 3 runs.\n"
    )
    print(
        "| scanner | malicious detected | false positives (benign) | small corpus time | "
        "large files time | ms per MB (large) |"
    )
    print("|---|---|---|---|---|---|")
    for label, hits, fps, t_small, t_big, _ in rows:
        print(
            f"| {label} | {hits}/{len(bad)} | {fps}/{len(good) + len(big)} | "
            f"{t_small * 1000:.0f} ms | {t_big * 1000:.0f} ms | "
            f"{t_big * 1000 / sizes['big']:.2f} |"
        )
    for label, *_, missed in rows:
        if missed:
            print(f"\nMissed by {label}: {', '.join(missed)}")


if __name__ == "__main__":
    main()
