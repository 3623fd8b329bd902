"""Compare two weight summaries tensor by tensor, after matching systematic renames.

A task head that wraps the backbone renames every tensor (`embeddings.x` → `bert.embeddings.x`);
a PEFT adapter names its tensors after the base module it patches. Both are matched up here so a
reader sees "197 tensors renamed by prefix" rather than two lists of a hundred names.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from modelcards.compare.model import AdapterWeights, TensorDelta, TensorRename, WeightsDiff
from modelcards.inspect.facts import TensorInfo, WeightsSummary

PEFT_PREFIX = "base_model.model."
# lora_A / lora_B / lora_embedding_A / lora_magnitude_vector / ia3_l / ..., optionally `.default`
ADAPTER_PART = re.compile(
    r"\.(lora_[A-Za-z_]+|ia3_l|hada_[a-z0-9_]+|lokr_[a-z0-9_]+|oft_[a-z_]+|vera_[a-z_]+)"
    r"(\.[A-Za-z0-9_]+)?(\.weight|\.bias)?$"
)
MODULES_TO_SAVE = re.compile(r"\.modules_to_save(\.[A-Za-z0-9_]+)?\.")
# buffers transformers rebuilds at load time, saved by some versions and dropped by others:
# not parameters, so never counted, and one side having one is no change of the model
BUFFER = re.compile(r"(^|\.)(position_ids|rotary_emb\.inv_freq)$")
MIN_SHARED_PARTS = 2  # a rename must keep at least "module.weight" in common


def _label(t: TensorInfo) -> str:
    return f"{t.dtype}[{', '.join(str(d) for d in t.shape)}]"


def _suffixes(name: str) -> list[tuple[str, str]]:
    """(prefix, rest) splits at dots, longest rest first, rest keeping ≥ MIN_SHARED_PARTS parts."""
    starts = [0]  # where each part starts: slices, not joins (a 70B pair has 1,446 names)
    dot = name.find(".")
    while dot != -1:
        starts.append(dot + 1)
        dot = name.find(".", dot + 1)
    return [(name[:i], name[i:]) for i in starts[: max(len(starts) - MIN_SHARED_PARTS + 1, 0)]]


def match_renames(
    base_only: set[str], tuned_only: set[str]
) -> tuple[dict[str, str], tuple[TensorRename, ...]]:
    """Map tuned name → base name for tensors renamed by a common prefix swap."""
    rests: dict[str, list[tuple[str, str]]] = {}
    for name in base_only:
        for prefix, rest in _suffixes(name):
            rests.setdefault(rest, []).append((prefix, name))
    candidates: dict[
        str, tuple[str, str, str]
    ] = {}  # tuned name -> (base_prefix, tuned_prefix, base)
    for name in tuned_only:
        for tuned_prefix, rest in _suffixes(name):  # longest shared rest wins
            hits = rests.get(rest)
            if hits and len(hits) == 1:
                base_prefix, base_name = hits[0]
                candidates[name] = (base_prefix, tuned_prefix, base_name)
                break
    counts = Counter((bp, tp) for bp, tp, _ in candidates.values())
    mapping: dict[str, str] = {}
    renames: list[TensorRename] = []
    used: set[str] = set()
    for (base_prefix, tuned_prefix), count in counts.most_common():
        if count < 2:
            break
        matched = 0
        for tuned_name, (bp, tp, base_name) in sorted(candidates.items()):
            if (bp, tp) == (base_prefix, tuned_prefix) and base_name not in used:
                mapping[tuned_name] = base_name
                used.add(base_name)
                matched += 1
        renames.append(TensorRename(base_prefix, tuned_prefix, matched))
    renames.sort(key=lambda r: (-r.count, r.base_prefix, r.tuned_prefix))
    return mapping, tuple(renames)


def compare_weights(
    base: WeightsSummary, tuned: WeightsSummary, *, tuned_is_adapter: bool
) -> WeightsDiff:
    """The tensor-level diff, claiming only what both sides' coverage lets it see.

    A tensor either side's index places in a missing or pointer-only shard is never added,
    removed or reshaped; extra tensors on one side count as added/removed only when the other
    side's tensor names are all known. An adapter's summary needs all its tensors read.
    """
    base_by_dtype, tuned_by_dtype = _params_by_dtype(base), _params_by_dtype(tuned)
    common = dict(
        base_params=sum(base_by_dtype.values()),  # every parameter has one dtype
        tuned_params=sum(tuned_by_dtype.values()),
        base_params_by_dtype=base_by_dtype,
        tuned_params_by_dtype=tuned_by_dtype,
        opaque_files=()  # an adapter and a full model have different files by nature
        if tuned_is_adapter
        else _compare_opaque(base, tuned),
        headers_read=bool(base.files or tuned.files),
        coverage=(base.coverage, tuned.coverage),
    )
    if tuned_is_adapter:
        adapter = (
            _adapter_weights(base.tensors, tuned.tensors)
            if tuned.tensors and tuned.coverage.tensors_complete
            else None
        )
        return WeightsDiff(**common, adapter=adapter)  # type: ignore[arg-type]
    unseen = base.coverage.unseen_tensors | tuned.coverage.unseen_tensors
    base_only = set(base.tensors) - set(tuned.tensors) - unseen
    tuned_only = set(tuned.tensors) - set(base.tensors) - unseen
    renamed, renames = match_renames(base_only, tuned_only)
    pairs = {name: name for name in set(base.tensors) & set(tuned.tensors)} | renamed
    reshaped, retyped = [], []
    for tuned_name, base_name in sorted(pairs.items()):
        before, after = base.tensors[base_name], tuned.tensors[tuned_name]
        if before.shape != after.shape:
            reshaped.append(TensorDelta(tuned_name, _label(before), _label(after)))
        elif before.dtype != after.dtype:
            retyped.append(TensorDelta(tuned_name, _label(before), _label(after)))
    added = tuned_only - set(renamed) if base.coverage.names_known else set()
    removed = base_only - set(renamed.values()) if tuned.coverage.names_known else set()
    buffers = {n for n in added | removed if BUFFER.search(n)}
    added, removed = added - buffers, removed - buffers
    return WeightsDiff(
        **common,  # type: ignore[arg-type]
        matched=len(pairs),
        renames=renames,
        added=tuple(sorted(added)),
        removed=tuple(sorted(removed)),
        reshaped=tuple(reshaped),
        retyped=tuple(retyped),
        buffers=tuple(sorted(buffers)),
    )


def _params_by_dtype(summary: WeightsSummary) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, tensor in summary.tensors.items():
        if not BUFFER.search(name):
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.numel
    return dict(sorted(counts.items()))


def base_tensor_for_adapter(name: str) -> tuple[str, str] | None:
    """('delta' | 'replace', base tensor name) for a PEFT tensor name, else None."""
    stripped = name[len(PEFT_PREFIX) :] if name.startswith(PEFT_PREFIX) else name
    if MODULES_TO_SAVE.search(stripped):
        return "replace", MODULES_TO_SAVE.sub(".", stripped)
    match = ADAPTER_PART.search(stripped)
    if match:
        return "delta", stripped[: match.start()] + ".weight"
    return None


def _adapter_weights(
    base: Mapping[str, TensorInfo], adapter: Mapping[str, TensorInfo]
) -> AdapterWeights:
    targeted: set[str] = set()
    replaced: set[str] = set()
    unmatched: list[str] = []
    for name in adapter:
        found = base_tensor_for_adapter(name)
        stripped = name[len(PEFT_PREFIX) :] if name.startswith(PEFT_PREFIX) else name
        if found is None:
            # modules_to_save saved under their plain name (e.g. lm_head.weight) replace the base's
            if stripped in base:
                replaced.add(stripped)
            else:
                unmatched.append(name)
            continue
        kind, base_name = found
        if base and base_name not in base:
            unmatched.append(name)
        (targeted if kind == "delta" else replaced).add(base_name)
    return AdapterWeights(
        trainable_params=sum(t.numel for t in adapter.values()),
        adapter_tensors=len(adapter),
        targeted_base_tensors=tuple(sorted(targeted)),
        replaced_base_tensors=tuple(sorted(replaced)),
        unmatched=tuple(sorted(unmatched)),
    )


def _compare_opaque(base: WeightsSummary, tuned: WeightsSummary) -> tuple[dict[str, Any], ...]:
    """Weight files we can only compare by size and sha256 (LFS pointers, pickle checkpoints).

    A file the other side expects too (read there, or named by its index but missing) is
    "not compared" rather than added or removed: it is there, or meant to be, on both sides.
    """
    before = {w.file: w for w in base.opaque}
    after = {w.file: w for w in tuned.opaque}
    rows = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        reason = (a or b).reason  # type: ignore[union-attr]
        if b and a and b.sha256 and a.sha256:
            status = "same" if (b.sha256, b.size) == (a.sha256, a.size) else "changed"
        elif b and a:
            status = "changed" if b.size != a.size else "not compared"  # no hashes known
        else:
            other, side = (base.coverage, "base") if a else (tuned.coverage, "fine-tune")
            if name in other.missing:
                status, reason = "not compared", f"the {side} index names it; not in its folder"
            elif other.state == "absent":
                status, reason = "not compared", f"the {side} folder holds no weight files"
            elif name in other.read:
                status, reason = "not compared", f"{reason}; the {side} copy's header was read"
            else:
                status = "added" if a else "removed"
        rows.append({
            "file": name, "status": status,
            "before": None if b is None else {"size": b.size, "sha256": b.sha256},
            "after": None if a is None else {"size": a.size, "sha256": a.sha256},
            "reason": reason,
        })  # fmt: skip
    return tuple(rows)
