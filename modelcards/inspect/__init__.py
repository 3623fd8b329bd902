"""inspect: read a snapshot into `ModelFacts`. Reads bytes; never imports, unpickles or runs them."""

from __future__ import annotations

from typing import Any

from modelcards.errors import InspectError, ModelcardsError
from modelcards.inspect.card import split_front_matter
from modelcards.inspect.facts import (
    CardFacts,
    ModelFacts,
    OpaqueWeights,
    TensorInfo,
    WeightsSummary,
)
from modelcards.inspect.safetensors_header import read_safetensors_header
from modelcards.inspect.tokenizer import read_tokenizer
from modelcards.inspect.training import read_training
from modelcards.jsonfile import loads_strict
from modelcards.resolve.snapshot import FileEntry, Snapshot
from modelcards.yamlsafe import load_yaml

__all__ = ["CARD_OUTPUTS", "ModelFacts", "inspect_snapshot", "manifest_files"]

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_TEXT_BYTES = 4 * 1024 * 1024
CARD_OUTPUTS = frozenset(
    {"README.md", "CHANGES.md", "card.json", "weight-changes.svg"}
)  # written by build: not inputs
WEIGHT_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".h5",
    ".msgpack",
    ".gguf",
    ".onnx",
)
NOT_WEIGHTS = frozenset({"training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt"})
SHARD_INDEX = "model.safetensors.index.json"


class _Reader:
    """Bounded, strict reads of one snapshot, remembering files that could not be read."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.notes: list[str] = []
        self.present = {e.path for e in snapshot.files() if not e.lfs_pointer}
        for entry in snapshot.files():
            if entry.lfs_pointer and entry.path.endswith((".json", ".jinja", ".md", ".txt")):
                self.notes.append(f"{entry.path}: only a Git-LFS pointer is present; not read")

    def json_object(self, path: str) -> dict[str, Any]:
        value = loads_strict(self.snapshot.read_bytes(path, max_bytes=MAX_JSON_BYTES), file=path)
        if not isinstance(value, dict):
            raise InspectError(f"expected a JSON object, found {type(value).__name__}", file=path)
        return value

    def optional_json(self, path: str) -> dict[str, Any] | None:
        return self.json_object(path) if path in self.present else None

    def text(self, path: str) -> str | None:
        data = self.snapshot.read_bytes(path, max_bytes=MAX_TEXT_BYTES)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise InspectError("not UTF-8 text", file=path) from None


def inspect_snapshot(snapshot: Snapshot) -> ModelFacts:
    """The facts of one model; an error names the file as the user knows it (with its folder)."""
    try:
        return _inspect(snapshot)
    except ModelcardsError as exc:
        location = snapshot.ref.location
        if exc.file and location not in (".", "") and not exc.file.startswith(location):
            raise type(exc)(exc.reason, file=f"{location}/{exc.file}") from None
        raise


def _inspect(snapshot: Snapshot) -> ModelFacts:
    reader = _Reader(snapshot)
    present = reader.present
    if not ({"config.json", "adapter_config.json"} & present):
        if {"config.json", "adapter_config.json"} & {e.path for e in snapshot.files()}:
            raise InspectError(
                "config.json is only a Git-LFS pointer: run `git lfs pull` first",
                file=snapshot.ref.describe(),
            )
        raise InspectError(
            "not a model folder: no config.json or adapter_config.json",
            file=snapshot.ref.describe(),
        )
    return ModelFacts(
        source=snapshot.ref,
        files=manifest_files(snapshot),
        config=reader.optional_json("config.json"),
        generation=reader.optional_json("generation_config.json"),
        tokenizer=read_tokenizer(present, reader.json_object, reader.text),
        adapter=reader.optional_json("adapter_config.json"),
        weights=_weights(snapshot, reader),
        training=read_training(present, reader.json_object),
        card=_card(reader) if "README.md" in present else None,
        code_files=tuple(sorted(p for p in present if p.endswith(".py"))),
        merge_config=next((p for p in ("mergekit_config.yml",) if p in present), None),
        notes=tuple(reader.notes),
    )


def manifest_files(snapshot: Snapshot) -> tuple[FileEntry, ...]:
    """The files a model is made of: all of them but the card files build writes."""
    return tuple(e for e in snapshot.files() if e.path not in CARD_OUTPUTS)


def _card(reader: _Reader) -> CardFacts:
    text = reader.text("README.md") or ""
    front, body = split_front_matter(text)
    metadata: Any = {}
    if front is not None and front.strip():
        metadata = load_yaml(front, file="README.md", error=InspectError)
        if not isinstance(metadata, dict):
            raise InspectError("front matter is not a YAML mapping", file="README.md")
    return CardFacts(metadata=metadata, body=body)


def _weight_files(reader: _Reader) -> list[str]:
    """Top-level weight files, plus the shards a safetensors index names (checked to exist)."""
    files = {
        e.path
        for e in reader.snapshot.files()
        if "/" not in e.path and e.path.endswith(WEIGHT_SUFFIXES) and e.path not in NOT_WEIGHTS
    }
    if SHARD_INDEX in reader.present:
        weight_map = reader.json_object(SHARD_INDEX).get("weight_map")
        if not isinstance(weight_map, dict):
            raise InspectError("no weight_map object", file=SHARD_INDEX)
        for shard in set(weight_map.values()):
            if not isinstance(shard, str) or reader.snapshot.entry(shard) is None:
                raise InspectError(
                    f"weight_map names {shard!r}, which is not in the model folder",
                    file=SHARD_INDEX,
                )
            files.add(shard)
    return sorted(files)


def _weights(snapshot: Snapshot, reader: _Reader) -> WeightsSummary:
    tensors: dict[str, TensorInfo] = {}
    read: list[str] = []
    opaque: list[OpaqueWeights] = []
    metadata: dict[str, dict[str, str]] = {}
    for path in _weight_files(reader):
        entry = snapshot.entry(path)
        assert entry is not None
        if entry.lfs_pointer:
            opaque.append(
                OpaqueWeights(
                    path, entry.size, entry.sha256, "Git-LFS pointer: content not present"
                )
            )
        elif path.endswith(".safetensors"):
            header = read_safetensors_header(snapshot, path)
            for tensor in header.tensors:
                if tensor.name in tensors:
                    raise InspectError(
                        f"tensor {tensor.name!r} also appears in {tensors[tensor.name].file}",
                        file=path,
                    )
                tensors[tensor.name] = tensor
            if header.metadata:
                metadata[path] = header.metadata
            read.append(path)
        else:
            kind = (
                "pickle-based checkpoint"
                if path.endswith((".bin", ".pt", ".pth", ".ckpt"))
                else "format"
            )
            opaque.append(
                OpaqueWeights(
                    path,
                    entry.size,
                    entry.sha256,
                    f"{kind} not read (tensors are listed from safetensors only)",
                )
            )
    return WeightsSummary(
        tensors=dict(sorted(tensors.items())),
        files=tuple(read),
        opaque=tuple(opaque),
        metadata=metadata,
    )
