"""The models a mergekit config names as its sources, as written, so that each can be checked
against the merge's weights the way a base is (project/merge_checks.py).

mergekit-yaml copies its config into the merged model's folder as `mergekit_config.yml`. It names
its inputs in `models:` (each `model:` with its parameters), in `slices:` (each slice's `sources:`
with a `layer_range`) and in `base_model:` (task arithmetic, TIES, DARE; SLERP's reference). A
source is a Hub id (`org/name`, `org/name@revision`), a path on the machine the merge ran on, or
`model+lora` (a LoRA applied before merging).

Slices stack in order: the layers of the i-th slice sit in the merge after those of the slices
before it. A source whose range starts where its slice sits (`[0, 32]` in the first slice, the
usual SLERP config) keeps its layer names in the merge; one whose layers moved (a passthrough
"frankenmerge" that repeats layers 8–24 as 16–32) does not, and only its layers that stayed in
place can be compared by tensor name (`MergeSource.aligned_layers`). A source named in slices is
judged by the layers of its slices only: the merge's other layers, and the tensors outside the
layers (embeddings, the final norm), may come from another source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import InspectError, ModelcardsError
from modelcards.safeio.yamlsafe import load_yaml

__all__ = ["MERGE_CONFIG", "MAX_SOURCES", "MergeConfig", "MergeSource", "read_merge_config"]

MERGE_CONFIG = "mergekit_config.yml"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_SOURCES = 8  # each costs a pass over its weights and the merge's; the rest are listed unread
MAX_LISTED = 64  # sources kept from the config at all (a hostile one may name thousands)
MAX_LAYERS = 100_000  # a layer_range beyond this is no real model's


@dataclass(frozen=True)
class Placement:
    """A slice of a source's layers and where the slice sits in the merge."""

    start: int
    end: int
    merged_start: int


@dataclass(frozen=True)
class MergeSource:
    """One model the config names, with every role it plays there."""

    reference: str  # as written in the config
    roles: tuple[str, ...]  # "models", "slices", "base_model"
    placements: tuple[Placement, ...] = ()  # from slices; none: the merge's layers are its own

    @property
    def aligned_layers(self) -> frozenset[int] | None:
        """The layers to judge it by: those of its slices that kept their place in the merge (the
        rest of the merge's layers come from other slices); None: all (no slices name it)."""
        if not self.placements:
            return None
        return frozenset(
            i for p in self.placements if p.start == p.merged_start for i in range(p.start, p.end)
        )

    @property
    def comparable(self) -> bool:
        """Whether any of its layers can be compared by tensor name (none when all moved)."""
        aligned = self.aligned_layers
        return aligned is None or bool(aligned)

    @property
    def moved(self) -> str:
        """The moved ranges as a reader sees them: "layers 8–24 at 16–32"."""
        return ", ".join(
            f"layers {p.start}–{p.end} at {p.merged_start}–{p.merged_start + p.end - p.start}"
            for p in self.placements
            if p.start != p.merged_start
        )


@dataclass(frozen=True)
class MergeConfig:
    file: str
    method: str | None
    sources: tuple[MergeSource, ...]  # in the order the config first names them
    left_out: int = 0  # sources past MAX_LISTED, not even listed


def read_merge_config(snapshot: Snapshot) -> MergeConfig | None:
    """The config's sources; None when the folder has no readable mergekit config (the recipe
    already notes one that is malformed or only a pointer)."""
    entry = snapshot.entry(MERGE_CONFIG)
    if entry is None or entry.lfs_pointer:
        return None
    try:
        data = snapshot.read_bytes(MERGE_CONFIG, max_bytes=MAX_CONFIG_BYTES)
        config = load_yaml(data.decode("utf-8"), file=MERGE_CONFIG, error=InspectError)
    except (ModelcardsError, UnicodeDecodeError):
        return None
    if not isinstance(config, dict):
        return None
    roles: dict[str, list[str]] = {}
    placements: dict[str, list[Placement]] = {}

    def named(value: Any, role: str) -> str | None:
        if (
            not isinstance(value, str)
            or not value.strip()
            or len(value) > 1024
            or any(ord(c) < 32 for c in value)  # no name a card or a path can hold
        ):
            return None
        reference = value.strip()
        if role not in roles.setdefault(reference, []):
            roles[reference].append(role)
        return reference

    for item in _list(config.get("models")):
        if isinstance(item, dict):
            named(item.get("model"), "models")
    merged_at = 0
    for piece in _list(config.get("slices")):
        sources = _list(piece.get("sources")) if isinstance(piece, dict) else []
        length = None
        for item in sources:
            if not isinstance(item, dict):
                continue
            reference = named(item.get("model"), "slices")
            span = _range(item.get("layer_range"))
            if reference is not None and span is not None:
                placements.setdefault(reference, []).append(Placement(*span, merged_at))
                length = span[1] - span[0] if length is None else length
        merged_at += length or 0
    named(config.get("base_model"), "base_model")
    method = config.get("merge_method")
    found = tuple(
        MergeSource(reference, tuple(r), tuple(placements.get(reference, ())))
        for reference, r in roles.items()
    )
    return MergeConfig(
        MERGE_CONFIG,
        method if isinstance(method, str) else None,
        found[:MAX_LISTED],
        max(0, len(found) - MAX_LISTED),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _range(value: Any) -> tuple[int, int] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] < value[1] <= MAX_LAYERS
    ):
        return value[0], value[1]
    return None
