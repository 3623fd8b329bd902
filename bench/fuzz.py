"""A time-boxed mutation fuzzer of every file modelcards reads, through the real CLI.

    python bench/fuzz.py --minutes 30 --out /tmp/fuzz-out [--seed N] [--jobs 2]
    python bench/fuzz.py --replay /tmp/fuzz-out/failures/<signature>   # run one reproducer again

The seed project is the bundled example (examples/make_example.py) plus what the example does not
have, so that every input type is there to mutate: a `modelcards.lock` pinning a Hub-id base, a
sharded model (`model.safetensors.index.json`), `training_args.bin`, a `chat_template.jinja`, a
project template, a `card.json` of a previous build and a folder of pickles and zips for `scan`
(tests/scan/corpus.py). Real files of public fine-tunes under /work/shared/realcases (read in
place, never copied into the repository) are transplanted over the project's files now and then.

Each iteration copies the seed project to a temporary folder, applies 1-3 mutations (bytes, JSON
structure, YAML structure, the safetensors header, Jinja templates, the file system), runs one
command of the real CLI in a subprocess (build --no-site, check, scan, diff, init, export,
lock --check, in turn; a site build now and then) with `HF_HUB_OFFLINE=1`, an empty `HF_HOME` and
a timeout, and classifies the result:

- ok: exit code 0, 1 or 2 and no traceback ("net" when the message is a bare exception caught
  by the CLI's last-resort handler rather than an error naming the file: counted as ok, listed);
- traceback, bad-exit (any other exit code, a signal), hang (the timeout), half-written (a temp
  file or build folder left behind, a card.json that does not parse, a README.md with unbalanced
  generated blocks), canary (a string planted in an environment variable and in a file outside
  the project shows up in stdout, stderr or any file the run wrote) -> failure.

Failures are deduplicated by (command, class, exception type, last frame); the first of each is
reduced to the single mutation that still gives it when one does, and saved under
OUT/failures/<signature>/ (ops.json + the mutated files, the command, stdout, stderr), so that
`--replay` rebuilds the seed and runs it again. The run ends with a Markdown table (also written
to OUT/summary.md). The same --seed gives the same iterations (iteration i uses its own RNG).
"""

from __future__ import annotations

import argparse
import base64
import collections
import concurrent.futures
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REALCASES = Path("/work/shared/realcases")
CANARY = "FUZZCANARY-7f3a9c1e"  # never printed by the harness itself, never in a file name
CANARY_OUTSIDE = CANARY + "-outside-file"
CANARY_ENV = CANARY + "-environment"
# what a payload prints when it RUNS: the shell computes 42, the literal text says $((6*7))
EXEC_PAYLOAD = "echo FUZZ$((6*7))EXEC"
EXEC_MARK = "FUZZ42EXEC"
LOCK_REVISION = "0123456789abcdef0123456789abcdef01234567"
HUB_BASE = "acme/tiny-llama-base"
MAX_REALCASE_BYTES = 2 * 1024 * 1024

# --- the seed project --------------------------------------------------------------------------


def _git(project: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Fuzz Seed",
        "GIT_AUTHOR_EMAIL": "fuzz@example.invalid",
        "GIT_COMMITTER_NAME": "Fuzz Seed",
        "GIT_COMMITTER_EMAIL": "fuzz@example.invalid",
        "GIT_AUTHOR_DATE": "2024-04-01T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2024-04-01T10:00:00+00:00",
    }
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


def make_seed(project: Path) -> None:
    """The example project plus one file of every input type it lacks, built and committed."""
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "make_example.py"), str(project), "--force"],
        check=True,
        capture_output=True,
    )
    import numpy as np  # the bench environment has them: modelcards depends on both
    from safetensors.numpy import load_file, save_file

    sys.path.insert(0, str(REPO / "tests" / "scan"))
    import corpus

    from modelcards.resolve.local import LocalSnapshot
    from modelcards.resolve.lock import LockFile, lock_key, lock_snapshot
    from modelcards.resolve.snapshot import SourceRef

    tuned = project / "models" / "chat-tuned"
    # a sharded checkpoint with its index, as transformers writes one past max_shard_size
    tensors = load_file(str(tuned / "model.safetensors"))
    names = sorted(tensors)
    half = len(names) // 2
    weight_map = {}
    total = 0
    for number, part in enumerate((names[:half], names[half:]), start=1):
        shard = f"model-{number:05d}-of-00002.safetensors"
        save_file({n: np.ascontiguousarray(tensors[n]) for n in part}, str(tuned / shard))
        for n in part:
            weight_map[n] = shard
            total += tensors[n].nbytes
    (tuned / "model.safetensors").unlink()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (tuned / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (tuned / "training_args.bin").write_bytes(corpus.training_args_pkl())
    lora = project / "models" / "chat-lora"
    config = json.loads((lora / "tokenizer_config.json").read_text())
    template = config.get("chat_template") or "{{ messages }}"
    (lora / "chat_template.jinja").write_text(template)
    # a project template (a copy of the default card template), used through `templates:`
    (project / "templates").mkdir()
    shutil.copy(REPO / "templates" / "card.md.j2", project / "templates" / "card.md.j2")
    # chat-lora's base by Hub id only, pinned in modelcards.lock (read offline, no cache)
    yml = project / "modelcards.yml"
    text = yml.read_text()
    head, sep, tail = text.rpartition("base: {path: base-model, id: acme/tiny-llama-base}")
    yml.write_text(head + sep.replace(sep, f"base: {HUB_BASE}") + tail + "templates: templates\n")
    ref = SourceRef("hub", HUB_BASE, revision=LOCK_REVISION, hub_id=HUB_BASE)
    entry = lock_snapshot(LocalSnapshot(project / "base-model", ref))
    # the Hub (and the cache's blob names) give every LFS file's sha256; a folder does not
    files = tuple(
        dataclasses.replace(
            f, sha256=hashlib.sha256((project / "base-model" / f.path).read_bytes()).hexdigest()
        )
        if f.sha256 is None
        else f
        for f in entry.files
    )
    entry = dataclasses.replace(entry, files=files)
    lock = LockFile({lock_key(HUB_BASE, None): entry})
    (project / "modelcards.lock").write_text(lock.dumps())
    # pickles and zips for `scan`: a few hostile and benign ones of the scanner's corpus
    samples = project / "scan-samples"
    samples.mkdir()
    bad, good = corpus.malicious_files(), corpus.benign_files()
    picks = [
        "reduce_os_system_p2.pkl",
        "torch_zip_os_system.pt",
        "legacy_torch_eval.bin",
        "object_array.npy",
        "nested.zip",
        "memo_stack_global.pkl",
    ]
    for name in picks:
        if name in bad:
            (samples / name).write_bytes(bad[name])
    for name in ("pytorch_model.bin", "legacy_model.bin", "arrays.npz", "plain_containers.pkl"):
        if name in good:
            (samples / name).write_bytes(good[name])
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "fuzz seed: a lock, shards, training args, scan samples")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(project.parent / "hf-home-seed")}
    result = subprocess.run(
        [sys.executable, "-m", "modelcards", "build", "--no-site", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"the seed project does not build:\n{result.stderr}")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "fuzz seed: cards")


def realcase_pool() -> dict[str, list[Path]]:
    """Small real files by name, read in place as transplants."""
    pool: dict[str, list[Path]] = collections.defaultdict(list)
    if not REALCASES.is_dir():
        return pool
    for path in sorted(REALCASES.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_REALCASE_BYTES:
            name = path.name
            if name == "model.safetensors.header.json":
                continue
            pool[name].append(path)
    return dict(pool)


# --- file kinds --------------------------------------------------------------------------------

JSON_NAMES = {
    "config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "adapter_config.json",
    "trainer_state.json",
    "all_results.json",
    "eval_results.json",
    "train_results.json",
    "card.json",
    "chat_template.json",
    "modelcards.lock",
}


def kind_of(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if name == "modelcards.yml":
        return "yaml"
    if name == "README.md":
        return "readme"
    if name in JSON_NAMES or name.endswith(".index.json"):
        return "json"
    if name.endswith(".safetensors"):
        return "safetensors"
    if name.endswith((".j2", ".jinja")):
        return "jinja"
    if name.endswith((".pkl", ".bin", ".pt", ".npy", ".npz", ".zip")):
        return "pickle"
    return "bytes"


# --- ops: what a mutation leaves on disk, replayable -------------------------------------------


@dataclass
class Mutation:
    description: str
    ops: list[dict[str, Any]] = field(default_factory=list)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def apply_op(project: Path, op: dict[str, Any]) -> None:
    rel = op["path"]
    path = project / (os.fsdecode(base64.b64decode(rel)) if op.get("b64") else rel)
    if op["op"] != "write" or not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        _remove(path)
    kind = op["op"]
    if kind == "write":
        path.write_bytes(op["data"])
    elif kind == "symlink":
        os.symlink(op["target"], path)
    elif kind == "mkdir":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "delete":
        pass
    else:
        raise ValueError(kind)


def write_op(rel: str, data: bytes) -> dict[str, Any]:
    return {"op": "write", "path": rel, "data": data}


# --- value generators --------------------------------------------------------------------------


class Raw(str):
    """JSON text emitted as is (NaN, 1e999, deep nesting, duplicate keys)."""


def deep(depth: int, open_: str = "[", close: str = "]") -> Raw:
    return Raw(open_ * depth + close * depth)


def hostile_strings(rng: random.Random, outside: Path) -> list[str]:
    return [
        "",
        "x" * rng.choice([1000, 100_000, 3_000_000]),
        "\ud800",
        "\udfff\ud800",
        "\x00\x01\x1b[31m\x7f",
        "\u202eevil\u202c",
        "é" * 1000 + "\U0001f600" * 500,
        "../../../../etc/passwd",
        str(outside / "secret.txt"),
        "../" * 8 + str(outside).lstrip("/"),
        "{{ 7 * 7 }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "<script>alert(1)</script>",
        "$(id)`id`",
        "line1\nline2\r\n---\n",
        "<!-- modelcards:end card -->",
        "| a | b |\n|---|---|",
        "org/name@" + "0" * 40,
        "C:\\Windows\\system32",
        "\\\\server\\share",
        "file:///etc/passwd",
        "https://example.invalid/x",
    ]


def hostile_value(rng: random.Random, outside: Path) -> Any:
    choice = rng.randrange(16)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 2**63, -(2**63) - 1, 2**64 + 1, 10**400])
    if choice == 3:
        return Raw(rng.choice(["NaN", "Infinity", "-Infinity", "1e999", "-0", "1E400", "0.0e-999"]))
    if choice == 4:
        return rng.choice([1.5, -1e308, 5e-324, 1e16])
    if choice == 5:
        return []
    if choice == 6:
        return {}
    if choice == 7:
        return deep(rng.choice([200, 1000, 50_000]))
    if choice == 8:
        return deep(rng.choice([200, 1000, 50_000]), '{"a":', "}")  # unbalanced on purpose
    if choice == 9:
        return [hostile_value(rng, outside) for _ in range(rng.randrange(1, 4))]
    if choice == 10:
        return {rng.choice(hostile_strings(rng, outside))[:50]: 1}
    if choice == 11:
        return list(range(rng.choice([10_000, 200_000])))
    return rng.choice(hostile_strings(rng, outside))


def emit(value: Any) -> str:
    """JSON text of `value`; Raw parts go in verbatim, lone surrogates as escapes."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{emit(str(k))}:{emit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(emit(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)


def node_paths(value: Any, prefix: tuple = (), limit: int = 4000) -> list[tuple]:
    out: list[tuple] = [prefix]
    stack = [(value, prefix)]
    while stack and len(out) < limit:
        node, path = stack.pop()
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in items:
            out.append((*path, key))
            stack.append((child, (*path, key)))
    return out


def set_at(root: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


def get_at(root: Any, path: tuple) -> Any:
    for key in path:
        root = root[key]
    return root


def mutate_tree(rng: random.Random, tree: Any, outside: Path) -> tuple[Any, str]:
    """One structure-aware change to a parsed JSON/YAML value; returns (tree, what)."""
    paths = node_paths(tree)
    path = rng.choice(paths)
    where = "/".join(str(p) for p in path) or "<root>"
    current = get_at(tree, path)
    action = rng.randrange(6)
    if action == 0 and isinstance(current, dict) and current:
        key = rng.choice(list(current))
        del current[key]
        return tree, f"delete key {where}/{key}"
    if action == 1 and isinstance(current, dict):
        key = rng.choice(hostile_strings(rng, outside))[:80] or "new"
        current[key] = hostile_value(rng, outside)
        return tree, f"add key {key[:30]!r} at {where}"
    if action == 2:  # swap the type, keep the meaning when one can
        swaps: list[Any] = [str(current)[:200], [current], {"value": current}, None]
        if isinstance(current, (int, float)) and not isinstance(current, bool):
            swaps.append(str(current))
        if isinstance(current, str) and current.strip().lstrip("-").isdigit():
            swaps.append(int(current))
        value = rng.choice(swaps)
        return set_at(tree, path, value), f"swap type of {where} to {type(value).__name__}"
    value = hostile_value(rng, outside)
    shown = emit(value)[:60] if not isinstance(value, Raw) else str(value)[:60]
    return set_at(tree, path, value), f"set {where} = {shown}"


# --- mutators ----------------------------------------------------------------------------------

INTERESTING_BYTES = [
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b'"',
    b"{",
    b"}",
    b"[",
    b"\n---\n",
    b"\\u0000",
    b"\\ud800",
    b"\xed\xa0\x80",
    b"\xc3",
    b"\r",
    b"\t",
    b"<!-- modelcards:begin card -->\n",
    b"<!-- modelcards:end card -->\n",
    b"{{",
    b"{%",
    b"\x80\x02",
    b"PK\x03\x04",
]


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    buf = bytearray(data)
    action = rng.randrange(7)
    if not buf:
        action = 2
    if action == 0:
        count = rng.randint(1, 8)
        for _ in range(count):
            pos = rng.randrange(len(buf))
            buf[pos] ^= 1 << rng.randrange(8)
        return bytes(buf), f"flip {count} bits"
    if action == 1:
        pos = rng.randrange(len(buf))
        buf[pos] = rng.randrange(256)
        return bytes(buf), f"set byte {pos}"
    if action == 2:
        pos = rng.randrange(len(buf) + 1)
        piece = rng.choice(INTERESTING_BYTES) * rng.choice([1, 1, 3, 1000])
        return bytes(buf[:pos] + piece + buf[pos:]), f"insert {piece[:16]!r} at {pos}"
    if action == 3:
        pos = rng.randrange(len(buf))
        length = rng.randint(1, max(1, min(len(buf) - pos, 64)))
        return bytes(buf[:pos] + buf[pos + length :]), f"delete {length} bytes at {pos}"
    if action == 4:
        pos = rng.randrange(len(buf))
        return bytes(buf[:pos]), f"truncate at {pos} of {len(buf)}"
    if action == 5:
        pos = rng.randrange(len(buf))
        length = rng.randint(1, max(1, min(len(buf) - pos, 256)))
        chunk = buf[pos : pos + length]
        return bytes(buf[:pos] + chunk * rng.choice([2, 50]) + buf[pos:]), "duplicate a chunk"
    pos = rng.randrange(max(1, len(buf) - 8))
    value = rng.choice([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1, 2**64 - 1])
    buf[pos : pos + 8] = struct.pack("<Q", value)
    return bytes(buf), f"write u64 {value:#x} at {pos}"


def mutate_json(rng: random.Random, data: bytes, outside: Path) -> tuple[bytes, str]:
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(rng, data)
    action = rng.randrange(10)
    if action == 0:  # a duplicate key, in the text
        text = data.decode("utf-8", "replace")
        keys = re.findall(r'"([^"\\]{1,60})"\s*:', text)
        if keys:
            key = rng.choice(keys)
            value = emit(hostile_value(rng, outside))
            new = text.replace(f'"{key}":', f'"{key}": {value}, "{key}":', 1)
            return new.encode("utf-8", "surrogatepass"), f"duplicate key {key!r}"
    if action == 1:
        value = hostile_value(rng, outside)
        return emit(value).encode("utf-8", "surrogatepass"), "replace the document"
    if action == 2:
        return (b"\xef\xbb\xbf" + data), "prepend a BOM"
    for _ in range(rng.randint(1, 3)):
        tree, what = mutate_tree(rng, tree, outside)
    return emit(tree).encode("utf-8", "surrogatepass"), what


YAML_VALUES = [
    '!!python/object/apply:os.system ["' + EXEC_PAYLOAD + '"]',
    "!!python/name:os.system",
    "!!python/object/new:subprocess.Popen [[id]]",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!str 1",
    "!!int notanint",
    "!!float .nan",
    "!!timestamp 2001-12-14",
    "!!map [1, 2]",
    "!<tag:yaml.org,2002:python/tuple> [1, 2]",
    "&a [*a]",
    "*undefined",
    "&x {<<: *x}",
    "{<<: [*a]}",
    "~",
    "yes",
    "0x1F",
    "1e999",
    ".nan",
    "-.inf",
    "2001-12-14",
    "[" * 300 + "]" * 300,
    "[" * 20000 + "]" * 20000,
    "{a: " * 500 + "1" + "}" * 500,
    "{",
    '"\\ud800"',
    '"\\x00\\x1b"',
    "'" + "y" * 200_000 + "'",
    "? [complex, key]\n  : value",
    "|\n  block\n  text",
    ">-\n  folded",
    "\t tabbed",
    "- list\n- in: place",
    "{path: ../../..}",
    "{path: /etc}",
    "{path: base-model, id: [1]}",
    "{path: base-model, id: acme/tiny-llama-base, extra: 1}",
    "acme/tiny-llama-base@" + "f" * 40,
    "acme/tiny-llama-base@main",
    "git:HEAD:base-model",
    "git:" + "a" * 40 + ":base-model",
    "git:v99:nowhere",
]


def laughs(depth: int) -> str:
    """A billion-laughs value defined in place: anchors, then aliases of aliases."""
    parts = ['&l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, depth):
        parts.append(f"&l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


def mutate_yaml_text(rng: random.Random, text: str, outside: Path) -> tuple[str, str]:
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if re.match(r"^\s*-?\s*[\w.-]+:", line)]
    action = rng.randrange(8)
    if action <= 2 and candidates:  # a special value for one key
        i = rng.choice(candidates)
        key = lines[i].split(":", 1)[0]
        value = laughs(rng.choice([4, 9])) if action == 2 else rng.choice(YAML_VALUES)
        lines[i] = f"{key}: {value}"
        return "\n".join(lines), f"set {key.strip()} = {value[:60]!r}"
    if action == 3 and candidates:  # duplicate a key line
        i = rng.choice(candidates)
        lines.insert(i, lines[i])
        return "\n".join(lines), f"duplicate line {lines[i].strip()[:60]!r}"
    if action == 4:  # structure-aware: safe_load, mutate the tree, dump
        try:
            import yaml

            tree = yaml.safe_load(text)
            tree, what = mutate_tree(rng, tree, outside)
            tree = json.loads(emit(tree).replace("NaN", "null").replace("Infinity", "1e308"))
            return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), what
        except Exception:  # noqa: BLE001 - an unparsable seed: fall through to bytes
            pass
    if action == 5:
        where = rng.randrange(len(lines) + 1)
        extra = rng.choice(
            [
                "%YAML 1.1\n---",
                "--- !!python/object:os.system",
                "...",
                "---\nsecond: document",
                "? complex\n: key",
                "models: []",
                "site: " + rng.choice(YAML_VALUES),
                "card: " + rng.choice(YAML_VALUES),
                "waivers: [{rule: " + rng.choice(YAML_VALUES) + "}]",
                "templates: " + rng.choice(["..", "/", str(outside), "nowhere", "templates/.."]),
                "deep: " + rng.choice(YAML_VALUES),
            ]
        )
        lines.insert(where, extra)
        return "\n".join(lines), f"insert line {extra[:60]!r}"
    if action == 6:
        return "\ufeff" + text.replace("\n", "\r\n"), "BOM + CRLF"
    data, what = mutate_bytes(rng, text.encode("utf-8", "surrogateescape"))
    return data.decode("utf-8", "surrogateescape"), what


def mutate_readme(rng: random.Random, data: bytes, outside: Path) -> tuple[bytes, str]:
    text = data.decode("utf-8", "surrogateescape")
    match = re.match(r"^---\n(.*?\n)---\n", text, re.S)
    action = rng.randrange(4)
    if match and action <= 1:
        front, what = mutate_yaml_text(rng, match.group(1), outside)
        new = "---\n" + front.rstrip("\n") + "\n---\n" + text[match.end() :]
        return new.encode("utf-8", "surrogateescape"), f"front matter: {what}"
    if action == 2:  # the generated blocks
        markers = re.findall(r"<!-- modelcards:(?:begin|end) [a-z0-9-]+ -->\n?", text)
        if markers:
            marker = rng.choice(markers)
            how = rng.randrange(3)
            if how == 0:
                new = text.replace(marker, "", 1)
                what = f"drop marker {marker.strip()!r}"
            elif how == 1:
                new = text.replace(marker, marker * 2, 1)
                what = f"double marker {marker.strip()!r}"
            else:
                new = marker + text
                what = f"marker {marker.strip()!r} before the front matter"
            return new.encode("utf-8", "surrogateescape"), what
    if action == 3 and not match:
        return b"---\n" + data, "open a front matter that never closes"
    return mutate_bytes(rng, data)


JINJA_SNIPPETS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('" + EXEC_PAYLOAD + "').read() }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../outside/secret.txt' %}",
    "{% include 'card.md.j2' %}",
    "{% extends 'card.md.j2' %}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{{ 'x' * 10**9 }}",
    "{{ 9**9**9 }}",
    "{% if %}",
    "{{",
    "{% raw %}",
    "{% endfor %}",
    "{{ undefined_name.attr }}",
    "{{ raise_exception('fuzz') }}",
    "{{ messages[0]['content'] | tojson }}",
    "{% set x = namespace(a=1) %}{{ x.__dict__ }}",
]


def mutate_jinja(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    if rng.random() < 0.3:
        return mutate_bytes(rng, data)
    snippet = rng.choice(JINJA_SNIPPETS)
    pos = rng.randrange(len(data) + 1)
    if rng.random() < 0.3:
        return snippet.encode(), f"template = {snippet[:60]!r}"
    return data[:pos] + snippet.encode() + data[pos:], f"insert {snippet[:60]!r}"


def mutate_safetensors(rng: random.Random, data: bytes, outside: Path) -> tuple[bytes, str]:
    if len(data) < 8 or rng.random() < 0.25:
        return mutate_bytes(rng, data)
    (n,) = struct.unpack("<Q", data[:8])
    header, rest = data[8 : 8 + n], data[8 + n :]
    action = rng.randrange(5)
    if action == 0:
        value = rng.choice([0, 1, n - 1, n + 1, len(data), 2**32, 2**63, 2**64 - 1, 100_000_001])
        return struct.pack("<Q", value) + data[8:], f"header length {n} -> {value}"
    try:
        tree = json.loads(header)
    except (ValueError, RecursionError):  # a header an earlier mutation nested too deep
        return mutate_bytes(rng, data)
    names = [k for k in tree if k != "__metadata__"]
    if action == 1 and names:
        name = rng.choice(names)
        a, b = tree[name]["data_offsets"]
        tree[name]["data_offsets"] = rng.choice(
            [[b, a], [a, b + 4], [0, 2**63], [-1, b], [a, a], [0, len(rest) * 2], [a], "x"]
        )
        what = f"data_offsets of {name} = {tree[name]['data_offsets']}"
    elif action == 2 and names:
        name = rng.choice(names)
        key = rng.choice(["dtype", "shape"])
        tree[name][key] = rng.choice(
            ["F4", "BF16x", "", None, [], [-1, 2], [2**62, 2**62], [0], ["a"], 1.5, [1] * 100]
        )
        what = f"{key} of {name} = {str(tree[name][key])[:40]}"
    elif action == 3:
        tree["__metadata__"] = rng.choice(
            [{"format": 1}, [], {"k": "v" * 100_000}, {"format": "pt", "x": {"nested": 1}}, "s"]
        )
        what = "__metadata__ = " + str(tree["__metadata__"])[:40]
    else:
        tree, what = mutate_tree(rng, tree, outside)
    new = emit(tree).encode("utf-8", "surrogatepass")
    pad = (8 - len(new) % 8) % 8
    new += b" " * pad
    return struct.pack("<Q", len(new)) + new + rest, f"header: {what}"


def mutate_content(rng: random.Random, rel: str, data: bytes, outside: Path) -> tuple[bytes, str]:
    kind = kind_of(rel)
    if rng.random() < 0.2 or kind in ("bytes", "pickle"):
        return mutate_bytes(rng, data)
    if kind == "json":
        return mutate_json(rng, data, outside)
    if kind == "yaml":
        text, what = mutate_yaml_text(rng, data.decode("utf-8", "surrogateescape"), outside)
        return text.encode("utf-8", "surrogateescape"), what
    if kind == "readme":
        return mutate_readme(rng, data, outside)
    if kind == "jinja":
        return mutate_jinja(rng, data)
    if kind == "safetensors":
        return mutate_safetensors(rng, data, outside)
    return mutate_bytes(rng, data)


def mutate_fs(rng: random.Random, project: Path, rel: str, outside: Path) -> Mutation:
    path = project / rel
    folder = str(Path(rel).parent)
    action = rng.randrange(12)
    if action == 0:
        return Mutation(
            f"{rel} -> symlink to a file outside the project",
            [{"op": "symlink", "path": rel, "target": str(outside / "secret.txt")}],
        )
    if action == 1:
        target = rng.choice(["/dev/zero", "/dev/urandom", "/dev/null", "/proc/self/environ"])
        return Mutation(
            f"{rel} -> symlink to {target}", [{"op": "symlink", "path": rel, "target": target}]
        )
    if action == 2:
        return Mutation(
            f"{rel} -> symlink to itself", [{"op": "symlink", "path": rel, "target": path.name}]
        )
    if action == 3:
        return Mutation(
            f"{rel} -> dangling symlink", [{"op": "symlink", "path": rel, "target": "nowhere"}]
        )
    if action == 4:
        return Mutation(f"{rel} -> empty file", [write_op(rel, b"")])
    if action == 5:
        return Mutation(f"{rel} -> a directory", [{"op": "mkdir", "path": rel}])
    if action == 6:
        return Mutation(f"{rel} deleted", [{"op": "delete", "path": rel}])
    if action == 7:
        name = rng.choice(
            [b"\xff\xfe.json", b"config\xff.json", b"mod\xe9l.safetensors", b"README\x80.md"]
        )
        raw = os.fsencode(folder) + b"/" + name
        data = path.read_bytes() if path.is_file() else b"{}"
        op = {"op": "write", "path": base64.b64encode(raw).decode(), "b64": True, "data": data}
        return Mutation(f"a file named {name!r} in {folder}", [op])
    if action == 8:
        name = rng.choice(["loop", "up", "root"])
        target = rng.choice(["..", ".", "/", str(outside)])
        return Mutation(
            f"{folder}/{name} -> symlink to the folder {target}",
            [{"op": "symlink", "path": f"{folder}/{name}", "target": target}],
        )
    if action == 9:
        sub = f"{folder}/checkpoint-{rng.choice(['1', '99999999999999999999', '-1', 'x'])}"
        return Mutation(
            f"{sub}/ with a copy of {Path(rel).name}",
            [write_op(f"{sub}/{Path(rel).name}", path.read_bytes() if path.is_file() else b"")],
        )
    if action == 10:
        name = "x" * 250 + ".json"
        return Mutation(
            f"a file with a 255-byte name in {folder}", [write_op(f"{folder}/{name}", b"{}")]
        )
    if rng.random() < 0.3:  # rare: a FIFO blocks a reader that opens it
        return Mutation(f"{rel} -> a FIFO", [{"op": "fifo", "path": rel}])
    return Mutation(f"{rel} -> a 2 GiB sparse file", [{"op": "sparse", "path": rel}])


# --- one iteration -----------------------------------------------------------------------------

COMMAND_FAMILIES = ["build", "check", "scan", "diff", "init", "export", "lock"]


def choose_command(rng: random.Random, i: int, files: list[str]) -> list[str]:
    family = COMMAND_FAMILIES[i % len(COMMAND_FAMILIES)]
    if family == "build":
        if i % 25 == 0:  # with the rotation of 7: every 175th iteration
            return ["build", "-q"]  # the site, now and then (mkdocs: slow)
        return ["build", "--no-site"] + rng.choice(
            [[], ["--format", "json"], ["-j", "1"], ["--strict"]]
        )
    if family == "check":
        return ["check"] + rng.choice(
            [[], ["--diff"], ["--format", "github"], ["--format", "json"]]
        )
    if family == "scan":
        targets = ["scan-samples", "models/chat-tuned", "models/chat-lora", "base-model", "."]
        targets += [f for f in files if f.startswith("scan-samples/")]
        fmt = rng.choice([[], ["--format", "json"], ["--format", "sarif"]])
        return ["scan", rng.choice(targets)] + fmt
    if family == "diff":
        tuned = rng.choice(["models/chat-tuned", "models/chat-lora"])
        extra = rng.choice(
            [[], ["--format", "json"], ["--format", "markdown"], ["--deep"], ["--all"]]
        )
        return [
            "diff",
            rng.choice(["base-model", "base-model", "git:HEAD:base-model"]),
            tuned,
        ] + extra
    if family == "init":
        return ["init", "--force"] + rng.choice([[], ["--format", "json"]])
    if family == "export":
        return ["export", rng.choice(["chat-tuned", "chat-lora", "models/chat-tuned"])]
    return ["lock", "--check"] + rng.choice([[], ["--format", "json"]])


def relevant(command: list[str], rel: str) -> bool:
    """Files the command reads (to aim most mutations where they matter)."""
    if command[0] == "scan":
        target = command[1]
        return target == "." or rel == target or rel.startswith(target.rstrip("/") + "/")
    if command[0] == "diff":
        return rel.startswith(("base-model/", command[2] + "/"))
    if command[0] == "lock":
        return rel in ("modelcards.lock", "modelcards.yml")
    return not rel.startswith("scan-samples/")


def project_files(project: Path) -> list[str]:
    out = []
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        if rel.startswith(".git/") or rel == ".git" or not path.is_file():
            continue
        out.append(rel)
    return out


def plan_iteration(
    rng: random.Random,
    i: int,
    project: Path,
    outside: Path,
    pool: dict[str, list[Path]],
) -> tuple[list[str], list[Mutation]]:
    files = project_files(project)
    command = choose_command(rng, i, files)
    aimed = [f for f in files if relevant(command, f)] or files
    mutations: list[Mutation] = []
    contents: dict[str, bytes] = {}
    for _ in range(rng.choice([1, 1, 2, 3])):
        rel = rng.choice(aimed if rng.random() < 0.85 else files)
        roll = rng.random()
        if roll < 0.12:
            mutations.append(mutate_fs(rng, project, rel, outside))
            continue
        name = rel.rsplit("/", 1)[-1]
        data = contents.get(rel)
        if data is None:
            data = (project / rel).read_bytes()
        if roll < 0.22 and pool.get(name):
            source = rng.choice(pool[name])
            data = source.read_bytes()
            what = f"{rel} <- {source.relative_to(REALCASES)}"
            if rng.random() < 0.5:
                data, more = mutate_content(rng, rel, data, outside)
                what += f", then {more}"
        else:
            data, what = mutate_content(rng, rel, data, outside)
            what = f"{rel}: {what}"
        contents[rel] = data
        mutations.append(Mutation(what, [write_op(rel, data)]))
    return command, mutations


def apply_mutation(project: Path, mutation: Mutation) -> None:
    for op in mutation.ops:
        if op["op"] == "sparse":
            path = project / op["path"]
            _remove(path)
            with open(path, "wb") as handle:
                handle.truncate(2 * 2**30)  # 2 GiB apparent, no disk used
        else:
            apply_op(project, op)


def fingerprint(project: Path) -> dict[str, tuple[str, str]]:
    """rel -> (type, digest) of every entry outside .git (symlinks not followed)."""
    state: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(project):
        rel_dir = os.path.relpath(dirpath, project)
        if rel_dir == ".git" or rel_dir.startswith(".git" + os.sep):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(full):
                state[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                state[rel] = ("dir", "")
            elif os.path.isfile(full):
                try:
                    if os.path.getsize(full) > 64 * 2**20:
                        st = os.stat(full)
                        state[rel] = ("big", f"{st.st_size}:{st.st_mtime_ns}")
                    else:
                        with open(full, "rb") as handle:
                            state[rel] = ("file", hashlib.sha256(handle.read()).hexdigest())
                except OSError as exc:
                    state[rel] = ("error", str(exc))
            else:
                state[rel] = ("special", "")
    return state


TEMP_NAME = re.compile(r"(\.tmp$|^\.site-build-|\.partial$|~$|^tmp[a-z0-9_]{6,}$)")
FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+),? in (?P<func>\S+)')


def short_file(path: str) -> str:
    """modelcards/x.py for our code wherever it is installed; pkg/x.py for a library's."""
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1]
    if "/modelcards/" in path:
        return path[path.rfind("/modelcards/") + 1 :]
    if "/lib/python3" in path:
        return path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return path


def parse_traceback(stderr: str) -> tuple[str, str, str]:
    """(exception type, 'file:line func' of the last frame, last lines)."""
    start = stderr.rfind("Traceback (most recent call last):")
    block = stderr[start:].splitlines()
    frames = [m for line in block if (m := FRAME.match(line))]
    last = frames[-1] if frames else None
    exc_line = next((line for line in reversed(block) if line and not line.startswith(" ")), "")
    exc_type = exc_line.split(":", 1)[0].strip() or "?"
    where = f"{short_file(last['file'])}:{last['line']} {last['func']}" if last else "?"
    return exc_type, where, "\n".join(block[-8:])


NET = re.compile(
    r"modelcards: error: (RecursionError|MemoryError|Unicode\w*Error|ValueError|\w*Error): "
)


@dataclass
class Outcome:
    cls: str  # ok, net, traceback, bad-exit, hang, half-written, canary
    signature: str
    detail: str
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float


def run_cli(
    project: Path, command: list[str], env: dict[str, str], timeout: float
) -> tuple[int | None, str, str, float]:
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelcards", *command],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        # the process group this harness started: SIGABRT first, so that faulthandler
        # (PYTHONFAULTHANDLER=1) prints where it was stuck, then SIGKILL
        os.killpg(proc.pid, signal.SIGABRT)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        code = None
    return (
        code,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        time.monotonic() - start,
    )


def classify(
    project: Path,
    command: list[str],
    before: dict[str, tuple[str, str]],
    result: tuple[int | None, str, str, float],
) -> Outcome:
    code, out, err, seconds = result
    out, err = out.replace(str(project), "<project>"), err.replace(str(project), "<project>")
    name = command[0] + (" site" if command[:2] == ["build", "-q"] else "")
    after = fingerprint(project)
    written = [rel for rel, state in after.items() if before.get(rel) != state]

    def outcome(cls: str, sig: str, detail: str) -> Outcome:
        return Outcome(cls, f"{name} :: {cls} :: {sig}", detail, code, out, err, seconds)

    if code is None:
        # faulthandler's dump: most recent call first; the innermost frame of our code
        dump = err[err.rfind("most recent call first") :].splitlines()
        frames = [m for line in dump if (m := FRAME.match(line))]
        ours = [m for m in frames if "/modelcards/" in m["file"]] or frames
        where = (
            f"{short_file(ours[0]['file'])}:{ours[0]['line']} {ours[0]['func']}" if ours else "?"
        )
        return outcome("hang", f"stuck at {where}", "\n".join(dump[:12]))
    if "Traceback (most recent call last)" in err or "Traceback (most recent call last)" in out:
        exc_type, where, tail = parse_traceback(err if "Traceback" in err else out)
        return outcome("traceback", f"{exc_type} at {where}", tail)
    if code not in (0, 1, 2):
        return outcome("bad-exit", f"exit {code}", err[-2000:])
    leftovers = [rel for rel in written if TEMP_NAME.search(os.path.basename(rel))]
    if leftovers:
        pattern = sorted({TEMP_NAME.search(os.path.basename(r)).group(0) for r in leftovers})
        return outcome("half-written", f"left {pattern}", ", ".join(leftovers[:10]))
    for rel in written:
        full = project / rel
        if after[rel][0] != "file":
            continue
        if rel.endswith("card.json"):
            try:
                if not isinstance(json.loads(full.read_bytes()), dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                return outcome("half-written", "card.json incomplete", f"{rel}: {exc}")
        if rel.endswith(("README.md", "CHANGES.md")) and not rel.startswith("site"):
            text = full.read_text("utf-8", "replace")
            begins = re.findall(r"<!-- modelcards:begin ([a-z0-9-]+) -->", text)
            ends = re.findall(r"<!-- modelcards:end ([a-z0-9-]+) -->", text)
            if sorted(begins) != sorted(ends) or (text and not text.endswith("\n")):
                return outcome("half-written", f"{Path(rel).name} incomplete", rel)
    marks = (CANARY_OUTSIDE, CANARY_ENV, EXEC_MARK)
    leaks = [
        label for label, text in (("stdout", out), ("stderr", err)) if any(m in text for m in marks)
    ]
    for rel in written:
        full = project / rel
        if after[rel][0] == "file":
            try:
                data = full.read_bytes()
                if any(m.encode() in data for m in marks):
                    leaks.append(rel)
            except OSError:
                pass
    if leaks:
        blob = (
            out
            + err
            + "".join(
                (project / r).read_text("utf-8", "replace")
                for r in leaks
                if (project / r).is_file()
            )
        )
        which = ", ".join(
            n
            for n, m in (
                ("env", CANARY_ENV),
                ("outside file", CANARY_OUTSIDE),
                ("executed payload", EXEC_MARK),
            )
            if m in blob
        )
        return outcome("canary", f"{which} in output", ", ".join(leaks[:10]))
    match = NET.search(err)
    if match:
        message = re.sub(r"\d+", "N", err[match.end() :].splitlines()[0])[:90]
        return outcome("net", f"{match.group(1)}: {message}", err.strip()[-500:])
    return outcome("ok", "", "")


@dataclass
class Harness:
    out: Path
    seed_project: Path
    outside: Path
    timeout: float
    pool: dict[str, list[Path]]
    seed: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: collections.Counter = field(default_factory=collections.Counter)
    per_command: collections.Counter = field(default_factory=collections.Counter)
    signatures: dict[str, dict[str, Any]] = field(default_factory=dict)
    iterations: int = 0

    debug: bool = False  # MODELCARDS_DEBUG=1: the CLI's safety net re-raises (a traceback)

    def env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MODELCARDS_"))}
        if self.debug:
            env["MODELCARDS_DEBUG"] = "1"
        env.update(
            HF_HUB_OFFLINE="1",
            HF_HOME=str(home),
            # the hash cache and anything else cached: the iteration's own, never the user's
            MODELCARDS_CACHE=str(home.parent / "hashes.json"),
            XDG_CACHE_HOME=str(home.parent / "xdg-cache"),
            FUZZ_SECRET=CANARY_ENV,
            PYTHONHASHSEED="0",
            PYTHONFAULTHANDLER="1",
            GIT_CONFIG_NOSYSTEM="1",
        )
        return env

    def trial(self, work: Path, command: list[str], mutations: list[Mutation]) -> Outcome:
        project = work / "project"
        if project.exists():
            shutil.rmtree(project)
        shutil.copytree(self.seed_project, project, symlinks=True)
        for mutation in mutations:
            apply_mutation(project, mutation)
        before = fingerprint(project)
        home = work / "hf-home"
        home.mkdir(exist_ok=True)
        result = run_cli(project, command, self.env(home), self.timeout)
        return classify(project, command, before, result)

    def iteration(self, i: int) -> None:
        rng = random.Random(f"{self.seed}:{i}")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mcfuzz-") as tmp:
            work = Path(tmp)
            command, mutations = plan_iteration(rng, i, self.seed_project, self.outside, self.pool)
            outcome = self.trial(work, command, mutations)
            log_file = self.out / "log.tsv"  # a mutation's description may hold a lone surrogate
            with self.lock, open(log_file, "a", encoding="utf-8", errors="backslashreplace") as log:
                log.write(
                    f"{i}\t{' '.join(command)}\t{outcome.cls}\t{outcome.returncode}\t"
                    f"{outcome.seconds:.1f}\t"
                    f"{time.monotonic() - started:.1f}\t"
                    + " ; ".join(m.description for m in mutations)[:300].replace("\n", " ")
                    + "\n"
                )
            new = False
            with self.lock:
                self.iterations += 1
                self.per_command[command[0]] += 1
                self.counts[outcome.cls] += 1
                if outcome.cls != "ok":
                    entry = self.signatures.get(outcome.signature)
                    if entry is None:
                        new = True
                        self.signatures[outcome.signature] = entry = {"count": 0, "first": i}
                    entry["count"] += 1
            if new:
                if len(mutations) > 1:  # reduce to one mutation when one alone gives it
                    for mutation in mutations:
                        alone = self.trial(work, command, [mutation])
                        if alone.signature == outcome.signature:
                            mutations, outcome = [mutation], alone
                            break
                folder = self.save(i, command, mutations, outcome)
                with self.lock:
                    self.signatures[outcome.signature]["folder"] = str(folder)
                    self.signatures[outcome.signature]["what"] = "; ".join(
                        m.description for m in mutations
                    )
                    self.signatures[outcome.signature]["command"] = " ".join(command)
                    self.signatures[outcome.signature]["tail"] = outcome.detail
                print(
                    f"[{i}] new {outcome.signature}  <- {self.signatures[outcome.signature]['what'][:120]}",
                    flush=True,
                )

    def save(self, i: int, command: list[str], mutations: list[Mutation], outcome: Outcome) -> Path:
        digest = hashlib.sha1(outcome.signature.encode()).hexdigest()[:8]
        slug = re.sub(r"[^a-z0-9]+", "-", outcome.signature.lower())[:60].strip("-")
        folder = self.out / "failures" / f"{slug}-{digest}"
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "files").mkdir(parents=True)
        ops = []
        for m, mutation in enumerate(mutations):
            for k, op in enumerate(mutation.ops):
                record = {key: value for key, value in op.items() if key != "data"}
                record["mutation"] = mutation.description
                if "data" in op:
                    name = f"{m}-{k}-" + re.sub(r"[^\w.-]", "_", Path(str(op["path"])).name)[-80:]
                    (folder / "files" / name).write_bytes(op["data"])
                    record["data_file"] = f"files/{name}"
                ops.append(record)
        meta = {
            "iteration": i,
            "seed": self.seed,
            "command": command,
            "signature": outcome.signature,
            "class": outcome.cls,
            "returncode": outcome.returncode,
            "seconds": round(outcome.seconds, 1),
            "ops": ops,
        }
        (folder / "ops.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", errors="backslashreplace"
        )
        (folder / "stdout.txt").write_text(outcome.stdout[-200_000:], errors="backslashreplace")
        (folder / "stderr.txt").write_text(outcome.stderr[-200_000:], errors="backslashreplace")
        (folder / "README.txt").write_text(
            f"{outcome.signature}\n\nmutations:\n"
            + "".join(f"  - {m.description}\n" for m in mutations)
            + f"\ncommand (in the seed project): modelcards {' '.join(command)}\n\n"
            f"replay: python bench/fuzz.py --replay {folder}\n\n{outcome.detail}\n",
            errors="backslashreplace",
        )
        return folder


def load_mutations(folder: Path) -> tuple[list[str], list[Mutation]]:
    meta = json.loads((folder / "ops.json").read_text())
    grouped: dict[str, Mutation] = {}
    for record in meta["ops"]:
        op = {k: v for k, v in record.items() if k not in ("mutation", "data_file")}
        if "data_file" in record:
            op["data"] = (folder / record["data_file"]).read_bytes()
        grouped.setdefault(record["mutation"], Mutation(record["mutation"])).ops.append(op)
    return meta["command"], list(grouped.values())


def summary(h: Harness, minutes: float, elapsed: float) -> str:
    lines = [
        f"Fuzz run: seed {h.seed}, {minutes:g} minutes asked, {elapsed / 60:.1f} minutes ran, "
        f"per-run timeout {h.timeout:g} s.\n",
        "| | count |",
        "|---|---:|",
        f"| iterations | {h.iterations} |",
    ]
    for command in COMMAND_FAMILIES:
        lines.append(f"| runs of `{command}` | {h.per_command.get(command, 0)} |")
    lines.append(
        f"| ok (exit 0/1/2, no traceback) | {h.counts.get('ok', 0) + h.counts.get('net', 0)} |"
    )
    lines.append(
        f"| of which a bare exception caught by the CLI's safety net | {h.counts.get('net', 0)} |"
    )
    for cls in ("traceback", "bad-exit", "hang", "half-written", "canary"):
        lines.append(f"| failures: {cls} | {h.counts.get(cls, 0)} |")
    failures = {s: e for s, e in h.signatures.items() if s.split(" :: ")[1] != "net"}
    nets = {s: e for s, e in h.signatures.items() if s.split(" :: ")[1] == "net"}
    lines.append(f"| distinct failure signatures | {len(failures)} |")
    lines.append(f"| distinct safety-net messages | {len(nets)} |")
    for title, group in (
        ("Failure signatures", failures),
        ("Safety-net messages (ok, listed)", nets),
    ):
        if not group:
            continue
        lines += [
            "",
            f"### {title}",
            "",
            "| signature | runs | first mutation | reproducer |",
            "|---|---:|---|---|",
        ]
        for sig, entry in sorted(group.items(), key=lambda kv: -kv[1]["count"]):
            what = entry.get("what", "").replace("|", "\\|")[:150]
            lines.append(f"| `{sig}` | {entry['count']} | {what} | {entry.get('folder', '')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/fuzz-out"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run -> hang")
    parser.add_argument("--iterations", type=int, help="stop after this many (as well)")
    parser.add_argument("--replay", type=Path, metavar="FOLDER", help="run one saved reproducer")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="with --replay: MODELCARDS_DEBUG=1, so a bare exception the CLI would print as one "
        "line shows its traceback",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    outside = args.out / "outside"  # files of the machine the project must never show
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text(CANARY_OUTSIDE + "\n")
    (outside / "config.json").write_text(json.dumps({"model_type": CANARY_OUTSIDE}) + "\n")
    seed_project = args.out / "seed" / "project"
    if not (seed_project / ".git").is_dir():
        shutil.rmtree(seed_project.parent, ignore_errors=True)
        seed_project.parent.mkdir(parents=True)
        make_seed(seed_project)
    harness = Harness(args.out, seed_project, outside, args.timeout, realcase_pool(), args.seed)
    harness.debug = args.debug
    if args.replay:
        command, mutations = load_mutations(args.replay)
        with tempfile.TemporaryDirectory(prefix="mcfuzz-replay-") as tmp:
            outcome = harness.trial(Path(tmp), command, mutations)
        print(f"modelcards {' '.join(command)}  ->  {outcome.cls}: {outcome.signature}")
        print(outcome.stderr[-3000:])
        return
    start = time.monotonic()
    deadline = start + args.minutes * 60
    limit = args.iterations or sys.maxsize
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        pending: set[concurrent.futures.Future] = set()
        i = 0
        while (time.monotonic() < deadline and i < limit) or pending:
            while len(pending) < args.jobs and time.monotonic() < deadline and i < limit:
                pending.add(pool.submit(harness.iteration, i))
                i += 1
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                future.result()
    text = summary(harness, args.minutes, time.monotonic() - start)
    (args.out / "summary.md").write_text(text)
    (args.out / "signatures.json").write_text(json.dumps(harness.signatures, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
