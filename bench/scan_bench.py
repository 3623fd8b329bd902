"""Our risk scanner side by side with picklescan, modelscan, fickling and ModelAudit.

    python bench/scan_bench.py [--size-mb 256] [--detail] [--tools-venv /tmp/bench-venv]
    python bench/scan_bench.py --cold-zip [--cold-mb 1024] [--before REV]  # see scan_cold_zip.py

Builds whatever `malicious_files()` and `benign_files()` of tests/scan/corpus.py return (the
corpus grows: every file it returns is in the tables), plus large benign files (torch zip
checkpoints with one and with 2000 tensors, a legacy torch file, a pickled OrderedDict of
arrays, a .npy), in a temporary folder; scans them with every tool and prints Markdown tables:
one row per tool (detected, false positives, time), one row per class of file (the file-name
prefix), and with --detail one row per file.

The other tools are not dependencies of modelcards: install them in a separate environment
(see bench/README.md) and pass it with --tools-venv (default: $MODELCARDS_BENCH_VENV, else
/tmp/bench-venv). Each is called the way its documentation says, and an adapter maps its result
to "detected" for a file:

- modelcards scan (Python API, in process): a finding of severity high or above;
- picklescan (Python API `scan_file_path`): a global it rates "dangerous";
- modelscan (CLI `modelscan -p DIR -r json -o FILE`, once per folder): an issue of severity
  HIGH or CRITICAL whose `source` is the file (or a member of it);
- fickling (Python API `fickling.scan_file`, `fickling.scan_zip_archive` for zips, both with
  graceful=True): a result that is not `is_safe` (severity above LIKELY_SAFE), its own verdict;
  and a second row with a severity of LIKELY_OVERTLY_MALICIOUS or above, since fickling rates
  most benign ML pickles LIKELY_UNSAFE;
- ModelAudit (CLI `modelaudit scan DIR --format json -o FILE --no-cache`, once per folder,
  telemetry off): an issue of severity "critical" located in the file.

A tool that cannot be found is a row saying "not installed", never dropped. Times: the in-process
tools are timed best of --repeat; the command-line tools one run per folder, wall clock
including their start-up, which is given on its own (a run on an empty folder). No torch needed.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import logging
import math
import os
import pickle
import re
import shutil
import subprocess
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


# --- the tools -------------------------------------------------------------------------------

YES, NO, ERROR, TIMEOUT = "yes", "no", "error", "timeout"

# run by the tools environment's interpreter: argv = tool, then the files; prints JSON
PY_API_HELPER = r"""
import json, logging, sys, time, zipfile
logging.disable(logging.CRITICAL)
tool, paths = sys.argv[1], sys.argv[2:]

def picklescan_verdict(path):
    from picklescan.scanner import SafetyLevel, scan_file_path
    result = scan_file_path(path)
    if any(g.safety == SafetyLevel.Dangerous for g in result.globals):
        return "yes"
    return "error" if result.scan_err else "no"

def fickling_results(path):
    import fickling
    if zipfile.is_zipfile(path):
        return list(fickling.scan_zip_archive(path, graceful=True).values())
    return [fickling.scan_file(path, graceful=True)]

def fickling_verdict(path):
    results = fickling_results(path)
    if any(not r.is_safe for r in results):
        return "yes"
    return "error" if any(r.errors for r in results) else "no"

def fickling_malicious(path):
    from fickling.analysis import Severity
    results = fickling_results(path)
    if any(r.severity >= Severity.LIKELY_OVERTLY_MALICIOUS for r in results):
        return "yes"
    return "error" if any(r.errors for r in results) else "no"

verdict = {
    "picklescan": picklescan_verdict,
    "fickling": fickling_verdict,
    "fickling-malicious": fickling_malicious,
}[tool]
verdict(paths[0]) if paths else None  # warm imports
out, start = {}, time.perf_counter()
for path in paths:
    try:
        out[path] = verdict(path)
    except Exception as exc:  # the tool's own failure on a file
        out[path] = "error"
print(json.dumps({"seconds": time.perf_counter() - start, "verdicts": out}))
"""


class Tool:
    name = ""
    how = ""
    in_process = False

    def __init__(self, venv: Path | None) -> None:
        self.venv = venv

    def version(self) -> str | None:
        """The installed version, or None when the tool is not there."""
        raise NotImplementedError

    def scan(self, folder: Path, paths: list[Path]) -> tuple[dict[str, str], float]:
        """file name -> yes / no / error, and the seconds it took."""
        raise NotImplementedError

    def startup(self) -> float | None:
        return None

    # helpers
    def python(self) -> str | None:
        if self.venv and (self.venv / "bin" / "python").exists():
            return str(self.venv / "bin" / "python")
        return None

    def executable(self, name: str) -> str | None:
        if self.venv and (self.venv / "bin" / name).exists():
            return str(self.venv / "bin" / name)
        return shutil.which(name)

    def dist_version(self, dist: str) -> str | None:
        python = self.python()
        if python:
            probe = subprocess.run(
                [python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                capture_output=True,
                text=True,
            )
            if probe.returncode == 0:
                return probe.stdout.strip()
        try:
            import importlib.metadata

            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None


class Ours(Tool):
    name = "modelcards scan"
    how = "Python API `scan_path`, in process"
    in_process = True

    def version(self) -> str | None:
        from modelcards import __version__

        return __version__

    def scan(self, folder: Path, paths: list[Path]) -> tuple[dict[str, str], float]:
        return best_of(lambda p: YES if ours(p) else NO, paths, self.repeat)


def ours(path: Path) -> bool:
    report = scan_path(path)
    return any(f.severity >= Severity.HIGH for f in report.findings)


class PyApiTool(Tool):
    dist = ""
    helper = ""

    def version(self) -> str | None:
        return self.dist_version(self.dist)

    def scan(self, folder: Path, paths: list[Path]) -> tuple[dict[str, str], float]:
        python = self.python() or sys.executable
        best, verdicts = float("inf"), {}
        for _ in range(self.repeat):
            run = subprocess.run(
                [python, "-c", PY_API_HELPER, self.helper or self.name, *map(str, paths)],
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                raise RuntimeError(f"{self.name}: {run.stderr.strip()[-500:]}")
            result = json.loads(run.stdout.splitlines()[-1])
            best = min(best, result["seconds"])
            verdicts = {Path(p).name: v for p, v in result["verdicts"].items()}
        return verdicts, best


class Picklescan(PyApiTool):
    name = "picklescan"
    dist = "picklescan"
    how = "Python API `scan_file_path`, a `dangerous` global"
    in_process = True  # timed inside its process, without start-up


class Fickling(PyApiTool):
    name = "fickling"
    dist = "fickling"
    how = "Python API `scan_file` / `scan_zip_archive` (graceful), not `is_safe`"
    in_process = True


class FicklingMalicious(PyApiTool):
    """fickling rates most benign ML pickles LIKELY_UNSAFE; this row uses its top two levels."""

    name = "fickling (≥ overtly malicious)"
    helper = "fickling-malicious"
    dist = "fickling"
    how = "the same calls, a severity of LIKELY_OVERTLY_MALICIOUS or above"
    in_process = True


class CliTool(Tool):
    command = ""
    dist = ""

    def version(self) -> str | None:
        if not self.executable(self.command):
            return None
        return self.dist_version(self.dist) or "?"

    def startup(self) -> float | None:
        with tempfile.TemporaryDirectory() as empty:
            try:
                return self.run_cli(Path(empty), Path(empty) / "report.json")[1]
            except ToolTimeout:
                return None

    def run_cli(self, folder: Path, report: Path) -> tuple[dict, float]:
        raise NotImplementedError

    def scan(self, folder: Path, paths: list[Path]) -> tuple[dict[str, str], float]:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                data, seconds = self.run_cli(folder, Path(tmp) / "report.json")
            except ToolTimeout:  # every file of the folder: no verdict
                return dict.fromkeys((p.name for p in paths), TIMEOUT), float("nan")
        names = {p.name for p in paths}
        verdicts = dict.fromkeys(names, NO)
        for name in self.errors(data) & names:
            verdicts[name] = ERROR
        for name in self.detected(data, folder) & names:
            verdicts[name] = YES
        return verdicts, seconds

    def detected(self, data: dict, folder: Path) -> set[str]:
        raise NotImplementedError

    def errors(self, data: dict) -> set[str]:
        return set()


CLI_TIMEOUT = [900.0]  # seconds per folder; set by --cli-timeout


class ToolTimeout(Exception):
    pass


def timed(args: list[str], env: dict[str, str] | None = None) -> tuple[int, float, str]:
    start = time.perf_counter()
    try:
        run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT[0])
    except subprocess.TimeoutExpired:
        raise ToolTimeout(f"no result after {CLI_TIMEOUT[0]:.0f} s") from None
    return run.returncode, time.perf_counter() - start, run.stderr


def first_component(location: str, folder: Path) -> str:
    """The corpus file a tool's location points at: 'DIR/x.pt:archive/data.pkl (pos 3)' -> x.pt."""
    text = location.split(" (pos ", 1)[0]
    prefix = str(folder) + os.sep
    if text.startswith(prefix):
        text = text[len(prefix) :]
    return re.split(r"[:/\\]", text, maxsplit=1)[0]


class Modelscan(CliTool):
    name = "modelscan"
    command = dist = "modelscan"
    how = "CLI `-r json`, an issue of severity HIGH/CRITICAL"

    def run_cli(self, folder: Path, report: Path) -> tuple[dict, float]:
        exe = self.executable(self.command)
        _, seconds, err = timed([exe, "-p", str(folder), "-r", "json", "-o", str(report)])
        data = json.loads(report.read_text()) if report.exists() else {}
        return data, seconds

    def detected(self, data: dict, folder: Path) -> set[str]:
        return {
            first_component(issue.get("source", ""), folder)
            for issue in data.get("issues", [])
            if str(issue.get("severity", "")).upper() in ("HIGH", "CRITICAL")
        }

    def errors(self, data: dict) -> set[str]:
        return {first_component(e.get("source", ""), Path("/")) for e in data.get("errors", [])}


class ModelAudit(CliTool):
    name = "ModelAudit"
    command = "modelaudit"
    dist = "modelaudit"
    how = "CLI `scan --format json --no-cache`, an issue of severity critical"

    def run_cli(self, folder: Path, report: Path) -> tuple[dict, float]:
        exe = self.executable(self.command)
        env = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "NO_COLOR": "1"}
        args = [exe, "scan", str(folder), "--format", "json", "-o", str(report), "--no-cache"]
        _, seconds, err = timed([*args, "-q"], env)
        data = json.loads(report.read_text()) if report.exists() else {}
        return data, seconds

    def detected(self, data: dict, folder: Path) -> set[str]:
        found = set()
        for issue in data.get("issues", []):
            if str(issue.get("severity", "")).lower() != "critical":
                continue
            where = issue.get("location") or (issue.get("details") or {}).get("pickle_source")
            if where:
                found.add(first_component(str(where), folder))
        return found


TOOLS = (Ours, Picklescan, Modelscan, Fickling, FicklingMalicious, ModelAudit)


def best_of(verdict, paths: list[Path], repeat: int) -> tuple[dict[str, str], float]:
    """Verdict per file name and the best wall time of `repeat` runs (the machine is shared)."""
    best, out = float("inf"), {}
    if paths:
        verdict(paths[0])  # warm imports and page cache
    for _ in range(repeat):
        out, start = {}, time.perf_counter()
        for path in paths:
            out[path.name] = verdict(path)
        best = min(best, time.perf_counter() - start)
    return out, best


# --- the tables ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def per_mb(seconds: float, megabytes: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000 / megabytes:.2f}"


def file_class(name: str) -> str:
    """The class of a corpus file: its name up to the first '_' or '.' (call_, reduce_, zip_…)."""
    return re.split(r"[_.]", name, maxsplit=1)[0] or name


MARK = {YES: "✓", NO: "·", ERROR: "err", TIMEOUT: "timeout"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=256, help="size of each large file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of in-process tools (best)")
    parser.add_argument("--detail", action="store_true", help="also a file x tool table")
    parser.add_argument(
        "--tools-venv",
        type=Path,
        default=Path(os.environ.get("MODELCARDS_BENCH_VENV", "/tmp/bench-venv")),
        help="the environment holding picklescan, modelscan, fickling and modelaudit",
    )
    parser.add_argument(
        "--cli-timeout",
        type=float,
        default=900.0,
        help="seconds a command-line tool may take on one folder; past it, its files are 'timeout'",
    )
    parser.add_argument(
        "--cold-zip",
        action="store_true",
        help="only the cold zip checkpoint table: us (and --before REV) beside picklescan",
    )
    parser.add_argument("--cold-mb", type=int, default=1024, help="size of that checkpoint")
    parser.add_argument("--tensors", type=int, default=2000, help="its tensor members")
    parser.add_argument("--cold-runs", type=int, default=5, help="interleaved runs (best)")
    parser.add_argument("--before", help="also our scanner as it was at this git revision")
    args = parser.parse_args()
    if args.cold_zip:
        import scan_cold_zip

        venv = args.tools_venv if args.tools_venv.is_dir() else None
        scan_cold_zip.main(args.cold_mb, args.tensors, args.cold_runs, args.before, venv)
        return
    CLI_TIMEOUT[0] = args.cli_timeout
    logging.getLogger("picklescan").setLevel(logging.CRITICAL)
    venv = args.tools_venv if args.tools_venv.is_dir() else None
    tools = []
    for cls in TOOLS:
        tool = cls(venv)
        tool.repeat = args.repeat
        tools.append(tool)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sets = {
            "bad": write(malicious_files(), root / "malicious"),
            "good": write(benign_files(), root / "benign"),
            "big": write(large_benign(args.size_mb), root / "large"),
        }
        folders = {"bad": root / "malicious", "good": root / "benign", "big": root / "large"}
        sizes = {k: sum(p.stat().st_size for p in v) / 2**20 for k, v in sets.items()}
        for tool in tools:
            version = tool.version()
            entry: dict = {"version": version, "verdicts": {}, "seconds": {}}
            results[tool.name] = entry
            if version is None:
                continue
            try:
                for key, paths in sets.items():
                    verdicts, seconds = tool.scan(folders[key], paths)
                    entry["verdicts"][key] = verdicts
                    entry["seconds"][key] = seconds
                entry["startup"] = None if tool.in_process else tool.startup()
            except Exception as exc:  # noqa: BLE001 - one tool's failure is a row, not a crash
                entry["failed"] = f"{type(exc).__name__}: {exc}"[:300]
    bad, good, big = sets["bad"], sets["good"], sets["big"]
    n_benign = len(good) + len(big)
    print(
        f"Corpus: {len(bad)} malicious files ({sizes['bad']:.2f} MB), {len(good)} small benign "
        f"files ({sizes['good']:.2f} MB), {len(big)} large benign files ({sizes['big']:.0f} MB). "
        f"Tools environment: {venv or 'none (only what this interpreter has)'}.\n"
    )
    print(
        "| scanner | version | malicious detected | false positives (benign) | errors | "
        "small corpus time | large files time | ms per MB (large) | start-up | called as |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for tool in tools:
        entry = results[tool.name]
        if entry["version"] is None or "failed" in entry:
            state = "not installed" if entry["version"] is None else f"failed: {entry['failed']}"
            version = entry["version"] or "—"
            print(f"| {tool.name} | {version} | {state} | | | | | | | {tool.how} |")
            continue
        v, t = entry["verdicts"], entry["seconds"]
        hits = sum(x == YES for x in v["bad"].values())
        fps = sum(x == YES for k in ("good", "big") for x in v[k].values())
        timeouts = sum(x == TIMEOUT for k in ("good", "big") for x in v[k].values())
        fp_cell = f"{fps}/{n_benign - timeouts}" + (f" ({timeouts} timeout)" if timeouts else "")
        errs = sum(x == ERROR for k in v for x in v[k].values())
        errs = f"{errs}" + "".join(f", {k} folder: timeout" for k in v if TIMEOUT in v[k].values())
        startup = f"{entry['startup']:.2f} s" if entry.get("startup") is not None else "—"
        timing = "" if tool.in_process else " (incl. start-up)"
        print(
            f"| {tool.name} | {entry['version']} | {hits}/{len(bad)} | {fp_cell} | {errs} | "
            f"{ms(t['bad'] + t['good'])}{timing} | {ms(t['big'])}{timing} | "
            f"{per_mb(t['big'], sizes['big'])} | {startup} | {tool.how} |"
        )
    ran = [t for t in tools if results[t.name]["version"] and "failed" not in results[t.name]]
    # per class: malicious files grouped by name prefix, then the benign ones
    print(
        "\nPer class (file-name prefix): detected / files; for benign classes, flagged / files.\n"
    )
    print("| class | files | " + " | ".join(t.name for t in tools) + " |")
    print("|---|---:|" + "---|" * len(tools))
    for key, label in (("bad", ""), ("good", "benign: "), ("big", "large benign: ")):
        groups: dict[str, list[str]] = collections.defaultdict(list)
        for path in sets[key]:
            groups[file_class(path.name)].append(path.name)
        for cls in sorted(groups):
            names = groups[cls]
            cells = []
            for tool in tools:
                if tool not in ran:
                    cells.append("not installed" if not results[tool.name]["version"] else "failed")
                    continue
                verdicts = results[tool.name]["verdicts"][key]
                late = sum(verdicts.get(n) == TIMEOUT for n in names)
                cell = f"{sum(verdicts.get(n) == YES for n in names)}/{len(names) - late}"
                cells.append(
                    "timeout"
                    if late == len(names)
                    else cell + (f" (+{late} timeout)" if late else "")
                )
            print(f"| {label}{cls} | {len(names)} | " + " | ".join(cells) + " |")
    for tool in ran:
        missed = sorted(n for n, x in results[tool.name]["verdicts"]["bad"].items() if x != YES)
        flagged = sorted(
            n
            for k in ("good", "big")
            for n, x in results[tool.name]["verdicts"][k].items()
            if x == YES
        )
        if missed:
            print(f"\nMissed by {tool.name} ({len(missed)}): {', '.join(missed)}")
        if flagged:
            print(f"\nFalse positives of {tool.name}: {', '.join(flagged)}")
    if args.detail:
        print(f"\nPer file: {MARK[YES]} detected, {MARK[NO]} not, err = the tool failed on it.\n")
        print("| file | kind | " + " | ".join(t.name for t in tools) + " |")
        print("|---|---|" + "---|" * len(tools))
        for key, kind in (("bad", "malicious"), ("good", "benign"), ("big", "large benign")):
            for path in sets[key]:
                cells = [
                    MARK[results[t.name]["verdicts"][key].get(path.name, NO)] if t in ran else "—"
                    for t in tools
                ]
                print(f"| `{path.name}` | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
