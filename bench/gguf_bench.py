"""Bench: reading a GGUF header for the card, against the `gguf` library's own reader.

A Qwen2.5-7B-shaped Q4_K_M file (152,064 tokens, 151,387 merges, 339 tensor infos with the real
shapes and types, 4.4 GB apparent, the tensor data a sparse hole made with truncate) is read by:
modelcards' `gguf_facts` (the facts a card states: metadata, vocabulary length, parameters), the
scanner's pass over the same header (`scan_file`), `modelcards init` of a repository holding it
(a fresh process, against `python -c pass`), and, as the baseline, `gguf.GGUFReader` (llama.cpp's
Python reader: memory-maps the file and parses every field, tokens included, into numpy
arrays). In-process methods are timed with `process_time` around the call, interleaved, best
of N; bytes read are `/proc/self/io` rchar (a memory map's page faults are not counted).

    python bench/gguf_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np

LAYERS, HIDDEN, FFN, KV = 28, 3584, 18944, 512
VOCAB, MERGES = 152_064, 151_387
BLOCK_BYTES = {gguf.GGMLQuantizationType.Q4_K: 144, gguf.GGMLQuantizationType.Q6_K: 210}


def _nbytes(shape: tuple[int, ...], kind: gguf.GGMLQuantizationType) -> int:
    elements = int(np.prod(shape))
    if kind == gguf.GGMLQuantizationType.F32:
        return 4 * elements
    return elements // 256 * BLOCK_BYTES[kind]


def make_file(path: Path) -> int:
    """The header of a real-shaped Q4_K_M file, the data a hole; returns the file's size."""
    q4, q6, f32 = (gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q6_K,
                   gguf.GGMLQuantizationType.F32)  # fmt: skip
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("Qwen2.5 7B Instruct")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    writer.add_context_length(32768)
    writer.add_block_count(LAYERS)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(28)
    writer.add_head_count_kv(4)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"tok{i}" for i in range(VOCAB)])
    writer.add_token_types([1] * VOCAB)
    writer.add_token_merges([f"Ġ m{i}" for i in range(MERGES)])
    writer.add_chat_template("{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}")
    writer.add_base_model_count(1)
    writer.add_base_model_repo_url(0, "https://huggingface.co/Qwen/Qwen2.5-7B")
    tensors = [("token_embd.weight", (VOCAB, HIDDEN), q4)]
    for i in range(LAYERS):
        for name, shape, kind in (
            ("attn_q.weight", (HIDDEN, HIDDEN), q4), ("attn_k.weight", (KV, HIDDEN), q4),
            ("attn_v.weight", (KV, HIDDEN), q6), ("attn_output.weight", (HIDDEN, HIDDEN), q4),
            ("ffn_gate.weight", (FFN, HIDDEN), q4), ("ffn_up.weight", (FFN, HIDDEN), q4),
            ("ffn_down.weight", (HIDDEN, FFN), q6), ("attn_norm.weight", (HIDDEN,), f32),
            ("ffn_norm.weight", (HIDDEN,), f32), ("attn_q.bias", (HIDDEN,), f32),
            ("attn_k.bias", (KV,), f32), ("attn_v.bias", (KV,), f32),
        ):  # fmt: skip
            tensors.append((f"blk.{i}.{name}", shape, kind))
    tensors += [("output_norm.weight", (HIDDEN,), f32), ("output.weight", (VOCAB, HIDDEN), q6)]
    for name, shape, kind in tensors:
        writer.add_tensor_info(name, shape[::-1], np.dtype(np.float32), _nbytes(shape, kind), kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header = path.stat().st_size
    data = sum(-(-_nbytes(s, k) // 32) * 32 for _, s, k in tensors)
    size = -(-header // 32) * 32 + data
    os.truncate(path, size)
    return size


def rchar() -> int:
    with open("/proc/self/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("rchar"))


def timed(call: Callable[[], object]) -> tuple[float, float, int]:
    read, cpu, wall = rchar(), time.process_time(), time.perf_counter()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu, rchar() - read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="best of N")
    args = parser.parse_args()
    from modelcards.assess.scan import scan_file
    from modelcards.assess.scan.limits import ScanLimits
    from modelcards.inspect.gguf_facts import gguf_facts

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "qwen2.5-7b-instruct-gguf"
        root.mkdir()
        path = root / "qwen2.5-7b-instruct-q4_k_m.gguf"
        size = make_file(path)
        (root / "README.md").write_text(
            "---\nbase_model: Qwen/Qwen2.5-7B-Instruct\nbase_model_relation: quantized\n---\n"
        )
        env = {**os.environ, "HF_HOME": str(Path(tmp) / "hf"), "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "-m", "modelcards", "init"], cwd=root, env=env,
                       check=True, capture_output=True)  # fmt: skip

        def ours() -> object:
            with path.open("rb") as fh:
                facts = gguf_facts(lambda o, n: os.pread(fh.fileno(), n, o), size, path.name, [])
            assert facts is not None and facts.vocab_size == VOCAB
            return facts

        def reference() -> object:
            reader = gguf.GGUFReader(str(path))
            assert len(reader.tensors) == 339
            return reader

        def scanner() -> object:
            return scan_file(path, path.name, ScanLimits())

        methods = {"gguf.GGUFReader (baseline)": reference, "modelcards gguf_facts": ours,
                   "modelcards scan of the file": scanner}  # fmt: skip
        best: dict[str, tuple[float, float, int]] = {}
        for _ in range(args.runs):
            for name, call in methods.items():
                result = timed(call)
                if name not in best or result[1] < best[name][1]:
                    best[name] = result
        base_cpu = best["gguf.GGUFReader (baseline)"][1]
        print(f"file: {size / 1e9:.1f} GB apparent, header {path.stat().st_blocks * 512 / 1e6:.1f} MB"
              f" on disk; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
        print("| method | wall s | CPU s | ratio (baseline CPU / CPU) | read |")
        print("|---|---:|---:|---:|---:|")
        for name, (wall, cpu, read) in best.items():
            print(
                f"| {name} | {wall:.3f} | {cpu:.3f} | {base_cpu / cpu:.2f} | {read / 1e6:.1f} MB |"
            )

        def init() -> object:
            return subprocess.run([sys.executable, "-m", "modelcards", "init", "--force"],
                                  cwd=root, env=env, check=True, capture_output=True)  # fmt: skip

        def bare() -> object:
            return subprocess.run([sys.executable, "-c", "pass"], check=True)

        commands = {"`python -c pass` (baseline)": bare, "`modelcards init --force`": init}
        walls: dict[str, float] = {}
        for _ in range(max(2, args.runs // 2)):
            for name, call in commands.items():
                start = time.perf_counter()
                call()
                walls[name] = min(walls.get(name, 1e9), time.perf_counter() - start)
        print("| command (fresh process) | wall s |")
        print("|---|---:|")
        for name, wall in walls.items():
            print(f"| {name} | {wall:.2f} |")
        print(f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
