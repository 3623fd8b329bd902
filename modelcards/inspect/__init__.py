"""inspect: read a snapshot into `ModelFacts`. Reads bytes; never imports, unpickles or runs them.

The readers and the facts' types load when a snapshot is inspected: `check` imports this package
for its constants, `manifest_files` and `card_licence`, and inspects nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelcards.inspect.card import generated_keys, inherited_keys, split_front_matter
from modelcards.inspect.module_configs import MODULE_FILES, read_module_configs
from modelcards.resolve.model_files import (
    CHECKPOINT_STATE,
    PROCESSOR_FILES,
    RESULT_FILES,
    ST_CONFIG,
    TOKENIZER_FILES,
)
from modelcards.resolve.snapshot import FileEntry, Snapshot
from modelcards.safeio.errors import InspectError, ModelcardsError
from modelcards.safeio.jsonfile import loads_strict
from modelcards.safeio.yamlsafe import load_yaml

if TYPE_CHECKING:
    from modelcards.inspect.facts import CardFacts, ModelFacts, WeightsSummary
    from modelcards.inspect.gguf_facts import GgufFacts
    from modelcards.inspect.recipe import Recipe

__all__ = ["CARD_OUTPUTS", "ModelFacts", "card_licence", "inspect_snapshot", "manifest_files"]

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_TEXT_BYTES = 4 * 1024 * 1024
# the EU documents build writes beside the card (render/eu_markdown.py), by card.json key
DOCUMENT_FILES = {
    "model_documentation": "MODEL-DOCUMENTATION.md",
    "training_content": "TRAINING-CONTENT.md",
}
CARD_OUTPUTS = frozenset(
    {"README.md", "CHANGES.md", "card.json", "weight-changes.svg", "model.sig", "card.sig"}
    | set(DOCUMENT_FILES.values())
)  # written by build, and the signatures `sign` writes: never inputs
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
INDEX_SUFFIX = ".index.json"  # model.safetensors.index.json, pytorch_model.bin.index.json, ...
KIND_FILES = ("config.json", "adapter_config.json")  # either makes a folder a model
# ... and so do top-level weight files in a format that holds nothing but a model's weights: a
# GGUF file (llama.cpp) or a safetensors file. Not .bin/.pt/.ckpt alone (any pickle, an
# optimizer's or a dataset's, carries these names), nor .onnx: on the Hub an ONNX file is mostly
# an export beside a transformers model, and no fact of the card is read from its graph
MODEL_WEIGHT_SUFFIXES = (".gguf", ".safetensors")
READ_FILES = frozenset(
    {"config.json", "adapter_config.json", "generation_config.json", "README.md"}
    | (set(TOKENIZER_FILES) - {"tokenizer.model"})  # binary: listed, never read
    | {"trainer_state.json", *RESULT_FILES}
    | {*PROCESSOR_FILES, ST_CONFIG}
    | set(MODULE_FILES)
)  # top-level files inspect reads (with the weight indexes and checkpoint trainer states)


def __getattr__(name: str) -> Any:
    if name == "ModelFacts":  # its module loads on first use, with the readers
        from modelcards.inspect.facts import ModelFacts

        return ModelFacts
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_weight_index(path: str) -> bool:
    """A top-level shard index: `<weight file name>.index.json`."""
    return (
        "/" not in path
        and path.endswith(INDEX_SUFFIX)
        and path[: -len(INDEX_SUFFIX)].endswith(WEIGHT_SUFFIXES)
    )


def is_model_weight(path: str) -> bool:
    """A top-level file that makes a folder a model even without config.json."""
    return "/" not in path and path.endswith(MODEL_WEIGHT_SUFFIXES) and path not in NOT_WEIGHTS


def _is_read(path: str) -> bool:
    return path in READ_FILES or is_weight_index(path) or bool(CHECKPOINT_STATE.match(path))


class _Reader:
    """Bounded, strict reads of one snapshot, remembering files that could not be read."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.notes: list[str] = []
        self.present = {e.path for e in snapshot.files() if not e.lfs_pointer}
        for entry in snapshot.files():
            if entry.lfs_pointer and _is_read(entry.path):
                self.notes.append(
                    f"{entry.path}: only a Git-LFS pointer is present; run `git lfs pull` to read it"
                )
        # what a folder's walk passed over (links out, special files, undecodable names); a
        # name the Hub listing gave and we refused is no file of the model (a lock drops it too)
        if snapshot.ref.kind != "hub":
            self.notes.extend(f"{path}: {why}" for path, why in getattr(snapshot, "skipped", ()))

    def json_object(self, path: str, *, allow_nonfinite: bool = False) -> dict[str, Any]:
        value = loads_strict(
            self.snapshot.read_bytes(path, max_bytes=MAX_JSON_BYTES),
            file=path,
            allow_nonfinite=allow_nonfinite,
        )
        if not isinstance(value, dict):
            raise InspectError(f"expected a JSON object, found {type(value).__name__}", file=path)
        return value

    def any_json(self, path: str) -> Any:
        return loads_strict(self.snapshot.read_bytes(path, max_bytes=MAX_JSON_BYTES), file=path)

    def optional_json(self, path: str) -> dict[str, Any] | None:
        return self.json_object(path) if path in self.present else None

    def optional_record(self, path: str) -> dict[str, Any] | None:
        """A file that only adds detail (a processor config): one that cannot be read is a
        note, and the detail is left out, never the whole model."""
        try:
            return self.optional_json(path)
        except ModelcardsError as exc:
            self.notes.append(f"{path}: {exc.reason}; not used")
            return None

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
    from modelcards.inspect.facts import ModelFacts
    from modelcards.inspect.frameworks import read_frameworks
    from modelcards.inspect.task import read_task
    from modelcards.inspect.tokenizer import read_tokenizer
    from modelcards.inspect.training import read_training

    reader = _Reader(snapshot)
    present = reader.present
    if not any(snapshot.entry(name) for name in KIND_FILES) and not any(
        is_model_weight(e.path) for e in snapshot.files()
    ):  # a pointer still names the kind
        raise InspectError(
            "not a model folder: no config.json, adapter_config.json or top-level "
            ".gguf/.safetensors weight file",
            file=snapshot.ref.describe(),
        )
    config = reader.optional_json("config.json")
    adapter = reader.optional_json("adapter_config.json")
    card = _card(reader) if "README.md" in present else None
    processors = {n: values for n in PROCESSOR_FILES if (values := reader.optional_record(n))}
    task = read_task(config, dict(card.metadata) if card else {}, adapter, processors, present)
    frameworks = read_frameworks(
        config, reader.optional_record(ST_CONFIG), card.body if card else None
    )  # read before the notes are taken: a record that cannot be read is one of them
    recipe = _recipe(snapshot, present, adapter, config, card)
    gguf: list[GgufFacts] = []
    weights = _weights(snapshot, reader, gguf)
    return ModelFacts(
        source=snapshot.ref,
        files=manifest_files(snapshot),
        config=config,
        generation=reader.optional_json("generation_config.json"),
        tokenizer=read_tokenizer(present, reader.json_object, reader.text, reader.notes),
        adapter=adapter,
        weights=weights,
        # the Trainer writes NaN/Infinity when a run diverges: reported, not refused
        training=read_training(present, lambda p: reader.json_object(p, allow_nonfinite=True)),
        card=card,
        code_files=tuple(sorted(p for p in present if p.endswith(".py"))),
        merge_config=next((p for p in ("mergekit_config.yml",) if p in present), None),
        module_configs=read_module_configs(present, reader.any_json, reader.notes),
        notes=tuple(reader.notes) + recipe.notes,  # recipe files not read are files not read
        recipe=recipe,
        task=task,
        frameworks=frameworks,
        gguf=tuple(gguf),
    )


def _recipe(
    snapshot: Snapshot,
    present: set[str],
    adapter: dict[str, Any] | None,
    config: dict[str, Any] | None,
    card: CardFacts | None,
) -> Recipe:
    """The training recipe of a model on disk (folder, git tree, HF cache). A Hub or locked
    base is not asked for it: its training files would be fetched (or are not locked) only to
    describe a model the card is not about."""
    from modelcards.inspect.recipe import Recipe, read_recipe
    from modelcards.inspect.training import trainer_state_path

    if snapshot.ref.kind in ("hub", "lock"):
        return Recipe()
    return read_recipe(
        snapshot,
        present,
        adapter=adapter,
        config=config,
        card_metadata=card.metadata if card else None,
        card_body=card.body if card else None,
        state_file=trainer_state_path(present),
    )


def card_licence(snapshot: Snapshot) -> str | None:
    """The licence a model's README front matter states (what a fine-tune of it inherits):
    read on its own, because README.md is not part of a model's manifest."""
    if not snapshot.has("README.md"):
        return None
    _front, _body, metadata = _front_matter(_Reader(snapshot))
    value = metadata.get("license")
    return str(value) if value is not None else None


def manifest_files(snapshot: Snapshot) -> tuple[FileEntry, ...]:
    """The files a model is made of: all of them but the card files build writes."""
    return tuple(e for e in snapshot.files() if e.path not in CARD_OUTPUTS)


def _front_matter(reader: _Reader) -> tuple[str | None, str, dict[str, Any]]:
    """README.md's front matter as text, its body, and the front matter parsed."""
    front, body = split_front_matter(reader.text("README.md") or "")
    metadata: Any = {}
    if front is not None and front.strip():
        metadata = load_yaml(front, file="README.md", error=InspectError)
        if not isinstance(metadata, dict):
            raise InspectError("front matter is not a YAML mapping", file="README.md")
    return front, body, metadata


def _card(reader: _Reader) -> CardFacts:
    from modelcards.inspect.facts import CardFacts

    front, body, metadata = _front_matter(reader)
    return CardFacts(
        metadata=metadata,
        body=body,
        inherited=inherited_keys(front),
        generated=generated_keys(front),
    )


@dataclass(frozen=True)
class _Index:
    path: str
    weight_map: Mapping[str, str]  # tensor name -> shard path, checked to stay in the folder


def _shard_problem(shard: str) -> str | None:
    """Why a shard path from an index is refused, or None for a plain path inside the folder."""
    if shard.startswith("/") or "\\" in shard or (len(shard) > 1 and shard[1] == ":"):
        return "is not a relative path"
    parts = shard.split("/")
    if ".." in parts:
        return "escapes the model folder"
    if "" in parts or "." in parts or any(ord(c) < 32 or ord(c) == 127 for c in shard):
        return "is not a plain relative path"
    if not shard.endswith(WEIGHT_SUFFIXES):
        return "is not a weight file"
    return None


def _read_index(reader: _Reader, path: str) -> _Index:
    """An index's weight_map, refusing anything but tensor name → shard path inside the folder."""
    weight_map = reader.json_object(path).get("weight_map")
    if not isinstance(weight_map, dict):
        raise InspectError("no weight_map object", file=path)
    checked: set[str] = set()  # a 70B index names 30 shards for 723 tensors
    for tensor, shard in sorted(weight_map.items()):
        if not isinstance(shard, str):
            raise InspectError(
                f"weight_map maps {tensor!r} to {type(shard).__name__}, not a file name", file=path
            )
        if shard in checked:
            continue
        checked.add(shard)
        problem = _shard_problem(shard)
        if problem:
            raise InspectError(f"weight_map shard {shard[:200]!r} {problem}", file=path)
    return _Index(path, weight_map)


def _weight_files(reader: _Reader) -> tuple[list[str], list[_Index]]:
    """Top-level weight files and every shard an index names (present or not), and the indexes."""
    files = {
        e.path
        for e in reader.snapshot.files()
        if "/" not in e.path and e.path.endswith(WEIGHT_SUFFIXES) and e.path not in NOT_WEIGHTS
    }
    indexes = [_read_index(reader, p) for p in sorted(reader.present) if is_weight_index(p)]
    for index in indexes:
        files.update(index.weight_map.values())
    return sorted(files), indexes


def _weights(snapshot: Snapshot, reader: _Reader, gguf: list[GgufFacts]) -> WeightsSummary:
    """What the weight files say, and how much of them there was to read (`coverage`); the
    headers of GGUF files go to `gguf` (their tensors have llama.cpp's names, not the
    checkpoint's, so they are not listed among the tensors a diff compares)."""
    from modelcards.inspect.facts import OpaqueWeights, TensorInfo, WeightsCoverage, WeightsSummary
    from modelcards.inspect.gguf_facts import read_gguf_facts
    from modelcards.inspect.safetensors_header import read_safetensors_header

    tensors: dict[str, TensorInfo] = {}
    read: list[str] = []
    pointers: list[str] = []
    unlisted: list[str] = []
    missing: list[str] = []
    opaque: list[OpaqueWeights] = []
    metadata: dict[str, dict[str, str]] = {}
    expected, indexes = _weight_files(reader)
    for path in expected:
        entry = snapshot.entry(path)
        if entry is None:
            missing.append(path)
        elif entry.lfs_pointer:
            pointers.append(path)
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
        elif path.endswith(".gguf") and (facts := read_gguf_facts(snapshot, path, reader.notes)):
            gguf.append(facts)
            unlisted.append(path)
            opaque.append(
                OpaqueWeights(
                    path, entry.size, entry.sha256, "GGUF: header read (tensor data not read)"
                )
            )
        else:
            unlisted.append(path)
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
    absent = set(missing) | set(pointers)
    indexed = {shard for index in indexes for shard in index.weight_map.values()}
    unseen = {
        name
        for index in indexes
        for name, shard in index.weight_map.items()
        if shard in absent and name not in tensors
    }
    return WeightsSummary(
        tensors=dict(sorted(tensors.items())),
        files=tuple(read),
        opaque=tuple(opaque),
        metadata=metadata,
        coverage=WeightsCoverage(
            expected=tuple(expected),
            read=tuple(read),
            pointers=tuple(pointers),
            opaque=tuple(unlisted),
            missing=tuple(missing),
            indexes=tuple(index.path for index in indexes),
            gguf=tuple(f.file for f in gguf),
            unseen_tensors=frozenset(unseen),
            names_known=bool(read)
            and all(p in indexed for p in absent if p.endswith(".safetensors")),
        ),
    )
