"""The deep compare's results: a row per tensor and the sums over layers, modules and all.

Every row carries four sums (elements that differ, ‖W_base‖², ‖ΔW‖², ⟨W_base, ΔW⟩) from which
the figures are derived; groups add the sums up, so a group's figures are exact, not averages of
ratios. The cosine similarity of base and tuned comes from the last three: with a = W_base and
d = ΔW, a·b = Σa² + Σa·d and Σb² = Σa² + 2Σa·d + Σd², so 1 − cos keeps its relative precision
for a small change (no difference of two near-equal sums) and costs one dot product per block.
A 2-D tensor's row also carries the effective rank of its ΔW (`sketch`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from modelcards.compare.deep.names import MODULES

__all__ = ["DeepDiff", "GroupDelta", "Kind", "Status", "TensorChange", "summarise"]

Status = Literal["equal", "changed", "skipped"]
Kind = Literal["dense", "lora", "replaced"]


def _ratio(part: float, whole: float) -> float | None:
    if whole > 0:
        return part / whole
    return 0.0 if part == 0 else None  # a change of an all-zero tensor has no relative size


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


class _Figures:
    """‖ΔW‖/‖W‖, the cosine of base and tuned and the share of elements changed, from the sums
    every result row carries."""

    delta_sq: float
    base_sq: float
    cross: float
    changed_elements: int
    numel: int

    @property
    def similarity(self) -> float | None:
        """cos(W_base, W_tuned); None when either side is all zero or a sum is not finite."""
        tuned_sq = self.base_sq + 2.0 * self.cross + self.delta_sq
        if not (self.base_sq > 0 and tuned_sq > 0 and math.isfinite(tuned_sq + self.cross)):
            return None
        cosine = (self.base_sq + self.cross) / math.sqrt(self.base_sq * tuned_sq)
        return max(-1.0, min(1.0, cosine))

    @property
    def relative_change(self) -> float | None:
        ratio = _ratio(self.delta_sq, self.base_sq)
        return None if ratio is None else math.sqrt(ratio)

    @property
    def changed_share(self) -> float:
        return self.changed_elements / self.numel if self.numel else 0.0


@dataclass(frozen=True)
class TensorChange(_Figures):
    """One tensor compared by content. `name` is the tuned model's name (the adapter module for
    LoRA), `base_name` the base tensor it was compared with."""

    name: str
    base_name: str
    kind: Kind
    status: Status
    before: str  # "BF16[4096, 4096]"
    after: str  # for LoRA: "lora r=16 scale=2"
    numel: int
    changed_elements: int = 0
    base_sq: float = 0.0  # ‖W_base‖², float64
    delta_sq: float = 0.0  # ‖W_tuned − W_base‖² (or ‖ΔW‖² for an adapter)
    cross: float = 0.0  # ⟨W_base, ΔW⟩
    dims: int = 0  # of the tensor (the similarity verdict counts matrices only)
    delta_rank: int | None = None  # effective rank of a changed matrix's ΔW (`sketch`)
    rank_bound: int | None = None  # the largest rank the sketch tells apart: rank ≥ this
    layer: str | None = None  # "12", "encoder.5"; None outside the repeated blocks
    module: str = "other"
    reason: str | None = None  # why it was skipped

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base_name": self.base_name,
            "kind": self.kind,
            "status": self.status,
            "before": self.before,
            "after": self.after,
            "layer": self.layer,
            "module": self.module,
            "numel": self.numel,
            "changed_elements": self.changed_elements,
            "changed_share": self.changed_share,
            "base_norm": _finite(math.sqrt(self.base_sq)),
            "delta_norm": _finite(math.sqrt(self.delta_sq)),
            "relative_change": _finite(self.relative_change),
            "similarity": self.similarity,
            "delta_rank": self.delta_rank,
            "rank_bound": self.rank_bound,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class GroupDelta(_Figures):
    """Figures over a group of compared tensors: one layer, one module type, a cell, or all."""

    layer: str | None
    module: str | None
    tensors: int
    changed_tensors: int
    numel: int
    changed_elements: int
    base_sq: float
    delta_sq: float
    cross: float = 0.0  # ⟨W_base, ΔW⟩ summed

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.layer is not None:
            data["layer"] = self.layer
        if self.module is not None:
            data["module"] = self.module
        data.update(
            tensors=self.tensors,
            changed_tensors=self.changed_tensors,
            numel=self.numel,
            changed_elements=self.changed_elements,
            changed_share=self.changed_share,
            relative_change=_finite(self.relative_change),
            similarity=self.similarity,
        )
        return data


def _group(rows: Iterable[TensorChange], layer: str | None, module: str | None) -> GroupDelta:
    rows = [r for r in rows if r.status != "skipped"]
    return GroupDelta(
        layer=layer,
        module=module,
        tensors=len(rows),
        changed_tensors=sum(r.status == "changed" for r in rows),
        numel=sum(r.numel for r in rows),
        changed_elements=sum(r.changed_elements for r in rows),
        base_sq=math.fsum(r.base_sq for r in rows),
        delta_sq=math.fsum(r.delta_sq for r in rows),
        cross=math.fsum(r.cross for r in rows),
    )


@dataclass(frozen=True)
class DeepDiff:
    kind: Literal["dense", "adapter"]
    tensors: tuple[TensorChange, ...]  # sorted by name
    by_layer: tuple[GroupDelta, ...]  # in block order; tensors outside blocks are not in here
    by_module: tuple[GroupDelta, ...]  # in MODULES order
    cells: tuple[GroupDelta, ...]  # (layer, module) pairs; layer None = outside the blocks
    total: GroupDelta
    not_compared: tuple[str, ...]  # on one side only (added / removed), by name
    bytes_read: int
    seconds: float
    workers: int

    @property
    def skipped(self) -> tuple[TensorChange, ...]:
        return tuple(t for t in self.tensors if t.status == "skipped")

    @property
    def changed(self) -> tuple[TensorChange, ...]:
        return tuple(t for t in self.tensors if t.status == "changed")

    def as_json(self, *, timing: bool = False) -> dict[str, Any]:
        """Plain JSON; `timing` adds seconds and workers (left out by default: same input, same
        bytes out)."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "summary": {
                "compared": self.total.tensors,
                "changed": self.total.changed_tensors,
                "equal": self.total.tensors - self.total.changed_tensors,
                "skipped": len(self.skipped),
                "not_compared": len(self.not_compared),
                "relative_change": _finite(self.total.relative_change),
                "changed_share": self.total.changed_share,
                "bytes_read": self.bytes_read,
            },
            "by_layer": [g.as_json() for g in self.by_layer],
            "by_module": [g.as_json() for g in self.by_module],
            "skipped": [{"name": t.name, "reason": t.reason} for t in self.skipped],
            "not_compared": list(self.not_compared),
            "tensors": [t.as_json() for t in self.tensors],
        }
        if timing:
            data["timing"] = {"seconds": self.seconds, "workers": self.workers}
        return data


def _layer_key(label: str) -> tuple[str, int]:
    stack, _, index = label.rpartition(".")
    return stack, int(index)


def summarise(
    rows: list[TensorChange],
    not_compared: tuple[str, ...],
    bytes_read: int,
    seconds: float,
    workers: int,
    kind: Literal["dense", "adapter"],
) -> DeepDiff:
    rows.sort(key=lambda r: r.name)
    compared = [r for r in rows if r.status != "skipped"]
    layers = sorted({r.layer for r in compared if r.layer is not None}, key=_layer_key)
    modules = [m for m in MODULES if any(r.module == m for r in compared)]
    by_layer = tuple(
        _group((r for r in compared if r.layer == layer), layer, None) for layer in layers
    )
    by_module = tuple(
        _group((r for r in compared if r.module == module), None, module) for module in modules
    )
    cells_rows: dict[tuple[str | None, str], list[TensorChange]] = {}
    for r in compared:
        cells_rows.setdefault((r.layer, r.module), []).append(r)
    order = {layer: i for i, layer in enumerate(layers)}
    cells = tuple(
        _group(group, layer, module)
        for (layer, module), group in sorted(
            cells_rows.items(),
            key=lambda item: (
                order.get(item[0][0], len(order)) if item[0][0] is not None else len(order),
                MODULES.index(item[0][1]),
            ),
        )
    )
    return DeepDiff(
        kind=kind,
        tensors=tuple(rows),
        by_layer=by_layer,
        by_module=by_module,
        cells=cells,
        total=_group(compared, None, None),
        not_compared=not_compared,
        bytes_read=bytes_read,
        seconds=seconds,
        workers=workers,
    )
