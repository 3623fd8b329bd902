"""Planning: which tensors are compared with which, or skipped and why, cut into work units.

Dense models pair tensors by name (and across a rename, as the header diff does); an adapter's
LoRA factors are grouped by module and paired with the base tensor they patch. Each pair becomes
a result row and units of about `chunk_bytes`, in name order, so the sums come out the same
whatever the number of workers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from modelcards.compare.deep.dense import Dense
from modelcards.compare.deep.dtypes import SUPPORTED_DTYPES, itemsize_of
from modelcards.compare.deep.lora import MAX_FACTOR_BYTES, Lora
from modelcards.compare.deep.narrow import NARROW
from modelcards.compare.deep.reading import Files
from modelcards.compare.deep.sketch import MAX_INPUT, Sketch
from modelcards.compare.deep.summary import Kind
from modelcards.compare.tensors import PEFT_PREFIX, base_tensor_for_adapter, match_renames
from modelcards.inspect.facts import TensorInfo

__all__ = ["Plan", "plan_adapter", "plan_dense", "sketch_for"]

MIN_SKETCH_SIDE = 8  # a smaller matrix's rank says nothing about LoRA


def sketch_for(base: TensorInfo, tuned: TensorInfo) -> Sketch | None:
    """The rank sketch of a matrix pair, or None: not 2-D, too narrow or too wide, or a narrow
    format whose lane order would split a row (`dense`)."""
    if len(tuned.shape) != 2 or base.shape != tuned.shape:
        return None
    rows, cols = tuned.shape
    if min(rows, cols) < MIN_SKETCH_SIDE or cols > MAX_INPUT:
        return None
    fmt = NARROW.get(base.dtype) if base.dtype == tuned.dtype else None
    if fmt is not None and cols % fmt.lanes:
        return None
    return Sketch(rows, cols)


def _label(info: TensorInfo) -> str:
    return f"{info.dtype}[{', '.join(str(d) for d in info.shape)}]"


LORA_PART = re.compile(
    r"^(?P<module>.+)\.(?P<part>lora_A|lora_B|lora_embedding_A|lora_embedding_B)"
    r"(?:\.[A-Za-z0-9_]+)?(?:\.weight)?$"
)


def _pattern_value(patterns: Mapping[str, Any], module: str) -> Any:
    """PEFT's alpha_pattern: a key names the module or its dotted tail. PEFT reads keys as
    regular expressions; we match them literally, so a hostile pattern cannot hang the tool."""
    for key, value in patterns.items():
        if isinstance(key, str) and (module == key or module.endswith("." + key)):
            return value
    return None


class Plan:
    def __init__(self, chunk_bytes: int, block_bytes: int, rank_sketch: bool = True) -> None:
        self.rank_sketch = rank_sketch
        self.chunk_bytes = max(1, chunk_bytes)
        self.block_bytes = max(1, block_bytes)
        self.rows: list[dict[str, Any]] = []  # TensorChange fields, filled as units finish
        self.units: list[tuple[int, Dense | Lora]] = []  # (row index, unit)

    def row(
        self,
        name: str,
        base_name: str,
        kind: Kind,
        before: str,
        after: str,
        numel: int,
        reason: str | None = None,
    ) -> int:
        """A result row: "equal" until its units report, or "skipped" with the reason."""
        status = "equal" if reason is None else "skipped"
        self.rows.append(
            dict(name=name, base_name=base_name, kind=kind, status=status, before=before,
                 after=after, numel=numel, reason=reason)
        )  # fmt: skip
        return len(self.rows) - 1

    def skip(
        self,
        name: str,
        base_name: str,
        kind: Kind,
        before: str,
        after: str,
        numel: int,
        reason: str,
    ) -> None:
        self.row(name, base_name, kind, before, after, numel, reason)

    def dense(self, name: str, base_name: str, base: Files, tuned: Files, kind: Kind) -> None:
        b, t = base.facts.weights.tensors[base_name], tuned.facts.weights.tensors[name]
        before, after = _label(b), _label(t)
        for side, info in (("base", b), ("tuned", t)):
            if info.dtype not in SUPPORTED_DTYPES:
                self.skip(
                    name,
                    base_name,
                    kind,
                    before,
                    after,
                    t.numel,
                    f"{side} dtype {info.dtype} is not supported by the deep compare",
                )
                return
        if b.shape != t.shape:
            self.skip(
                name,
                base_name,
                kind,
                before,
                after,
                t.numel,
                "shape differs: contents not compared",
            )
            return
        index = self.row(name, base_name, kind, before, after, t.numel)
        self.rows[index]["dims"] = len(t.shape)
        base_loc, tuned_loc = base.loc(base_name), tuned.loc(name)
        width = max(itemsize_of(b.dtype), itemsize_of(t.dtype))
        per_chunk = max(1, self.chunk_bytes // width)
        block = max(1, self.block_bytes // width)
        sketch = sketch_for(b, t) if kind == "dense" and self.rank_sketch else None
        if sketch is not None:  # whole rows in every unit and block
            per_chunk = max(1, per_chunk // sketch.cols) * sketch.cols
            block = max(1, block // sketch.cols) * sketch.cols
            self.rows[index]["sketch"] = sketch
        for first in range(0, t.numel, per_chunk):
            count = min(per_chunk, t.numel - first)
            self.units.append((index, Dense(base_loc, tuned_loc, first, count, block, sketch)))

    def lora(
        self,
        module: str,
        parts: Mapping[str, str],
        base_name: str,
        base: Files,
        tuned: Files,
        adapter: Mapping[str, Any],
    ) -> None:
        a_name = parts.get("lora_A") or parts.get("lora_embedding_A")
        b_name = parts.get("lora_B") or parts.get("lora_embedding_B")
        name = module
        if a_name is None or b_name is None:
            self.skip(name, base_name, "lora", "", "", 0, "lora_A or lora_B is missing")
            return
        a, b = tuned.facts.weights.tensors[a_name], tuned.facts.weights.tensors[b_name]
        w = base.facts.weights.tensors[base_name]
        r = a.shape[0] if a.shape else 0
        patterns = adapter.get("alpha_pattern")
        alpha = _pattern_value(patterns if isinstance(patterns, dict) else {}, module)
        alpha = adapter.get("lora_alpha", r) if alpha is None else alpha
        rslora = adapter.get("use_rslora") is True
        before = _label(w)
        numel = w.numel
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not r:
            self.skip(
                name,
                base_name,
                "lora",
                before,
                f"lora r={r}",
                numel,
                f"adapter_config.json: lora_alpha {alpha!r} is not a number",
            )
            return
        scale = float(alpha) / (math.sqrt(r) if rslora else r)
        after = f"lora r={r} alpha={alpha:g}{' rslora' if rslora else ''} scale={scale:g}"
        for info in (a, b, w):
            if info.dtype not in SUPPORTED_DTYPES:
                self.skip(
                    name,
                    base_name,
                    "lora",
                    before,
                    after,
                    numel,
                    f"dtype {info.dtype} of {info.name} is not supported by the deep compare",
                )
                return
        if len(a.shape) != 2 or len(b.shape) != 2 or len(w.shape) != 2 or b.shape[1] != r:
            self.skip(
                name,
                base_name,
                "lora",
                before,
                after,
                numel,
                "LoRA factors are not matrices of a common rank",
            )
            return
        if max(a.numel, b.numel) * 4 > MAX_FACTOR_BYTES:  # both factors are held as float32
            self.skip(
                name,
                base_name,
                "lora",
                before,
                after,
                numel,
                f"LoRA factors larger than {MAX_FACTOR_BYTES >> 20} MB are not compared",
            )
            return
        if (b.shape[0], a.shape[1]) == w.shape:
            transposed = False
        elif (a.shape[1], b.shape[0]) == w.shape:
            transposed = True  # fan_in_fan_out (GPT-2 Conv1D) and embeddings store W as [in, out]
        else:
            self.skip(
                name,
                base_name,
                "lora",
                before,
                after,
                numel,
                f"B·A is [{b.shape[0]}, {a.shape[1]}] but the base tensor is {before}",
            )
            return
        if bool(adapter.get("use_dora")):
            self.skip(
                name,
                base_name,
                "lora",
                before,
                after,
                numel,
                "DoRA rescales the merged weight: its delta is not B·A (not compared)",
            )
            return
        index = self.row(name, base_name, "lora", before, after, numel)
        self.rows[index]["dims"] = 2
        base_loc, a_loc, b_loc = base.loc(base_name), tuned.loc(a_name), tuned.loc(b_name)
        rows, cols = w.shape
        row_bytes = max(1, cols * 4)  # the float32 delta dominates
        per_chunk = max(1, self.chunk_bytes // row_bytes)
        block = max(1, self.block_bytes // 4)
        for first in range(0, rows, per_chunk):
            self.units.append(
                (
                    index,
                    Lora(
                        base_loc,
                        a_loc,
                        b_loc,
                        scale,
                        transposed,
                        first,
                        min(per_chunk, rows - first),
                        block,
                    ),
                )
            )


def plan_dense(plan: Plan, base: Files, tuned: Files) -> tuple[str, ...]:
    base_names, tuned_names = set(base.facts.weights.tensors), set(tuned.facts.weights.tensors)
    base_only, tuned_only = base_names - tuned_names, tuned_names - base_names
    renamed, _renames = match_renames(base_only, tuned_only)
    pairs = {name: name for name in base_names & tuned_names} | renamed
    for tuned_name, base_name in sorted(pairs.items()):
        plan.dense(tuned_name, base_name, base, tuned, "dense")
    not_compared = (base_only - set(renamed.values())) | (tuned_only - set(renamed))
    return tuple(sorted(not_compared))


def plan_adapter(plan: Plan, base: Files, tuned: Files) -> tuple[str, ...]:
    adapter = tuned.facts.adapter or {}
    base_tensors = base.facts.weights.tensors
    groups: dict[str, dict[str, str]] = {}
    not_compared: list[str] = []
    for name in sorted(tuned.facts.weights.tensors):
        found = base_tensor_for_adapter(name)
        stripped = name[len(PEFT_PREFIX) :] if name.startswith(PEFT_PREFIX) else name
        if found is None and stripped in base_tensors:
            found = ("replace", stripped)
        if found is None:
            not_compared.append(name)
            continue
        kind, base_name = found
        if base_name not in base_tensors:
            info = tuned.facts.weights.tensors[name]
            plan.skip(
                name,
                base_name,
                "lora" if kind == "delta" else "replaced",
                "",
                _label(info),
                info.numel,
                "no base tensor of that name",
            )
            continue
        if kind == "replace":
            plan.dense(name, base_name, base, tuned, "replaced")
            continue
        match = LORA_PART.match(stripped)
        if match is None:
            info = tuned.facts.weights.tensors[name]
            plan.skip(
                name,
                base_name,
                "lora",
                _label(base_tensors[base_name]),
                _label(info),
                info.numel,
                "adapter tensor kind not supported by the deep compare "
                "(only LoRA A/B factors and modules_to_save)",
            )
            continue
        groups.setdefault(match.group("module"), {})[match.group("part")] = name
    for module, parts in sorted(groups.items()):
        found = base_tensor_for_adapter(next(iter(parts.values())))
        assert found is not None
        plan.lora(module, parts, found[1], base, tuned, adapter)
    return tuple(not_compared)
