"""Bench: how long the short commands take to start, as a user runs them (fresh processes).

`modelcards --help`, a header-only `diff` of a small pair and of the sparse 70B pair of
bench/run.py, and `check` of a one-model project whose card is current — built without its site
(every model takes the slow path) and with it (check answers from the build's record, as a
fleet's CI does) — each against a bare interpreter (`python -c pass`) and a bare parse of the
70B pair's headers in a fresh interpreter (struct + json, no modelcards), all timed in the same
run, interleaved round by round, best of N (wall and CPU seconds of the process, `os.wait4`).
With `--before REF` the same commands also run on REF's package (`git archive`, first on
PYTHONPATH: same interpreter and libraries, the older code). Modules run from cached bytecode,
as an installed package does, and the config's plain data from the cache beside the hash cache
(`safeio/yamlcache.py`) once a command has read it: best of N is the second command on.

    python bench/startup.py [--runs 15] [--before main]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from check_scale import git, make_repo, make_small, modelcards, run
from run import BARE_PARSE, before_package, build_sparse, timed_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="best of N")
    parser.add_argument("--before", metavar="REF", help="also time REF's package")
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["MODELCARDS_CACHE"] = str(root / "hashes.json")
        base70, tuned70, _apparent = build_sparse(root / "70b")
        python = [sys.executable]
        mc = [*python, "-m", "modelcards"]
        commands: dict[str, list[str]] = {
            "pass": [*python, "-c", "pass"],
            "bare": [*python, "-c", BARE_PARSE, str(base70), str(tuned70)],
            "help": [*mc, "--help"],
            "diff": [*mc, "diff", "base", "models/m000", "--format", "json"],
            "diff70": [*mc, "diff", str(base70), str(tuned70), "--format", "json"],
            "check": [*mc, "check"],
            "check-record": [*mc, "check"],  # run in the project whose site was built
        }
        packages = {"now": dict(os.environ)}
        if args.before:
            old = before_package(args.before, root)
            packages["before"] = {**os.environ, "PYTHONPATH": str(old)}
        projects = {}  # each package checks a project it built itself (its cards, its version)
        recorded = {}  # and one built with its site: check answers from the build's record
        for which, env in packages.items():
            saved = dict(os.environ)
            os.environ.clear()
            os.environ.update(env)
            projects[which] = root / f"small-{which}"
            make_small(projects[which])
            recorded[which] = root / f"site-{which}"
            make_with_site(recorded[which])
            os.environ.clear()
            os.environ.update(saved)
        best: dict[tuple[str, str], tuple[float, float]] = {}
        for _ in range(args.runs):
            for label, argv in commands.items():
                for which, env in packages.items():
                    if which != "now" and label in ("pass", "bare"):
                        continue
                    where = recorded if label == "check-record" else projects
                    got = timed_process(argv, env, where[which])
                    key = (label, which)
                    wall, cpu = best.get(key, (float("inf"), float("inf")))
                    best[key] = (min(wall, got["seconds"]), min(cpu, got["cpu"]))
        for which, env in packages.items():  # the card was current (else check rendered it)
            for where in (projects, recorded):
                out = timed_process(commands["check"], env, where[which])["stdout"]
                assert out.startswith(b"ok: 1 model checked"), out
    report(best, args)


def make_with_site(root: Path) -> None:
    """The one-model project of `make_small`, built with its site and committed: the build's
    record names every input, and check reads nothing else."""
    make_repo(root, 1, 1)
    run(modelcards("build", "-q"), root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "docs: card and site")


def report(best: dict[tuple[str, str], tuple[float, float]], args: Any) -> None:
    load = os.getloadavg()
    print(f"best of {args.runs}, interleaved; load average at the end "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")  # fmt: skip
    rows = [
        ("pass", "`python -c pass` (baseline)"),
        ("bare", "bare parse of the 70B pair's 60 headers, fresh `python` (baseline)"),
        ("help", "`modelcards --help`"),
        ("diff", "`modelcards diff` (headers only, one small pair)"),
        ("diff70", "`modelcards diff` (headers only, the sparse 70B pair)"),
        ("check", "`modelcards check` (one model, card current, no record: the slow path)"),
        ("check-record", "`modelcards check` (one model, site built: from the build's record)"),
    ]
    before = args.before is not None
    head = "| command | wall s | CPU s | × bare parse (wall) |"
    line = "|---|---:|---:|---:|"
    if before:
        head += f" wall s at {args.before} | CPU s at {args.before} | before / now (wall) |"
        line += "---:|---:|---:|"
    print(head)
    print(line)
    bare = best[("bare", "now")][0]
    for key, label in rows:
        wall, cpu = best[(key, "now")]
        cells = [label, f"{wall:.3f}", f"{cpu:.3f}", f"{wall / bare:.2f}"]
        if before:
            old = best.get((key, "before"))
            cells += (
                [f"{old[0]:.3f}", f"{old[1]:.3f}", f"{old[0] / wall:.2f}"] if old else ["", "", ""]
            )
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
