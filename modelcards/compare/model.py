"""The typed result of comparing two models: changes, the weights diff, the relation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from modelcards.inspect.facts import WeightsCoverage
from modelcards.resolve.snapshot import SourceRef

Relation = Literal["finetune", "adapter", "quantized", "merge"]

# The order a reader meets the areas in: what changes behaviour first.
AREAS = (
    "architecture", "context", "precision", "tokenizer", "chat-template", "generation",
    "adapter", "quantization", "weights", "remote-code", "license", "data", "training",
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    area: str
    key: str  # key path inside `file`, e.g. "rope_scaling.factor"
    before: Any  # None when the key is new
    after: Any  # None when the key is gone
    significant: bool
    meaning: str  # one line a reader understands without opening the file
    file: str | None = None
    detail: str | None = None  # e.g. the unified diff of a chat template

    def as_json(self) -> dict[str, Any]:
        data = {
            "area": self.area,
            "key": self.key,
            "file": self.file,
            "before": self.before,
            "after": self.after,
            "significant": self.significant,
            "meaning": self.meaning,
            "detail": self.detail,
        }
        return data


@dataclass(frozen=True)
class TensorRename:
    """Tensors matched across a systematic rename (a task head wrapping the backbone, PEFT)."""

    base_prefix: str
    tuned_prefix: str
    count: int


@dataclass(frozen=True)
class TensorDelta:
    name: str  # the tuned model's name
    before: str  # "F32[32000, 64]"
    after: str


@dataclass(frozen=True)
class AdapterWeights:
    trainable_params: int
    adapter_tensors: int
    targeted_base_tensors: tuple[str, ...]  # base tensors a LoRA/IA3/... delta applies to
    replaced_base_tensors: tuple[str, ...]  # modules_to_save: whole tensors replaced
    unmatched: tuple[str, ...]  # adapter tensors whose base tensor was not found


@dataclass(frozen=True)
class WeightsDiff:
    base_params: int
    tuned_params: int
    base_params_by_dtype: dict[str, int]
    tuned_params_by_dtype: dict[str, int]
    matched: int = 0
    renames: tuple[TensorRename, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reshaped: tuple[TensorDelta, ...] = ()
    retyped: tuple[TensorDelta, ...] = ()
    # None unless the adapter's tensors were all read: no count is better than a false "0"
    adapter: AdapterWeights | None = None
    opaque_files: tuple[dict[str, Any], ...] = ()  # weight files compared only by size/sha256
    buffers: tuple[str, ...] = ()  # position_ids-style buffers one side saved and the other not
    headers_read: bool = True  # False when neither side had readable safetensors headers
    # (base, tuned): what each side's weights summary rests on, so a card can say what was
    # compared; tensors either side did not see are never reported as added or removed
    coverage: tuple[WeightsCoverage, WeightsCoverage] = (WeightsCoverage(), WeightsCoverage())

    def as_json(self) -> dict[str, Any]:
        return {
            "base_params": self.base_params,
            "tuned_params": self.tuned_params,
            "base_params_by_dtype": self.base_params_by_dtype,
            "tuned_params_by_dtype": self.tuned_params_by_dtype,
            "matched_tensors": self.matched,
            "renames": [vars(r) for r in self.renames],
            "added": list(self.added),
            "removed": list(self.removed),
            "reshaped": [vars(t) for t in self.reshaped],
            "retyped": [vars(t) for t in self.retyped],
            "adapter": None
            if self.adapter is None
            else {
                "trainable_params": self.adapter.trainable_params,
                "adapter_tensors": self.adapter.adapter_tensors,
                "targeted_base_tensors": list(self.adapter.targeted_base_tensors),
                "replaced_base_tensors": list(self.adapter.replaced_base_tensors),
                "unmatched": list(self.adapter.unmatched),
            },
            "opaque_files": list(self.opaque_files),
            "buffers_one_side": list(self.buffers),
            "headers_read": self.headers_read,
            "coverage": {
                "base": dict(sorted(self.coverage[0].as_json().items())),
                "tuned": dict(sorted(self.coverage[1].as_json().items())),
            },
        }


@dataclass(frozen=True)
class ModelDiff:
    relation: Relation
    base: SourceRef
    tuned: SourceRef
    changes: tuple[Change, ...]  # significant first, then by area order
    weights: WeightsDiff
    notes: tuple[str, ...] = field(default=())

    @property
    def significant(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.significant)

    def by_area(self, *, significant: bool | None = None) -> dict[str, list[Change]]:
        groups: dict[str, list[Change]] = {}
        for change in self.changes:
            if significant is None or change.significant == significant:
                groups.setdefault(change.area, []).append(change)
        return {area: groups[area] for area in AREAS if area in groups}

    def as_json(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "base": source_json(self.base),
            "tuned": source_json(self.tuned),
            "summary": {
                "changes": len(self.changes),
                "significant": len(self.significant),
                "areas": sorted({c.area for c in self.significant}, key=AREAS.index),
            },
            "changes": [c.as_json() for c in self.changes],
            "weights": self.weights.as_json(),
            "notes": list(self.notes),
        }


def source_json(ref: SourceRef) -> dict[str, Any]:
    return {
        "kind": ref.kind,
        "location": ref.location,
        "revision": ref.revision,
        "hub_id": ref.hub_id,
    }
