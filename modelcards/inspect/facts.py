"""The typed facts read from one snapshot. Plain data: no I/O, no behaviour beyond summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from math import prod
from typing import TYPE_CHECKING, Any

from modelcards.inspect.recipe import Recipe
from modelcards.resolve.snapshot import FileEntry, SourceRef

if TYPE_CHECKING:
    from modelcards.inspect.frameworks import FrameworkVersion
    from modelcards.inspect.gguf_facts import GgufFacts
    from modelcards.inspect.task import TaskFacts

JSON = Any  # a value parsed from a model's JSON file
MAX_NON_FINITE = 20  # TrainingRecord.non_finite keeps this many entries


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # safetensors dtype code: F32, BF16, I64, ...
    shape: tuple[int, ...]
    file: str

    @property
    def numel(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class OpaqueWeights:
    """A weight file whose tensors we cannot list (LFS pointer, pickle checkpoint, other format)."""

    file: str
    size: int
    sha256: str | None
    reason: str


@dataclass(frozen=True)
class WeightsCoverage:
    """Which weight files the summary rests on, and so what a card may claim about the weights.

    `expected` is every weight file the model names (the shards of its index files, and the
    weight files found); each is then read (safetensors header), a pointer (Git-LFS: size and
    sha256 known, content absent), opaque (present, but not a format whose tensors are listed)
    or missing (named by an index, not in the folder). All tuples are sorted.
    """

    expected: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    pointers: tuple[str, ...] = ()
    opaque: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()  # the index files the expectation came from
    # tensors an index maps to a shard that is missing or only a pointer: not seen, so never
    # reported as removed or added
    unseen_tensors: frozenset[str] = frozenset()
    # every tensor name is known, read from a header or named by an index: only then can the
    # other side's extra tensors be called added or removed (False when nothing was read)
    names_known: bool = False
    gguf: tuple[str, ...] = ()  # GGUF files (among `opaque`) whose headers were read

    @property
    def state(self) -> str:
        """complete | partial | pointers | absent: how much of the weights is there to read."""
        if not self.expected:
            return "absent"
        if self.missing:
            return "partial"
        if self.pointers and not (self.read or self.opaque):
            return "pointers"
        return "complete"

    @property
    def fully_read(self) -> bool:
        """Every expected weight file's tensors were listed (safetensors headers, nothing else)."""
        return bool(self.expected) and set(self.read) == set(self.expected)

    @property
    def tensors_complete(self) -> bool:
        """The tensors listed are all the model has: parameter counts are then true totals.

        A .bin copy beside complete safetensors does not matter; a safetensors file that is
        missing or only a pointer, or a tensor an index places in one, does.
        """
        return self.names_known and not self.unseen_tensors

    def as_json(self) -> dict[str, Any]:
        """A JSON summary (unseen tensors counted, not listed: a 70B model has hundreds)."""
        return {
            "state": self.state,
            "names_known": self.names_known,
            "tensors_complete": self.tensors_complete,
            "expected": list(self.expected),
            "read": list(self.read),
            "pointers": list(self.pointers),
            "opaque": list(self.opaque),
            "missing": list(self.missing),
            "indexes": list(self.indexes),
            "unseen_tensors": len(self.unseen_tensors),
        } | ({"gguf": list(self.gguf)} if self.gguf else {})  # only then: older outputs stay


@dataclass(frozen=True)
class WeightsSummary:
    tensors: Mapping[str, TensorInfo] = field(default_factory=dict)  # sorted by name
    files: tuple[str, ...] = ()  # safetensors files whose headers were read
    opaque: tuple[OpaqueWeights, ...] = ()
    metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # per-file __metadata__
    coverage: WeightsCoverage = WeightsCoverage()

    @property
    def total_params(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    def params_by_dtype(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for tensor in self.tensors.values():
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.numel
        return dict(sorted(counts.items()))


@dataclass(frozen=True)
class AddedToken:
    id: int
    content: str
    special: bool


@dataclass(frozen=True)
class TokenizerFacts:
    special_tokens: Mapping[str, str]  # role (bos_token, eos_token, ...) -> token text
    additional_special_tokens: tuple[str, ...]
    added_tokens: tuple[AddedToken, ...]  # sorted by id
    model_max_length: int | None
    tokenizer_class: str | None
    chat_templates: Mapping[str, str]  # template name ("default", "tool_use", ...) -> source
    chat_template_file: str | None  # where the chat template was found
    files: tuple[str, ...]  # tokenizer files present
    # how the tokenizer is called by default (tokenizer_config.json: max_length, padding_side, …)
    settings: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class LogPoint:
    step: int
    epoch: float | None
    loss: float | None
    learning_rate: float | None
    eval: Mapping[str, float]


@dataclass(frozen=True)
class TrainingRecord:
    global_step: int | None
    epochs: float | None
    best_checkpoint: str | None
    best_metric: float | None
    final_loss: float | None
    eval_metrics: Mapping[str, float]  # last reported eval_* values
    results: Mapping[str, Mapping[str, JSON]]  # file name -> scalar entries (all_results.json, ...)
    history: tuple[LogPoint, ...]
    files: tuple[str, ...]
    tokens_seen: int | None = None  # trainer_state.json num_input_tokens_seen, when counted
    # where NaN/Infinity appeared (a diverged run), e.g. "log_history step 120: loss NaN";
    # log_history entries by step first, then the state's and result files' own keys; at most
    # MAX_NON_FINITE entries. The values themselves stay floats in the fields above.
    non_finite: tuple[str, ...] = ()
    state_file: str | None = None  # the trainer_state.json read (a checkpoint's, when only that)
    max_steps: int | None = None  # trainer_state.json: the steps the run was set to take
    num_train_epochs: float | None = None  # trainer_state.json: the epochs it was set to take
    total_flos: float | None = None  # trainer_state.json top level (the Trainer's own count)


@dataclass(frozen=True)
class CardFacts:
    """The front matter and prose of a model's existing README.md."""

    metadata: Mapping[str, JSON]
    body: str
    inherited: frozenset[str] = frozenset()  # keys build filled in from the base (marked so)
    generated: frozenset[str] = frozenset()  # keys build wrote from the model's files (marked so)


@dataclass(frozen=True)
class ModelFacts:
    source: SourceRef
    files: tuple[FileEntry, ...]  # the manifest (card outputs excluded)
    config: Mapping[str, JSON] | None  # config.json
    generation: Mapping[str, JSON] | None  # generation_config.json
    tokenizer: TokenizerFacts | None
    adapter: Mapping[str, JSON] | None  # adapter_config.json
    weights: WeightsSummary
    training: TrainingRecord | None
    card: CardFacts | None
    code_files: tuple[str, ...]  # *.py shipped with the model
    merge_config: str | None  # mergekit_config.yml, if present
    # modules.json, sentence_bert_config.json, config_sentence_transformers.json, each module's
    # <folder>/config.json, quantize_config.json: file name -> parsed JSON
    module_configs: Mapping[str, JSON] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # files that exist but could not be read, and why
    task: TaskFacts | None = None  # the Hub task and the modalities, with their sources
    frameworks: tuple[FrameworkVersion, ...] = ()  # versions the files record
    recipe: Recipe = Recipe()  # how it was trained, from the training stacks' files
    gguf: tuple[GgufFacts, ...] = ()  # the GGUF files' headers (llama.cpp), in path order

    @property
    def is_adapter(self) -> bool:
        """adapter_config.json is there, even if only as a Git-LFS pointer we could not read."""
        return self.adapter is not None or any(f.path == "adapter_config.json" for f in self.files)

    @property
    def gguf_quantization(self) -> str | None:
        """The file that makes a config-less GGUF model a quantization (a Q4_K_M file, not an
        F32/F16/BF16 conversion), or None."""
        if self.config is not None:
            return None
        quantized = (
            g.file for g in self.gguf if g.quantization not in (None, "F32", "F16", "BF16")
        )
        return next(quantized, None)

    @property
    def license(self) -> str | None:
        """The licence the card states (its own, or one build filled in from the base)."""
        value = self.card.metadata.get("license") if self.card else None
        return str(value) if value is not None else None

    @property
    def own_license(self) -> str | None:
        """The model's own licence: not one build filled in from the base and marked so."""
        return None if self.card and "license" in self.card.inherited else self.license
