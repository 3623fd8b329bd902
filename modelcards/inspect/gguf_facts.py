"""What a GGUF file's header says about the model: the facts a card states for a weights-only
llama.cpp repository (no config.json), read through `gguf_header.py`'s bounded reader.

Only typed values are taken: an integer where an integer belongs (never a bool, never negative),
a short string where a name belongs; anything else leaves the fact out. The tensor data is
never read: parameters are the sum of the tensor infos' shapes, the vocabulary the length of
`tokenizer.ggml.tokens` (its strings are skipped, not kept), the chat template a digest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelcards.inspect.gguf_header import (
    MAGIC,
    Array,
    Budget,
    LongString,
    Malformed,
    ReadAt,
    Value,
    open_header,
    read_metadata,
    read_prelude,
    read_tensor_infos,
)
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import ModelcardsError

TEMPLATE_KEY = "tokenizer.chat_template"
MAX_NAME_BYTES = 4096  # general.* strings: names, licences, URLs
MAX_TEMPLATE_BYTES = 1 << 20  # a chat template kept to be digested
MAX_BASES = 16  # general.base_model.N entries read
# llama.cpp's llama_ftype (general.file_type): the quantization a file was written as
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip
# ggml_type: how one tensor is stored
GGML_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
    10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
    17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
    23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
    30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
}  # fmt: skip
# (fact, key after "{architecture}.")
ARCH_KEYS = (
    ("context_length", "context_length"),
    ("block_count", "block_count"),
    ("embedding_length", "embedding_length"),
    ("feed_forward_length", "feed_forward_length"),
    ("head_count", "attention.head_count"),
    ("head_count_kv", "attention.head_count_kv"),
)
SPLIT = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$")  # gguf-split's shard names


@dataclass(frozen=True)
class GgufBase:
    """One `general.base_model.N` entry the converter wrote (the lineage of the model)."""

    key: str  # general.base_model.0
    name: str | None
    organization: str | None
    repo_url: str | None


@dataclass(frozen=True)
class GgufFacts:
    """The header of one GGUF file (`file` is its path in the snapshot)."""

    file: str
    version: int
    architecture: str | None = None
    name: str | None = None
    file_type: int | None = None
    quantization: str | None = None  # general.file_type by llama.cpp's name, e.g. Q4_K_M
    context_length: int | None = None
    block_count: int | None = None
    embedding_length: int | None = None
    feed_forward_length: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None
    vocab_size: int | None = None  # length of tokenizer.ggml.tokens
    parameters: int = 0  # elements of every tensor the header lists
    tensors: int = 0
    tensor_types: Mapping[str, int] = field(default_factory=dict)  # GGML type -> tensors
    chat_templates: Mapping[str, str] = field(default_factory=dict)  # name -> sha256
    base_models: tuple[GgufBase, ...] = ()
    license: str | None = None
    split: tuple[int, int] | None = None  # (split.no, split.count) of a gguf-split shard

    def as_json(self) -> dict[str, Any]:
        values = {k: v for k, v in vars(self).items() if k not in ("base_models", "split")}
        values["tensor_types"] = dict(self.tensor_types)
        values["chat_templates"] = dict(self.chat_templates)
        values["base_models"] = [vars(b) for b in self.base_models]
        values["split"] = list(self.split) if self.split else None
        return values


def _count(value: Value | None) -> int | None:
    """A positive integer, or None (a bool, a float, an array or a negative is no count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _text(value: Value | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _keep(key: str) -> int:
    if key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + "."):
        return MAX_TEMPLATE_BYTES
    return MAX_NAME_BYTES if key.startswith("general.") else 0


def _bases(values: Mapping[str, Value]) -> tuple[GgufBase, ...]:
    count = _count(values.get("general.base_model.count")) or 0
    found = []
    for index in range(min(count, MAX_BASES)):
        key = f"general.base_model.{index}"
        base = GgufBase(
            key,
            _text(values.get(f"{key}.name")),
            _text(values.get(f"{key}.organization")),
            _text(values.get(f"{key}.repo_url")),
        )
        if base.name or base.repo_url:
            found.append(base)
    return tuple(found)


def read_gguf_facts(snapshot: Snapshot, path: str, notes: list[str]) -> GgufFacts | None:
    """The facts of one GGUF file of a snapshot, or None with a note saying why not."""
    entry = snapshot.entry(path)
    return gguf_facts(
        lambda offset, n: snapshot.read_range(path, offset, n),
        entry.size if entry else 0,
        path,
        notes,
    )


def gguf_facts(read_at: ReadAt, size: int, path: str, notes: list[str]) -> GgufFacts | None:
    """The facts of the GGUF file `path` read through `read_at`, or None with a note saying
    why its header was not read (a file that is not GGUF, a malformed or oversized header)."""
    try:
        if read_at(0, 4) != MAGIC:
            notes.append(f"{path}: named .gguf but does not start with the GGUF magic; not read")
            return None
        reader = open_header(read_at, size)
        prelude = read_prelude(reader)
        values: dict[str, Value] = {}
        templates: dict[str, str] = {}
        for key, value in read_metadata(reader, prelude, _keep):
            if key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + "."):
                name = key[len(TEMPLATE_KEY) + 1 :] or "default"
                if isinstance(value, str):
                    templates[name] = hashlib.sha256(value.encode("utf-8")).hexdigest()
                elif isinstance(value, LongString):
                    notes.append(
                        f"{path}: chat template {key} is {value.length:,} bytes, more than the "
                        f"{MAX_TEMPLATE_BYTES:,} read; its digest is not given"
                    )
            elif not isinstance(value, str) or key.startswith("general."):
                values[key] = value
        types: dict[str, int] = {}
        parameters = tensors = 0
        for info in read_tensor_infos(reader, prelude):
            label = GGML_TYPES.get(info.ggml_type, f"type {info.ggml_type}")
            types[label] = types.get(label, 0) + 1
            elements = 1
            for dim in info.shape:
                elements *= dim
            parameters += elements
            tensors += 1
    except (Malformed, Budget) as exc:
        notes.append(f"{path}: GGUF header not read: {exc}")
        return None
    except ModelcardsError as exc:
        notes.append(f"{path}: GGUF header not read: {exc.reason}")
        return None
    except OSError as exc:
        notes.append(f"{path}: GGUF header not read: {exc.strerror or exc}")
        return None
    arch = _text(values.get("general.architecture"))
    file_type = _count(values.get("general.file_type"))
    if values.get("general.file_type") == 0:
        file_type = 0
    tokens = values.get("tokenizer.ggml.tokens")
    split_no, split_count = values.get("split.no"), _count(values.get("split.count"))
    return GgufFacts(
        file=path,
        version=prelude.version,
        architecture=arch,
        name=_text(values.get("general.name")),
        file_type=file_type,
        quantization=None if file_type is None else FILE_TYPES.get(file_type),
        **{fact: _count(values.get(f"{arch}.{key}")) if arch else None for fact, key in ARCH_KEYS},
        vocab_size=tokens.length if isinstance(tokens, Array) and tokens.item_type == 8 else None,
        parameters=parameters,
        tensors=tensors,
        tensor_types=dict(sorted(types.items())),
        chat_templates=dict(sorted(templates.items())),
        base_models=_bases(values),
        license=_text(values.get("general.license")),
        split=(split_no, split_count)
        if isinstance(split_no, int) and not isinstance(split_no, bool) and split_count
        else None,
    )


SHARED_FACTS = (
    "architecture", "name", "context_length", "block_count", "embedding_length",
    "feed_forward_length", "head_count", "head_count_kv", "vocab_size", "parameters", "license",
)  # fmt: skip


def variants(files: tuple[GgufFacts, ...]) -> list[dict[str, Any]]:
    """One entry per model the files hold: a file, or the shards of one gguf-split model
    (its metadata from the first shard, its parameters and tensors summed over all)."""
    groups: dict[str, list[GgufFacts]] = {}
    for facts in files:
        match = SPLIT.match(facts.file) if facts.split else None
        groups.setdefault(match.group(1) if match else facts.file, []).append(facts)
    found = []
    for group in groups.values():
        first = min(group, key=lambda f: f.split[0] if f.split else 0)
        entry = {k: getattr(first, k) for k in (*SHARED_FACTS, "quantization", "file_type")}
        entry["files"] = [f.file for f in group]
        entry["parameters"] = sum(f.parameters for f in group)
        entry["tensors"] = sum(f.tensors for f in group)
        found.append(entry)
    return found


def shared_facts(files: tuple[GgufFacts, ...]) -> dict[str, Any]:
    """The facts every model of the files states alike (None where they differ or none says)."""
    models = variants(files)
    shared: dict[str, Any] = {}
    for key in SHARED_FACTS:
        seen = {m[key] for m in models}
        shared[key] = seen.pop() if len(seen) == 1 else None
    return shared
