#!/usr/bin/env python3
"""How long does `modelcards build` take for a project of N models (default 1,000)?

    python bench/site_scale.py [--models 1000] [--jobs N] [--out DIR] [--keep]

Writes one small base model and N tiny fine-tunes (a 2-layer Llama in safetensors, a config, a
tokenizer config; every fifth one a LoRA adapter, every third one with a Trainer log, every
tenth one tagged as a release) into a git repository with one commit, then runs the same steps
as `modelcards build` and times them apart:

    generation  read, diff, render every model, write cards and the site's Markdown pages (and
                the record of every model's key that a full build writes last)
    mkdocs      `mkdocs build --strict` of the generated site

Both run in --jobs processes (default: every core), as `modelcards build --jobs N` does; cpu s
counts this process and its children (render workers, git, mkdocs). Timed in the same run:
the baseline, one plain single-process `mkdocs build` of the same folder, and a second
`modelcards build` with nothing changed (cards and site are then left as they are).

Nothing here is a test: it prints the figures (and the page count) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

HIDDEN, VOCAB, LAYERS = 16, 64, 2


def tensors(seed: int, vocab: int = VOCAB) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {"model.embed_tokens.weight": rng.standard_normal((vocab, HIDDEN), dtype=np.float32)}
    for i in range(LAYERS):
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            out[f"model.layers.{i}.self_attn.{name}.weight"] = rng.standard_normal(
                (HIDDEN, HIDDEN), dtype=np.float32
            )
    out["lm_head.weight"] = rng.standard_normal((vocab, HIDDEN), dtype=np.float32)
    return out


def config(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": 2, "vocab_size": VOCAB,
        "max_position_embeddings": 512, "torch_dtype": "float32",
    }  # fmt: skip
    base.update(overrides)
    return base


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def trainer_state(steps: int) -> dict[str, object]:
    log = [
        {"step": s, "loss": round(2.5 * 0.99**s, 4), "learning_rate": 2e-5 * (1 - s / steps)}
        for s in range(10, steps + 1, 10)
    ]
    return {"global_step": steps, "epoch": 1.0, "log_history": log}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false",
         "-c", "tag.gpgsign=false", "-c", "user.name=bench", "-c", "user.email=bench@example.org",
         *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


def make_project(root: Path, count: int) -> None:
    base = root / "base-model"
    write_json(base / "config.json", config())
    save_file(tensors(0), str(base / "model.safetensors"))
    lines = ["models:"]
    for i in range(count):
        name = f"model-{i:04d}"
        folder = root / "models" / name
        if i % 5 == 4:  # a LoRA adapter
            write_json(folder / "adapter_config.json", {
                "peft_type": "LORA", "r": 4, "lora_alpha": 8, "task_type": "CAUSAL_LM",
                "target_modules": ["q_proj"], "base_model_name_or_path": "bench/base",
            })  # fmt: skip
            rng = np.random.default_rng(i)
            save_file(
                {
                    f"base_model.model.model.layers.{layer}.self_attn.q_proj.lora_{ab}.weight": (
                        rng.standard_normal(shape, dtype=np.float32)
                    )
                    for layer in range(LAYERS)
                    for ab, shape in (("A", (4, HIDDEN)), ("B", (HIDDEN, 4)))
                },
                str(folder / "adapter_model.safetensors"),
            )
        else:
            write_json(folder / "config.json", config(max_position_embeddings=512 * (1 + i % 4)))
            save_file(tensors(i), str(folder / "model.safetensors"))
            write_json(folder / "generation_config.json", {"temperature": 0.5 + (i % 5) / 10})
        if i % 3 == 0:
            write_json(folder / "trainer_state.json", trainer_state(100 + 10 * (i % 7)))
        lines.append(f"  - path: models/{name}\n    base: {{path: base-model, id: bench/base}}")
    (root / "modelcards.yml").write_text("\n".join(lines) + "\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "feat: add models")
    for i in range(0, count, 10):
        git(root, "tag", f"model-{i:04d}/v1.0")


def process_and_children_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (workers, git, mkdocs)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def same_tree(output: Path, plain: Path, site_dir: Path) -> bool:
    """Whether the incremental output is what one plain `mkdocs build` of its sources writes."""
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
         str(site_dir / "mkdocs.yml"), "--site-dir", str(plain)],
        check=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip

    def tree(folder: Path) -> dict[str, bytes]:
        files = (p for p in folder.rglob("*") if p.is_file())
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}

    built = tree(output)
    built.pop(".modelcards-built", None)
    return built == tree(plain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="project folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the project folder")
    parser.add_argument("--jobs", type=int, help="processes to use (default: every core)")
    args = parser.parse_args(argv)

    from modelcards.history import ProjectGit
    from modelcards.project.build import build_project, render_project, write_outputs
    from modelcards.project.config import load_config
    from modelcards.project.record import KeyMaker, write_record
    from modelcards.publish.mkdocs_build import build_site
    from modelcards.publish.site import site_pages, write_site
    from modelcards.render import make_environment
    from modelcards.safeio.hashcache import HashCache
    from modelcards.safeio.parallel import default_jobs

    jobs = args.jobs or default_jobs()
    root = args.out or Path(tempfile.mkdtemp(prefix="modelcards-bench-"))
    if root.exists() and any(root.iterdir()):
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        make_project(root, args.models)
        made = time.perf_counter() - started

        started, cpu = time.perf_counter(), process_and_children_cpu()
        project = load_config(root)
        models = render_project(project, jobs=jobs)
        files: dict[str, str] = {}
        for model in models:
            files.update(model.files())
        pages = site_pages(project, models, make_environment(project.templates), jobs=jobs)
        write_outputs(project, files)
        write_site(project, pages)
        generation = time.perf_counter() - started
        generation_cpu = process_and_children_cpu() - cpu

        started, cpu = time.perf_counter(), process_and_children_cpu()
        built = build_site(project, jobs=jobs)
        output = built.output
        mkdocs, mkdocs_cpu = time.perf_counter() - started, process_and_children_cpu() - cpu

        # what a full build writes last: the record of every model's key (project/record.py)
        started, cpu = time.perf_counter(), process_and_children_cpu()
        keys = KeyMaker(project, ProjectGit(project.root), HashCache(), None)
        write_record(project, keys, models, {**files, **pages}, {}, built.sources)
        generation += time.perf_counter() - started
        generation_cpu += process_and_children_cpu() - cpu

        # the baseline, timed in the same run: one plain `mkdocs build` of the same folder
        started, cpu = time.perf_counter(), process_and_children_cpu()
        subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
             str(root / project.site.dir / "mkdocs.yml"), "--site-dir", str(root / "plain-site")],
            check=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )  # fmt: skip
        plain, plain_cpu = time.perf_counter() - started, process_and_children_cpu() - cpu

        # `modelcards build` again with nothing changed (best of 3): cards and site left as they are
        rebuild, rebuild_cpu = float("inf"), float("inf")
        for _ in range(3):
            started, cpu = time.perf_counter(), process_and_children_cpu()
            report = build_project(project, cache=HashCache(), jobs=jobs)
            rebuild = min(rebuild, time.perf_counter() - started)
            rebuild_cpu = min(rebuild_cpu, process_and_children_cpu() - cpu)
            assert report.written == (), report.written[:3]

        # one model's files changed (as a pull request that touches one model), best of 2
        changed = root / "models/model-0001/generation_config.json"
        one_changed, one_changed_cpu = float("inf"), float("inf")
        for value in ("0.65", "0.7"):
            text = changed.read_text()
            changed.write_text(text.replace('"temperature": 0.6', f'"temperature": {value}', 1))
            started, cpu = time.perf_counter(), process_and_children_cpu()
            report = build_project(project, cache=HashCache(), jobs=jobs)
            one_changed = min(one_changed, time.perf_counter() - started)
            one_changed_cpu = min(one_changed_cpu, process_and_children_cpu() - cpu)
            assert report.written, "the changed model's card was not written"
        identical = same_tree(output, root / "plain-again", root / project.site.dir)

        html = sum(1 for _ in output.rglob("*.html"))
        markdown = sum(1 for p in pages if p.endswith(".md"))
        print(f"models           {args.models:>8,}   jobs {jobs}")
        print(f"markdown pages   {markdown:>8,}   html pages {html:,}")
        print(f"making the repo  {made:>8.1f} s   (not part of the build)")
        print("                   wall s    cpu s")
        print(
            f"generation       {generation:>8.1f} {generation_cpu:>8.1f}   (read, diff, render, write)"
        )
        print(f"mkdocs build     {mkdocs:>8.1f} {mkdocs_cpu:>8.1f}   ({jobs} shards side by side)")
        print(f"total build      {generation + mkdocs:>8.1f} {generation_cpu + mkdocs_cpu:>8.1f}")
        print(
            f"baseline: one plain mkdocs build {plain:.1f} s wall, {plain_cpu:.1f} s cpu; "
            f"ratio {plain / mkdocs:.2f}"
        )
        first, first_cpu = generation + mkdocs, generation_cpu + mkdocs_cpu
        print(f"rebuild, nothing changed (best of 3): {rebuild:.2f} s wall, {rebuild_cpu:.2f} s "
              f"cpu (ratio to the first build {rebuild / first:.3f} wall, "
              f"{rebuild_cpu / first_cpu:.3f} cpu)")  # fmt: skip
        print(f"rebuild, one model changed (best of 2): {one_changed:.2f} s wall, "
              f"{one_changed_cpu:.2f} s cpu (ratio to the first build {one_changed / first:.3f} "
              f"wall, {one_changed_cpu / first_cpu:.3f} cpu); site byte-identical to a plain "
              f"mkdocs build of the same pages: {identical}")  # fmt: skip
        print(f"({os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end)")
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(root, ignore_errors=True)
        elif args.keep:
            print(f"project kept at {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
