#!/usr/bin/env python3
"""What do the EU documents (#14: Model Documentation Form, training-content summary) cost?

    python bench/eu_docs_bench.py [--models 200] [--repeat 3] [--keep]

Makes the project of `bench/site_scale.py` (N tiny fine-tunes of one base), reads every model's
render inputs once, then times, interleaved and best of --repeat, in this process:

    render     the whole render of each model (README, CHANGES, card.json, documents included):
               the baseline
    documents  the context with the documents less the context without them (the
               `render.context._facts` part alone)
    markdown   the two Markdown files from card.json's data (render.eu_markdown)

and, for the site, one plain `mkdocs build --strict` of the generated site source against the
same source with the documents' pages (and the links to them) taken out: mkdocs spends a fixed
time on every page, and the documents add two per model. CPU seconds are this process's (and,
for mkdocs, its child's). Nothing here is a test: it prints a table and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_scale import make_project  # noqa: E402

EU_PAGES = ("model-documentation.md", "training-content.md")
EU_LINK = re.compile(r"\[(Model Documentation Form|Training content summary)\]\([^)]*\)( · )?")


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def best(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return min(s[0] for s in samples), min(s[1] for s in samples)


def mkdocs(site_dir: Path, out: Path) -> tuple[float, float]:
    started, cpu = time.perf_counter(), cpu_children()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                    str(site_dir / "mkdocs.yml"), "--site-dir", str(out)], check=True)  # fmt: skip
    return time.perf_counter() - started, cpu_children() - cpu


def without_documents(source: Path, target: Path) -> int:
    """A copy of the site source without the documents' pages and links; pages removed."""
    shutil.copytree(source, target)
    removed = 0
    for page in target.rglob("*.md"):
        if page.name in EU_PAGES:
            page.unlink()
            removed += 1
        else:
            text = page.read_text(encoding="utf-8")
            stripped = EU_LINK.sub("", text)
            stripped = re.sub(r"\nThe documents themselves, drafted[^\n]*\n", "\n", stripped)
            if stripped != text:
                page.write_text(stripped, encoding="utf-8")
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("MODELCARDS_CACHE", tempfile.mktemp(prefix="mc-eu-cache-"))
    from modelcards.history import ProjectGit
    from modelcards.project.build import build_project, model_inputs, prepare
    from modelcards.project.config import load_config
    from modelcards.project.state import model_state
    from modelcards.render import make_environment, render_model
    from modelcards.render.context import _facts, build_context
    from modelcards.render.eu_markdown import document_files
    from modelcards.safeio.hashcache import HashCache, default_cache_file

    work = Path(tempfile.mkdtemp(prefix="mc-eu-bench-"))
    try:
        root = work / "project"
        make_project(root, args.models)
        config = load_config(root)
        git, cache = ProjectGit(config.root), HashCache(default_cache_file())
        inputs = [model_inputs(config, prepare(config, model_state(config, e, cache, git), git))
                  for e in config.models]  # fmt: skip
        contexts = [json.loads(json.dumps(build_context(i), default=str)) for i in inputs]
        env = make_environment(config.templates)
        timed: dict[str, list[tuple[float, float]]] = {
            "render": [], "facts": [], "context": [], "markdown": []}  # fmt: skip
        for _ in range(args.repeat):  # interleaved: a busy moment hits every method alike
            for name, run in (("render", lambda: [render_model(i, env, None, lambda _: "x")
                                                  for i in inputs]),
                              ("facts", lambda: [_facts(i) for i in inputs]),
                              ("context", lambda: [build_context(i) for i in inputs]),
                              ("markdown", lambda: [document_files(c) for c in contexts])):  # fmt: skip
                started, cpu = time.perf_counter(), cpu_self()
                run()
                timed[name].append((time.perf_counter() - started, cpu_self() - cpu))
        build_project(config, cache=cache, site=True, jobs=1)
        source = root / config.site.dir
        pages = sum(1 for _ in (source / "docs").rglob("*.md"))
        removed = without_documents(source, work / "plain-src")
        sites: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        for n in range(args.repeat):
            sites["with"].append(mkdocs(source, work / f"out-with-{n}"))
            sites["without"].append(mkdocs(work / "plain-src", work / f"out-without-{n}"))
        load = os.getloadavg()
        render, facts, context, markdown = (
            best(timed[k]) for k in ("render", "facts", "context", "markdown"))  # fmt: skip
        documents = (context[0] - facts[0], context[1] - facts[1])
        with_docs, without = best(sites["with"]), best(sites["without"])
        print(f"{args.models} models, best of {args.repeat}, load average "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
        print(f"site: {pages} Markdown pages, of which {removed} are the documents'\n")
        print("| step | wall s | CPU s | ratio to baseline (CPU) |\n|---|---:|---:|---:|")
        print(f"| render of every model, documents included (baseline) | {render[0]:.3f} | "
              f"{render[1]:.3f} | 1.000 |")  # fmt: skip
        print(f"| of which the two documents' data (context with − without) | {documents[0]:.3f} "
              f"| {documents[1]:.3f} | {documents[1] / render[1]:.3f} |")  # fmt: skip
        print(f"| the two Markdown files, from card.json | {markdown[0]:.3f} | {markdown[1]:.3f} | "
              f"{markdown[1] / render[1]:.3f} |")  # fmt: skip
        print(f"| mkdocs, site without the documents' pages (baseline) | {without[0]:.2f} | "
              f"{without[1]:.2f} | 1.000 |")  # fmt: skip
        print(f"| mkdocs, site with them | {with_docs[0]:.2f} | {with_docs[1]:.2f} | "
              f"{with_docs[1] / without[1]:.3f} |")  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
