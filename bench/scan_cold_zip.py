"""`python bench/scan_bench.py --cold-zip`: one large zip checkpoint, cold, scanned by us and by
picklescan, with the bytes each reads.

The checkpoint is what torch.save writes for a state dict (torch.save itself when torch is
installed, else the same layout with zipfile): data.pkl and --tensors stored tensor members,
--cold-mb in all. Each scanner runs in its own process, imports first and untimed, then the
file's pages are dropped from the page cache (`posix_fadvise(DONTNEED)` on the file only: the
machine is shared, so not `drop_caches`), then one scan is timed: wall and CPU seconds, bytes
asked of the kernel (rchar of /proc/self/io) and bytes it fetched from the disk (read_bytes).
A warm run (pages kept) follows each cold one; runs are interleaved, best of --cold-runs.

`--before REV` adds our scanner as it was at a git revision of this repository (its
`modelcards/` exported with `git archive` into a temporary folder, on the same interpreter),
the baseline of a change to the scanner timed in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# argv: tool, path, "cold" or "warm"; prints one JSON line
HELPER = r"""
import json, os, sys, time
tool, path, mode = sys.argv[1:4]
if tool == "picklescan":
    import logging
    logging.disable(logging.CRITICAL)
    from picklescan.scanner import SafetyLevel, scan_file_path
    def run():
        result = scan_file_path(path)
        dangerous = sum(g.safety == SafetyLevel.Dangerous for g in result.globals)
        return f"{len(result.globals)} globals, {dangerous} dangerous" + (
            ", scan error" if result.scan_err else "")
else:
    from pathlib import Path
    import modelcards
    from modelcards.assess.scan import scan_path
    def run():
        report = scan_path(Path(path))
        rules = ", ".join(sorted({f.rule for f in report.findings})) or "none"
        where = os.path.relpath(modelcards.__file__, os.environ["PYTHONPATH"])
        assert not where.startswith(".."), "modelcards imported from elsewhere: " + where
        return f"findings {rules}" + (", partial" if report.partial else "")
def counters():
    with open("/proc/self/io") as fh:
        return {k: int(v) for k, v in (line.split(":") for line in fh)}
if mode == "cold":
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
before, start, cpu = counters(), time.perf_counter(), time.process_time()
summary = run()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
after = counters()
print(json.dumps({"seconds": seconds, "cpu": cpu, "summary": summary,
                  "rchar": after["rchar"] - before["rchar"],
                  "read_bytes": after["read_bytes"] - before["read_bytes"]}))
"""


def make_checkpoint(path: Path, megabytes: int, tensors: int) -> str:
    """A state-dict checkpoint of `tensors` float32 tensors; returns how it was made."""
    per = megabytes * 2**20 // 4 // tensors
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        gen = torch.Generator().manual_seed(0)
        state = {
            f"model.layers.{i}.weight": torch.randn(per, generator=gen) for i in range(tensors)
        }
        torch.save(state, path)
        return f"torch.save (torch {torch.__version__})"
    sys.path.insert(0, str(REPO / "tests" / "scan"))
    from corpus import checkpoint_pkl

    rng = __import__("numpy").random.default_rng(0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", checkpoint_pkl())
        for i in range(tensors):
            zf.writestr(f"archive/data/{i}", rng.bytes(per * 4))
        zf.writestr("archive/version", b"3\n")
    return "zipfile, torch.save's layout (torch not installed)"


def export_revision(rev: str, into: Path) -> Path:
    """`modelcards/` as it was at `rev`, in `into` (importable with PYTHONPATH=into)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "modelcards"], check=True, capture_output=True
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_once(python: str, tool: str, path: Path, mode: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [python, "-c", HELPER, tool, str(path), mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=path.parent,  # not this checkout: `-c` puts the working folder first on sys.path
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def main(
    megabytes: int, tensors: int, runs: int, before: str | None, tools_venv: Path | None
) -> None:
    variants: list[tuple[str, str, str, dict[str, str]]] = []  # name, python, tool, env
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        variants.append(("modelcards scan (this checkout)", sys.executable, "modelcards", env))
        if before:
            old = export_revision(before, root / "before")
            env_old = {**os.environ, "PYTHONPATH": str(old)}
            variants.append(
                (f"modelcards scan at {before} (before)", sys.executable, "modelcards", env_old)
            )
        picklescan = tools_venv / "bin" / "python" if tools_venv else None
        if picklescan and picklescan.exists():
            variants.append(("picklescan", str(picklescan), "picklescan", dict(os.environ)))
        path = root / "pytorch_model.bin"
        how = make_checkpoint(path, megabytes, tensors)
        load_before = os.getloadavg()
        results: dict[str, dict[str, list[dict]]] = {
            v[0]: {"cold": [], "warm": []} for v in variants
        }
        for _ in range(runs):  # interleaved: each run of each scanner meets the same machine
            for name, python, tool, venv_env in variants:
                for mode in ("cold", "warm"):
                    results[name][mode].append(run_once(python, tool, path, mode, venv_env))
        load_after = os.getloadavg()
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            members = len(zf.infolist())
            pickles = sum(i.file_size for i in zf.infolist() if i.filename.endswith(".pkl"))
    print(
        f"Checkpoint: {human(size)}, {members} members, data.pkl {human(pickles)}; made with {how}. "
        f"Best of {runs} interleaved runs; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (2 cores).\n"
    )
    base = (
        min(r["seconds"] for r in results.get("picklescan", {}).get("cold", []))
        if ("picklescan" in results)
        else None
    )
    print(
        "| scanner | cold s | warm s | CPU s (cold) | read (rchar) | from disk (read_bytes) | "
        "cold s / picklescan's | result |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, by_mode in results.items():
        cold, warm = by_mode["cold"], by_mode["warm"]
        best = min(cold, key=lambda r: r["seconds"])
        ratio = f"{best['seconds'] / base:.2f}" if base else "—"
        print(
            f"| {name} | {best['seconds']:.3f} | {min(r['seconds'] for r in warm):.3f} | "
            f"{min(r['cpu'] for r in cold):.3f} | {human(min(r['rchar'] for r in cold))} | "
            f"{human(min(r['read_bytes'] for r in cold))} | {ratio} | {best['summary']} |"
        )
