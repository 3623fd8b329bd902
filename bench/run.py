"""Scale benchmarks for modelcards: one command, one table of ratios against baselines timed in
the same run.

    python bench/run.py                  # all three: sparse 70B headers, deep compare, hashing
    python bench/run.py --deep-gb 0.5    # smaller deep-compare files
    python bench/run.py --only sparse    # or: deep, hash, dtypes
    python bench/run.py --only dtypes --before main   # b2, also timing main's package

a. headers: a sparse 70B-class model (30 shards, 723 tensors, ~141 GB apparent, ~0 on disk) and a
   tuned copy (resized embedding, re-typed norms, renamed prefix): `inspect_snapshot` + `compare`
   against `safetensors.safe_open` listing and `huggingface_hub.get_local_safetensors_metadata`.
b. deep: two real files of --deep-gb GB each (page cache warmed): `deep_compare` against
   `cat a b > /dev/null` and a naive numpy full load + subtract; each method in its own
   subprocess so peak RSS (ru_maxrss) is its own.
c. hashing: `modelcards.safeio.hashing.sha256_file` against `sha256sum` on the same file.
b2. (run after c.) `modelcards diff BASE TUNED --deep --format json` in a fresh process per stored
   dtype (BF16, F16, F8_E4M3, F8_E5M2) against `cat` of the same files; with --before REF also
   the same command on REF's package (`git archive`, first on PYTHONPATH), runs interleaved.

Big files live in --dir (default /tmp/modelcards-bench) and are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# MODELCARDS_BENCH_PACKAGE: a folder holding another revision's `modelcards` (see --before)
sys.path.insert(0, os.environ.get("MODELCARDS_BENCH_PACKAGE") or str(Path(__file__).parent.parent))

from modelcards.compare import compare  # noqa: E402
from modelcards.compare.deep.run import deep_compare  # noqa: E402
from modelcards.inspect import inspect_snapshot  # noqa: E402
from modelcards.resolve import open_folder  # noqa: E402
from modelcards.safeio.hashing import sha256_file  # noqa: E402

ITEM = {"BF16": 2, "F32": 4, "F16": 2, "F8_E4M3": 1, "F8_E5M2": 1}


# ---------------------------------------------------------------------------------------------
# helpers


def peak_rss() -> int:
    """VmHWM of this process (reset by exec, unlike ru_maxrss, which survives fork + exec)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rchar() -> int:
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def write_header(handle: Any, specs: list[tuple[str, str, tuple[int, ...]]]) -> int:
    """Write the 8-byte length + JSON header for tensors laid out in order; return data bytes."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape in specs:
        size = int(np.prod(shape)) * ITEM[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    handle.write(struct.pack("<Q", len(raw)) + raw)
    return offset


def llama_specs(
    layers: int,
    hidden: int,
    inter: int,
    kv: int,
    vocab: int,
    *,
    prefix: str = "model.",
    vocab_tuned: int | None = None,
    retype: int = 0,
) -> list[tuple[str, str, tuple[int, ...]]]:
    v = vocab_tuned or vocab
    specs = [(f"{prefix}embed_tokens.weight", "BF16", (v, hidden))]
    for i in range(layers):
        p = f"{prefix}layers.{i}."
        specs += [
            (p + "self_attn.q_proj.weight", "BF16", (hidden, hidden)),
            (p + "self_attn.k_proj.weight", "BF16", (kv, hidden)),
            (p + "self_attn.v_proj.weight", "BF16", (kv, hidden)),
            (p + "self_attn.o_proj.weight", "BF16", (hidden, hidden)),
            (p + "mlp.gate_proj.weight", "BF16", (inter, hidden)),
            (p + "mlp.up_proj.weight", "BF16", (inter, hidden)),
            (p + "mlp.down_proj.weight", "BF16", (hidden, inter)),
            (p + "input_layernorm.weight", "F32" if i < retype else "BF16", (hidden,)),
            (p + "post_attention_layernorm.weight", "BF16", (hidden,)),
        ]
    specs.append((f"{prefix}norm.weight", "BF16", (hidden,)))
    specs.append((prefix.removesuffix("model.") + "lm_head.weight", "BF16", (v, hidden)))
    return specs


def nbytes(spec: tuple[str, str, tuple[int, ...]]) -> int:
    return int(np.prod(spec[2])) * ITEM[spec[1]]


def table(rows: list[dict[str, Any]]) -> str:
    cols = ["bench", "method", "seconds", "ratio", "read", "peak RSS", "CPU s"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


def human(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return str(count)


def best_of(fn: Callable[[], Any], runs: int) -> tuple[float, int, Any]:
    """(best seconds, rchar delta of the first run, result)."""
    best, read, result = float("inf"), 0, None
    for i in range(runs):
        before, start = rchar(), time.perf_counter()
        result = fn()
        seconds, delta = time.perf_counter() - start, rchar() - before
        best = min(best, seconds)
        if i == 0:
            read = delta
    return best, read, result


# ---------------------------------------------------------------------------------------------
# a. sparse 70B headers


def build_sparse(root: Path) -> tuple[Path, Path, int]:
    cfg = dict(layers=80, hidden=8192, inter=28672, kv=1024, vocab=128256)
    models = {
        "base": llama_specs(**cfg),  # type: ignore[arg-type]
        "tuned": llama_specs(**cfg, prefix="language_model.model.", vocab_tuned=128264, retype=4),  # type: ignore[arg-type]
    }
    apparent = 0
    for which, specs in models.items():
        folder = root / f"sparse-{which}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        total = sum(nbytes(s) for s in specs)
        shards: list[list[tuple[str, str, tuple[int, ...]]]] = [[]]
        size = 0
        for spec in specs:  # fill 30 shards of about total/30 bytes
            if size >= total / 30 * len(shards) and len(shards) < 30:
                shards.append([])
            shards[-1].append(spec)
            size += nbytes(spec)
        weight_map = {}
        for i, shard in enumerate(shards):
            name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
            with open(folder / name, "wb") as handle:
                data = write_header(handle, shard)
                handle.truncate(handle.tell() + data)  # sparse: no blocks allocated
            apparent += (folder / name).stat().st_size
            weight_map.update({spec[0]: name for spec in shard})
        (folder / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2)
        )
        (folder / "config.json").write_text(json.dumps({
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8192,
            "intermediate_size": 28672, "num_hidden_layers": 80, "num_key_value_heads": 8,
            "num_attention_heads": 64, "torch_dtype": "bfloat16",
            "vocab_size": 128256 if which == "base" else 128264,
        }))  # fmt: skip
    return root / "sparse-base", root / "sparse-tuned", apparent


def bench_sparse(root: Path, rows: list[dict[str, Any]], runs: int) -> None:
    base, tuned, apparent = build_sparse(root)
    shards = len(list(base.glob("*.safetensors")))
    disk = sum(p.stat().st_blocks * 512 for p in [*base.iterdir(), *tuned.iterdir()])
    print(
        f"sparse fixture: {shards} shards per side, {apparent / 2e9:.0f} GB apparent per side, "
        f"{disk / 1e6:.1f} MB on disk",
        file=sys.stderr,
    )

    def ours() -> Any:
        fb, ft = inspect_snapshot(open_folder(base)), inspect_snapshot(open_folder(tuned))
        return fb, ft, compare(fb, ft)

    def naive() -> Any:
        from safetensors import safe_open

        listing = {}
        for folder in (base, tuned):
            for shard in sorted(folder.glob("*.safetensors")):
                with safe_open(str(shard), framework="numpy") as handle:
                    for key in handle.keys():  # noqa: SIM118 (safe_open is not a dict)
                        piece = handle.get_slice(key)
                        listing[(folder.name, key)] = (piece.get_dtype(), piece.get_shape())
        return listing

    seconds, read, (fb, ft, diff) = best_of(ours, runs)
    w = diff.weights
    print(
        f"  ours: {len(fb.weights.tensors)} + {len(ft.weights.tensors)} tensors, "
        f"renames {[(r.base_prefix, r.tuned_prefix, r.count) for r in w.renames]}, "
        f"reshaped {len(w.reshaped)}, retyped {len(w.retyped)}",
        file=sys.stderr,
    )
    assert len(fb.weights.tensors) == 723 and len(w.reshaped) == 2 and len(w.retyped) == 4
    naive_s, naive_read, listing = best_of(naive, runs)
    assert len(listing) == 2 * 723
    label = f"a. headers, 70B sparse (2 × {apparent / 2e9:.0f} GB, 2 × {shards} shards)"
    rows.append(
        dict(
            bench=label,
            method="safetensors.safe_open, list keys/shapes/dtypes (baseline)",
            seconds=f"{naive_s:.3f}",
            ratio="1.00",
            read=human(naive_read),
        )
    )
    rows.append(
        dict(
            bench=label,
            method="modelcards inspect_snapshot ×2 + compare",
            seconds=f"{seconds:.3f}",
            ratio=f"{naive_s / seconds:.2f}",
            read=human(read),
        )
    )
    bench_short_command(base, tuned, label, rows, runs)
    try:
        from huggingface_hub import get_local_safetensors_metadata
    except ImportError:
        rows.append(
            dict(
                bench=label,
                method="huggingface_hub.get_local_safetensors_metadata",
                seconds="n/a (not in this huggingface_hub)",
            )
        )
        return
    hub_s, hub_read, _ = best_of(
        lambda: [get_local_safetensors_metadata(f) for f in (base, tuned)], runs
    )
    rows.append(
        dict(
            bench=label,
            method="huggingface_hub.get_local_safetensors_metadata ×2",
            seconds=f"{hub_s:.3f}",
            ratio=f"{naive_s / hub_s:.2f}",
            read=human(hub_read),
        )
    )


BARE_PARSE = """
import json, struct, sys
from pathlib import Path
for folder in sys.argv[1:]:
    for shard in sorted(Path(folder).glob("*.safetensors")):
        with open(shard, "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            json.loads(handle.read(size))
"""


def bench_short_command(
    base: Path, tuned: Path, label: str, rows: list[dict[str, Any]], runs: int
) -> None:
    """The whole command as a user runs it (interpreter start and imports included), against a
    fresh interpreter that only parses the same headers."""

    def command(*args: str) -> Callable[[], Any]:
        return lambda: subprocess.run([sys.executable, *args], check=True, capture_output=True)

    bare_s, _, _ = best_of(command("-c", BARE_PARSE, str(base), str(tuned)), runs)
    diff_s, _, _ = best_of(
        command("-m", "modelcards", "diff", str(base), str(tuned), "--format", "json"), runs
    )
    rows.append(
        dict(
            bench=label,
            method="python -c: parse the same headers in a fresh interpreter (baseline)",
            seconds=f"{bare_s:.3f}",
            ratio="1.00",
        )
    )
    rows.append(
        dict(
            bench=label,
            method="modelcards diff --format json (whole command, imports included)",
            seconds=f"{diff_s:.3f}",
            ratio=f"{bare_s / diff_s:.2f}",
        )
    )


# ---------------------------------------------------------------------------------------------
# b. deep compare on real files


DEEP_DTYPES = ("BF16", "F16", "F8_E4M3", "F8_E5M2")
# bits under which all-ones is infinity or NaN: the generated weights hold neither
SPECIAL = {"BF16": 0x7F80, "F16": 0x7C00, "F8_E4M3": 0x7F, "F8_E5M2": 0x7C}


def stored_pool(dtype: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` stored values of weight-like numbers in `dtype`, and the same with their lowest
    mantissa bits flipped (a full fine-tune's small changes), neither holding inf or NaN."""
    normal = rng.standard_normal(n, dtype=np.float32)
    if dtype == "BF16":
        pool = ((normal * 0.02).view(np.uint32) >> 16).astype(np.uint16)
    elif dtype in ("F16", "F8_E5M2"):
        pool = (normal * 0.02).astype(np.float16).view(np.uint16)
        if dtype == "F8_E5M2":  # E5M2 is the top byte of an F16
            pool = (pool >> 8).astype(np.uint8)
    else:  # F8_E4M3, bias 7, scaled to use its range as FP8 checkpoints do: from F16 bits
        half = np.clip(normal * 64, -448, 448).astype(np.float16).view(np.uint16)
        exponent = np.clip(((half >> 10) & 0x1F).astype(np.int16) - 8, 0, 15).astype(np.uint16)
        pool = (((half >> 8) & 0x80) | (exponent << 3) | ((half >> 7) & 7)).astype(np.uint8)
    top = 4 if pool.dtype == np.uint16 else 2
    tuned = pool ^ rng.integers(0, top, n, dtype=pool.dtype)
    special = pool.dtype.type(SPECIAL[dtype])
    lowest = pool.dtype.type(SPECIAL[dtype] & -SPECIAL[dtype])
    for values in (pool, tuned):  # e.g. F8_E4M3's S.1111.111 is NaN: clear its lowest bit
        values[(values & special) == special] &= ~lowest
    return pool, tuned


def build_deep(root: Path, gb: float, dtype: str = "BF16") -> tuple[Path, Path, int]:
    """A TinyLlama-shaped model of about `gb` GB stored in `dtype` and a tuned copy: most
    tensors nudged in their low mantissa bits (like a full fine-tune), norms and every 4th
    k_proj unchanged."""
    item = ITEM[dtype]

    def typed(
        specs: list[tuple[str, str, tuple[int, ...]]],
    ) -> list[tuple[str, str, tuple[int, ...]]]:
        return [(name, dtype if kind == "BF16" else kind, shape) for name, kind, shape in specs]

    per_layer = sum(nbytes(s) for s in typed(llama_specs(1, 2048, 5632, 256, 32000)[1:10]))
    fixed = 2 * 32000 * 2048 * item
    layers = max(1, round((gb * 1e9 - fixed) / per_layer))
    specs = typed(llama_specs(layers, 2048, 5632, 256, 32000))
    rng = np.random.default_rng(0)
    pool_n = 1 << 24
    pools = dict(zip(("base", "tuned"), stored_pool(dtype, rng, pool_n), strict=True))
    paths = []
    for which in ("base", "tuned"):
        folder = root / f"deep-{which}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"model_type": "llama"}')
        path = folder / "model.safetensors"
        with open(path, "wb") as handle:
            write_header(handle, specs)
            start = 0
            for name, _dtype, shape in specs:
                n = int(np.prod(shape))
                unchanged = "norm" in name or ("k_proj" in name and ".3." in name)
                pool = pools["tuned" if which == "tuned" and not unchanged else "base"]
                done = 0
                while done < n:
                    m = min(n - done, pool_n - start)
                    handle.write(pool[start : start + m].tobytes())
                    done += m
                    start = (start + m) % (pool_n - 7)  # drift so tensors differ from each other
        paths.append(path)
    return paths[0], paths[1], layers


def method_main(method: str, base: Path, tuned: Path) -> None:
    """Run one deep-compare method in this (fresh) process; print seconds, rchar, peak RSS."""
    read0 = rchar()
    start = time.perf_counter()
    deep_cpu = 0.0
    if method.startswith("ours"):
        _, mode, workers, *sketch = method.split(":")
        sb, st = open_folder(base.parent), open_folder(tuned.parent)
        fb, ft = inspect_snapshot(sb), inspect_snapshot(st)
        cpu0 = time.process_time()  # every thread of this process
        options = {"rank_sketch": False} if sketch == ["nosketch"] else {}
        result = deep_compare(fb, ft, sb, st, workers=int(workers), read_mode=mode, **options)  # type: ignore[arg-type]
        deep_cpu = time.process_time() - cpu0
        summary = result.as_json()["summary"]
    elif method == "processes":
        summary = _processes(base, tuned)
    elif method == "naive":
        summary = _naive(base, tuned)
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - start
    print(json.dumps({
        "seconds": seconds, "rchar": rchar() - read0, "summary": summary, "deep_cpu": deep_cpu,
        "peak_rss": max(peak_rss(), summary.get("peak_rss", 0)),
    }))  # fmt: skip


def _half(args: tuple[Path, Path, int]) -> dict[str, Any]:
    base, tuned, part = args
    from dataclasses import replace

    sb, st = open_folder(base.parent), open_folder(tuned.parent)
    fb, ft = inspect_snapshot(sb), inspect_snapshot(st)
    names = sorted(fb.weights.tensors)
    sizes = [(fb.weights.tensors[n].numel, n) for n in names]
    sizes.sort(reverse=True)
    mine = {n for i, (_, n) in enumerate(sizes) if (i % 2) == part}  # alternate by size
    fb = replace(fb, weights=replace(fb.weights, tensors={
        n: t for n, t in fb.weights.tensors.items() if n in mine}))  # fmt: skip
    ft = replace(ft, weights=replace(ft.weights, tensors={
        n: t for n, t in ft.weights.tensors.items() if n in mine}))  # fmt: skip
    summary = deep_compare(fb, ft, sb, st, workers=1).as_json()["summary"]
    return {**summary, "peak_rss": peak_rss()}


def _processes(base: Path, tuned: Path) -> dict[str, Any]:
    """Two processes, each comparing half of the tensors with one thread."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        halves = list(pool.map(_half, [(base, tuned, 0), (base, tuned, 1)]))
    return {
        "changed": sum(h["changed"] for h in halves),
        "bytes_read": sum(h["bytes_read"] for h in halves),
        "peak_rss": sum(h["peak_rss"] for h in halves),  # both at once: the sum bounds the total
    }


def _naive(base: Path, tuned: Path) -> dict[str, Any]:
    """Load both files whole, then widen, subtract and take norms tensor by tensor."""
    a, b = np.fromfile(base, dtype=np.uint8), np.fromfile(tuned, dtype=np.uint8)
    (length,) = struct.unpack("<Q", a[:8].tobytes())
    header = json.loads(a[8 : 8 + length].tobytes())
    start = 8 + length
    changed = 0
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        lo, hi = spec["data_offsets"]
        x = (a[start + lo : start + hi].view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        y = (b[start + lo : start + hi].view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        d = y - x
        _rel = np.linalg.norm(d) / np.linalg.norm(x)
        changed += int(np.count_nonzero(d) > 0)
    return {"changed": changed, "bytes_read": int(a.nbytes + b.nbytes)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_method(
    method: str, base: Path, tuned: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    cpu0 = children_cpu()
    out = subprocess.run(
        [sys.executable, __file__, "--method", method, "--base", str(base), "--tuned", str(tuned)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    result["cpu"] = children_cpu() - cpu0  # includes interpreter start-up and inspection
    return result


def timed_cat(*paths: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `cat paths > /dev/null`."""
    cpu0, start = children_cpu(), time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["cat", *map(str, paths)], stdout=sink, check=True)
    return time.perf_counter() - start, children_cpu() - cpu0


def bench_deep(root: Path, gb: float, rows: list[dict[str, Any]], runs: int) -> tuple[Path, Path]:
    base, tuned, layers = build_deep(root, gb)
    size = base.stat().st_size + tuned.stat().st_size
    print(f"deep fixture: {layers} layers, 2 × {base.stat().st_size / 1e9:.2f} GB", file=sys.stderr)
    timed_cat(base, tuned)  # warm the page cache
    cat_s, cat_cpu = min(timed_cat(base, tuned) for _ in range(runs))
    label = f"b. deep compare, 2 × {base.stat().st_size / 1e9:.2f} GB BF16 (warm cache)"
    rows.append(
        dict(
            bench=label,
            method="cat a b > /dev/null (baseline)",
            seconds=f"{cat_s:.2f}",
            ratio="1.00",
            read=human(size),
            **{"peak RSS": "—", "CPU s": f"{cat_cpu:.2f}"},
        )
    )
    methods = [
        ("ours:mmap:2", "modelcards deep_compare (default: mmap, 2 threads)"),
        ("ours:mmap:2:nosketch", "modelcards deep_compare, mmap, 2 threads, no ΔW rank sketch"),
        ("ours:mmap:1", "modelcards deep_compare, mmap, 1 thread"),
        ("ours:mmap:1:nosketch", "modelcards deep_compare, mmap, 1 thread, no ΔW rank sketch"),
        ("ours:pread:2", "modelcards deep_compare, pread, 2 threads"),
        ("ours:pread:1", "modelcards deep_compare, pread, 1 thread"),
        ("processes", "modelcards deep_compare, 2 processes × 1 thread (half the tensors each)"),
        ("naive", "naive numpy: load both files whole, widen, subtract"),
    ]
    every: dict[str, list[dict[str, Any]]] = {method: [] for method, _ in methods}
    for turn in range(runs):  # interleaved: a busy moment hits every method alike
        for method, _ in methods:
            if method != "naive" or turn == 0:
                every[method].append(run_method(method, base, tuned))
    for method, text in methods:
        results = every[method]
        best = min(results, key=lambda r: r["seconds"])
        rss = best["peak_rss"]
        speed = size / best["seconds"]
        rows.append(dict(
            bench=label, method=text, seconds=f"{best['seconds']:.2f}",
            ratio=f"{cat_s / best['seconds']:.2f} ({human(speed)}/s)",
            read=human(best["summary"]["bytes_read"]),
            **{"peak RSS": human(rss), "CPU s": f"{best['cpu']:.2f}"},
        ))  # fmt: skip
        print(
            f"  {method}: {best['seconds']:.2f}s, changed {best['summary']['changed']}, "
            f"deep_compare CPU s (best) {min(r['deep_cpu'] for r in results):.2f}",
            file=sys.stderr,
        )
    return base, tuned


def before_package(ref: str, root: Path) -> Path:
    """The `modelcards` package as it was at git revision `ref` (`git archive`), unpacked in a
    folder to put first on PYTHONPATH: the same interpreter and libraries, the older code."""
    target = root / "before"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", ref, "modelcards", "templates"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def timed_process(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Wall seconds, CPU seconds and stdout of one process (`os.wait4`: its own CPU; not its
    ru_maxrss, which starts from this process's size at the fork). `cwd` outside the
    repository: `python -m` puts the working folder first on sys.path."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{argv} failed: {err.read().decode(errors='replace')[-2000:]}")
    return {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "stdout": out}


def bench_deep_dtypes(
    root: Path, gb: float, dtypes: list[str], rows: list[dict[str, Any]], runs: int, before: str
) -> None:
    """b2. `modelcards diff BASE TUNED --deep --format json` as a user runs it (fresh process,
    imports and header inspection included) against `cat` of the same two files, warm cache,
    per stored dtype; with `before`, the same command on that revision's package, interleaved."""
    # as an installed package runs: its bytecode cached (pip writes it at install time)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before_env = None
    if before:
        tree = str(before_package(before, root))
        before_env = {**env, "PYTHONPATH": tree, "MODELCARDS_BENCH_PACKAGE": tree}
    for dtype in dtypes:
        base, tuned, layers = build_deep(root, gb, dtype)
        size = base.stat().st_size + tuned.stat().st_size
        label = f"b2. `diff --deep` command, 2 × {size / 2e9:.2f} GB {dtype} (warm cache)"
        print(f"deep {dtype}: {layers} layers, 2 × {size / 2e9:.2f} GB", file=sys.stderr)
        argv = [sys.executable, "-m", "modelcards", "diff", str(base.parent), str(tuned.parent),
                "--deep", "--format", "json"]  # fmt: skip
        commands = {"now": env}
        if before_env is not None:
            commands[f"before ({before})"] = before_env
        timed_cat(base, tuned)  # warm the page cache
        for name, command_env in commands.items():  # the bytecode caches; which code runs
            where = "import modelcards.compare.deep.run as m; print(m.__file__)"
            found = timed_process([sys.executable, "-c", where], command_env, root)["stdout"]
            print(f"  {name}: {found.decode().strip()}", file=sys.stderr)
        cat_wall, cat_cpu = float("inf"), float("inf")
        best = {k: {"seconds": 1e9, "cpu": 1e9} for k in commands}
        seen: dict[str, Any] = {}
        inproc = {name: {"seconds": 1e9, "peak_rss": 0, "deep_cpu": 1e9} for name in commands}
        for _ in range(runs):  # interleaved: a busy moment hits every method alike
            wall, cpu = timed_cat(base, tuned)
            cat_wall, cat_cpu = min(cat_wall, wall), min(cat_cpu, cpu)
            for name, command_env in commands.items():
                one = run_method("ours:mmap:1", base, tuned, command_env)
                best_cpu = min(inproc[name]["deep_cpu"], one["deep_cpu"])
                inproc[name] = {**min(inproc[name], one, key=lambda r: r["seconds"]),
                                "deep_cpu": best_cpu}  # fmt: skip
            for name, command_env in commands.items():
                result = timed_process(argv, command_env, root)
                summary = json.loads(result["stdout"])["deep"]["summary"]
                seen.setdefault(name, (summary["changed"], summary["equal"]))
                for key in ("seconds", "cpu"):
                    best[name][key] = min(best[name][key], result[key])
        print(f"  (changed, equal) tensors: {seen}", file=sys.stderr)
        rows.append(dict(
            bench=label, method="cat a b > /dev/null (baseline)", seconds=f"{cat_wall:.2f}",
            ratio="1.00", read=human(size),
            **{"CPU s": f"{cat_cpu:.2f} ({human(size / cat_cpu)}/s per core)"},
        ))  # fmt: skip
        for name, figures in inproc.items():
            rows.append(dict(
                bench=label, method=f"deep_compare alone, 1 thread, {name} (after inspection)",
                seconds=f"{figures['seconds']:.2f}", read=human(size),
                ratio=f"{cat_wall / figures['seconds']:.2f} ({human(size / figures['seconds'])}/s)",
                **{"peak RSS": human(figures["peak_rss"]),
                   "CPU s": f"{figures['deep_cpu']:.2f} ({human(size / figures['deep_cpu'])}/s per core)"},
            ))  # fmt: skip
        for name, figures in best.items():
            rows.append(dict(
                bench=label, method=f"modelcards diff --deep, {name}",
                seconds=f"{figures['seconds']:.2f}",
                ratio=f"{cat_wall / figures['seconds']:.2f} ({human(size / figures['seconds'])}/s)",
                read=human(size),
                **{"CPU s": f"{figures['cpu']:.2f} ({human(size / figures['cpu'])}/s per core)"},
            ))  # fmt: skip
        shutil.rmtree(base.parent, ignore_errors=True)
        shutil.rmtree(tuned.parent, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# c. hashing


def bench_hash(path: Path, rows: list[dict[str, Any]], runs: int) -> None:
    size = path.stat().st_size
    label = f"c. sha256 of {size / 1e9:.2f} GB (warm cache)"

    def tool() -> str:
        return subprocess.run(
            ["sha256sum", str(path)], check=True, capture_output=True, text=True
        ).stdout.split()[0]

    tool_s, _, expected = best_of(tool, runs)
    ours_s, _, digest = best_of(lambda: sha256_file(path), runs)
    assert digest == expected
    rows.append(
        dict(
            bench=label,
            method="sha256sum (baseline)",
            seconds=f"{tool_s:.2f}",
            ratio="1.00",
            read=human(size),
        )
    )
    rows.append(
        dict(
            bench=label,
            method="modelcards.safeio.hashing.sha256_file (8 MB blocks)",
            seconds=f"{ours_s:.2f}",
            ratio=f"{tool_s / ours_s:.2f}",
            read=human(size),
            **{"peak RSS": "—"},
        )
    )


# ---------------------------------------------------------------------------------------------


def idle_share(seconds: float = 1.0) -> float:
    """Share of CPU time idle over `seconds` (other work on the machine skews every timing)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:9]]
        return sum(fields), fields[3]

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc: {os.cpu_count()}, CPU: {cpu}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, load average at the end {load}\n\n```\n{free}\n```"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", choices=["sparse", "deep", "hash", "dtypes"], action="append")
    parser.add_argument("--deep-gb", type=float, default=2.0, help="size of each deep file (GB)")
    parser.add_argument(
        "--dtypes",
        default=",".join(DEEP_DTYPES),
        help="stored dtypes of the b2 `diff --deep` pairs, comma-separated",
    )
    parser.add_argument(
        "--before",
        default="",
        metavar="REF",
        help="also time b2 with the modelcards package of git revision REF",
    )
    parser.add_argument("--runs", type=int, default=3, help="best of N for each timing")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/modelcards-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the big files")
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tuned", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        method_main(args.method, args.base, args.tuned)
        return
    only = set(args.only or ["sparse", "deep", "hash", "dtypes"])
    dtypes = [d for d in args.dtypes.split(",") if d]
    if not set(dtypes) <= set(DEEP_DTYPES):
        parser.error(f"--dtypes: one of {', '.join(DEEP_DTYPES)}")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the start: {load}, CPU idle {idle_share():.0%}", file=sys.stderr)
    args.dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    try:
        if "sparse" in only:
            bench_sparse(args.dir, rows, args.runs)
        if only & {"deep", "hash"}:
            base, _tuned = (
                bench_deep(args.dir, args.deep_gb, rows, args.runs)
                if "deep" in only
                else build_deep(args.dir, args.deep_gb)[:2]
            )
            if "hash" in only:
                bench_hash(base, rows, args.runs)
        if "dtypes" in only:
            bench_deep_dtypes(args.dir, args.deep_gb, dtypes, rows, args.runs, args.before)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    print(machine())
    print()
    print(table(rows))
    print()
    print("ratio = baseline seconds / method seconds, timed in the same run (higher is better);")
    print("read = bytes read (rchar for headers: mmap-based readers fault pages in, not counted).")
    print("CPU s = user + system CPU seconds of the method's process(es), start-up included.")


if __name__ == "__main__":
    main()
