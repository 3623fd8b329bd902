"""Deep compare: what changed *inside* the weights, tensor by tensor, streamed.

For each tensor present in both models (after the same rename matching as the header diff) the
contents are read side by side in small blocks and reduced to three numbers: elements that
differ, ‖W_base‖² and ‖W_tuned − W_base‖² (Frobenius, accumulated in float64). For a PEFT LoRA
adapter the tuned side is the adapter delta ΔW = B·A·scale, computed a few rows at a time against
the base tensor. Memory stays flat whatever the model size: the files are memory-mapped and read
at the offsets the safetensors header gives, and the pages of each finished chunk are dropped
from the resident set (`MADV_DONTNEED`; they stay in the page cache). `read_mode="pread"` copies
blocks into reused buffers instead; a snapshot without a local file is read through its own
bounded reads.

Work is split into chunks of about `chunk_bytes` and spread over a thread pool: numpy and the
reads release the GIL, so several cores can work without pickling anything. Within a chunk,
blocks of `block_bytes` keep every numpy pass inside the CPU cache.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from modelcards.compare.tensors import PEFT_PREFIX, base_tensor_for_adapter, match_renames
from modelcards.inspect.facts import ModelFacts, TensorInfo
from modelcards.inspect.safetensors_header import read_safetensors_header
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import InspectError
from modelcards.safeio.progress import Progress

__all__ = [
    "DeepDiff",
    "GroupDelta",
    "TensorChange",
    "deep_compare",
    "layer_of",
    "module_of",
]

CHUNK_BYTES = 32 * 1024 * 1024  # one unit of work (scheduling, progress, page release)
BLOCK_BYTES = 512 * 1024  # one numpy pass: small enough to stay in the CPU cache
MAX_FACTOR_BYTES = 256 * 1024 * 1024  # a LoRA A or B factor is held whole, as float32
ReadMode = Literal["pread", "mmap"]
Status = Literal["equal", "changed", "skipped"]
Kind = Literal["dense", "lora", "replaced"]

# ---------------------------------------------------------------------------------------------
# dtypes


def _f8_table(exponent_bits: int, mantissa_bits: int, *, ieee_specials: bool) -> np.ndarray:
    """Value of every byte of an 8-bit float (E4M3 'fn': no infinities, S.1111.111 is NaN)."""
    bias = (1 << (exponent_bits - 1)) - 1
    table = np.empty(256, dtype=np.float32)
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exponent = (byte >> mantissa_bits) & ((1 << exponent_bits) - 1)
        mantissa = byte & ((1 << mantissa_bits) - 1)
        top = (1 << exponent_bits) - 1
        if ieee_specials and exponent == top:
            value = math.inf if mantissa == 0 else math.nan
        elif not ieee_specials and exponent == top and mantissa == (1 << mantissa_bits) - 1:
            value = math.nan
        elif exponent == 0:
            value = mantissa / (1 << mantissa_bits) * 2.0 ** (1 - bias)
        else:
            value = (1 + mantissa / (1 << mantissa_bits)) * 2.0 ** (exponent - bias)
        table[byte] = sign * value
    return table


F8_TABLES = {
    "F8_E4M3": _f8_table(4, 3, ieee_specials=False),
    "F8_E5M2": _f8_table(5, 2, ieee_specials=True),
}
# storage (unsigned view used for bitwise equality), then the float type values are widened to
_STORAGE = {
    "F64": ("<u8", "<f8", np.float64), "F32": ("<u4", "<f4", np.float32),
    "F16": ("<u2", "<f2", np.float32), "BF16": ("<u2", None, np.float32),
    "F8_E4M3": ("u1", None, np.float32), "F8_E5M2": ("u1", None, np.float32),
    "I64": ("<u8", "<i8", np.float64), "U64": ("<u8", "<u8", np.float64),
    "I32": ("<u4", "<i4", np.float64), "U32": ("<u4", "<u4", np.float64),
    "I16": ("<u2", "<i2", np.float32), "U16": ("<u2", "<u2", np.float32),
    "I8": ("u1", "i1", np.float32), "U8": ("u1", "u1", np.float32),
    "BOOL": ("u1", "u1", np.float32),
}  # fmt: skip
SUPPORTED_DTYPES = frozenset(_STORAGE)


_UINT = {4: np.uint32, 8: np.uint64}
_ITEMSIZE = {dtype: np.dtype(spec[0]).itemsize for dtype, spec in _STORAGE.items()}


def _itemsize(dtype: str) -> int:
    return _ITEMSIZE[dtype]


_local = threading.local()


def _scratch(slot: str, dtype: Any, count: int) -> np.ndarray:
    """A per-thread reusable array: no allocation per block (big mallocs fault pages each time)."""
    pool: dict[tuple[str, Any], np.ndarray] | None = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (slot, dtype)
    array = pool.get(key)
    if array is None or array.size < count:
        array = pool[key] = np.empty(max(count, 1), dtype=dtype)
    return array[:count]


def as_float(raw: np.ndarray, dtype: str, slot: str = "x") -> np.ndarray:
    """Widen the stored values (`raw`: the unsigned storage view) to float32/float64.

    BF16 is the top half of a float32: widen to uint32, shift left 16, view as float32 (exact).
    The result may be a per-thread scratch buffer that the next call with the same `slot`
    overwrites: copy it to keep it.
    """
    storage, view, wide = _STORAGE[dtype]
    if dtype == "BF16":
        out = _scratch(slot, np.uint32, raw.size)
        np.left_shift(raw, 16, out=out, dtype=np.uint32)
        return out.view(np.float32)
    if dtype in F8_TABLES:
        out = _scratch(slot, np.float32, raw.size)
        return F8_TABLES[dtype].take(raw, out=out)
    assert view is not None
    values = raw.view(view)
    if values.dtype == wide:
        return values
    out = _scratch(slot, wide, raw.size)
    np.copyto(out, values, casting="unsafe")
    return out


def _sum_squares(values: np.ndarray) -> float:
    """Σx² of one block: a BLAS dot in the block's precision, returned as a Python float."""
    flat = values.reshape(-1)
    return float(np.dot(flat, flat))


# ---------------------------------------------------------------------------------------------
# names → layer, module

LAYER = re.compile(r"(?:^|\.)(?:layers|layer|h|blocks|block)\.(\d+)\.")
STACK = re.compile(r"(?:^|\.)(encoder|decoder|vision_model|text_model|vision_tower)\.")
MODULE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (module, re.compile(pattern))
    for module, pattern in (
        ("norm", r"(norm|ln_\w+|ln\d*|layernorm|LayerNorm)(\.|$)"),
        ("embed", r"(embed\w*|wte|wpe|shared)\.(weight|lora_\w+)"),
        ("head", r"(^|\.)(lm_head|classifier|score|qa_outputs|cls|pooler|embed_out)\."),
        ("attn.qkv", r"\.(qkv_proj|c_attn|query_key_value|Wqkv|qkv|in_proj)(\.|_weight)"),
        ("attn.q", r"\.(q_proj|query|wq|q_lin|q)\."),
        ("attn.k", r"\.(k_proj|key|wk|k_lin|k)\."),
        ("attn.v", r"\.(v_proj|value|wv|v_lin|v)\."),
        (
            "attn.o",
            r"(attn|attention|Attention)\w*\.(o_proj|out_proj|c_proj|dense|wo|o|out_lin|"
            r"output\.dense)\.",
        ),
        ("mlp.gate", r"\.(gate_proj|w1|wi_0|gate)\."),
        ("mlp.up", r"\.(up_proj|w3|wi_1|wi|c_fc|fc1|dense_h_to_4h|intermediate\.dense|lin1)\."),
        ("mlp.down", r"\.(down_proj|w2|fc2|dense_4h_to_h|output\.dense|lin2|mlp\.c_proj)\."),
        ("mlp.fc", r"(mlp|ffn|feed_forward|DenseReluDense)\w*\.\w+\."),
    )
)
MODULES = (
    "embed", "attn.q", "attn.k", "attn.v", "attn.qkv", "attn.o",
    "mlp.gate", "mlp.up", "mlp.down", "mlp.fc", "norm", "head", "other",
)  # fmt: skip


def module_of(name: str) -> str:
    """Module type of a tensor from its name (`model.layers.3.self_attn.q_proj.weight` → attn.q)."""
    stripped = name[len(PEFT_PREFIX) :] if name.startswith(PEFT_PREFIX) else name
    if stripped.endswith("DenseReluDense.wo.weight"):
        return "mlp.down"
    for module, pattern in MODULE_RULES:
        if pattern.search(stripped):
            return module
    return "other"


def layer_of(name: str) -> tuple[str, int] | None:
    """(stack, index) of the block a tensor belongs to: `h.3.` → ("", 3); None outside blocks."""
    match = LAYER.search(name)
    if match is None:
        return None
    stack = STACK.search(name[: match.start() + 1])
    return (stack.group(1) if stack else "", int(match.group(1)))


# ---------------------------------------------------------------------------------------------
# results


def _ratio(part: float, whole: float) -> float | None:
    if whole > 0:
        return part / whole
    return 0.0 if part == 0 else None  # a change of an all-zero tensor has no relative size


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


class _Figures:
    """‖ΔW‖/‖W‖ and the share of elements changed, from the sums every result row carries."""

    delta_sq: float
    base_sq: float
    changed_elements: int
    numel: int

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


# ---------------------------------------------------------------------------------------------
# reading


class _File:
    """Byte ranges of one weights file: `pread` or `mmap` on a local file, else the snapshot."""

    def __init__(self, snapshot: Snapshot, path: str, mode: ReadMode) -> None:
        self.snapshot = snapshot
        self.path = path
        self.mode = mode
        self.fd: int | None = None
        self.map: mmap.mmap | None = None
        self.lock = threading.Lock()
        local = snapshot.local_file(path)
        if local is not None:
            self.fd = os.open(local, os.O_RDONLY)
            if mode == "mmap" and os.fstat(self.fd).st_size > 0:
                self.map = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)

    def read(self, offset: int, count: int, slot: str) -> np.ndarray:
        """`count` bytes at `offset` as a uint8 array (valid until this thread's next read)."""
        if self.map is not None:
            return np.frombuffer(self.map, dtype=np.uint8, count=count, offset=offset)
        out = _scratch(slot, np.uint8, count)
        if self.fd is not None:
            view = memoryview(out)  # type: ignore[arg-type]
            done = 0
            while done < count:
                got = os.preadv(self.fd, [view[done:]], offset + done)
                if got <= 0:
                    raise InspectError(
                        f"file ends inside tensor data at byte {offset + done:,}", file=self.path
                    )
                done += got
            return out
        with self.lock:  # snapshots other than folders are not promised to be thread-safe
            data = self.snapshot.read_range(self.path, offset, count)
        if len(data) != count:
            raise InspectError(
                f"file ends inside tensor data at byte {offset + len(data):,}", file=self.path
            )
        out[:] = np.frombuffer(data, dtype=np.uint8)
        return out

    def release(self, offset: int, count: int) -> None:
        """Drop mapped pages of a finished chunk from our resident set (they stay in page cache)."""
        if self.map is None or count <= 0 or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        start = offset // page * page
        end = min(len(self.map), -(-(offset + count) // page) * page)
        self.map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def close(self) -> None:
        if self.map is not None:
            with contextlib.suppress(BufferError):  # a view still alive: the GC unmaps it
                self.map.close()
        if self.fd is not None:
            os.close(self.fd)


@dataclass(frozen=True)
class _Loc:
    """Where one tensor's bytes are."""

    file: _File
    offset: int  # absolute file offset of the first byte
    info: TensorInfo

    @property
    def nbytes(self) -> int:
        return self.info.numel * _itemsize(self.info.dtype)

    def read(self, first: int, count: int, slot: str) -> np.ndarray:
        """Elements [first, first + count) in their unsigned storage type."""
        size = _itemsize(self.info.dtype)
        raw = self.file.read(self.offset + first * size, count * size, slot)
        return raw.view(_STORAGE[self.info.dtype][0])


class _Files:
    """Opened weight files and header offsets of one snapshot, checked against its facts."""

    def __init__(self, snapshot: Snapshot, facts: ModelFacts, mode: ReadMode) -> None:
        self.snapshot = snapshot
        self.facts = facts
        self.mode = mode
        self.opened: dict[str, _File] = {}
        self.offsets: dict[str, dict[str, tuple[int, int]]] = {}
        self.header_sizes: dict[str, int] = {}

    def loc(self, name: str) -> _Loc:
        info = self.facts.weights.tensors[name]
        if info.file not in self.opened:
            header = read_safetensors_header(self.snapshot, info.file)
            self.offsets[info.file] = dict(header.offsets)
            self.header_sizes[info.file] = header.header_size
            self.opened[info.file] = _File(self.snapshot, info.file, self.mode)
            listed = {t.name: t for t in header.tensors}
            for tensor_name, tensor in self.facts.weights.tensors.items():
                if tensor.file == info.file and listed.get(tensor_name) != tensor:
                    raise InspectError(
                        f"tensor {tensor_name!r} differs from when the model was inspected",
                        file=info.file,
                    )
        begin, _end = self.offsets[info.file][name]
        return _Loc(self.opened[info.file], self.header_sizes[info.file] + begin, info)

    def close(self) -> None:
        for handle in self.opened.values():
            handle.close()


# ---------------------------------------------------------------------------------------------
# work units: each returns (changed elements, Σ base², Σ delta²) for a slice of one tensor


@dataclass(frozen=True)
class _Dense:
    base: _Loc
    tuned: _Loc
    first: int  # element range
    count: int
    block: int  # elements per numpy pass

    @property
    def nbytes(self) -> int:
        return self.count * (_itemsize(self.base.info.dtype) + _itemsize(self.tuned.info.dtype))

    def run(self) -> tuple[int, float, float]:
        if self.base.info.dtype == self.tuned.info.dtype == "BF16":
            totals = self._run_bf16()
        else:
            totals = self._run_blocks(self.first, self.first + self.count)
        for loc in (self.base, self.tuned):
            size = _itemsize(loc.info.dtype)
            loc.file.release(loc.offset + self.first * size, self.count * size)
        return totals

    def _run_bf16(self) -> tuple[int, float, float]:
        """The common case, kept lean. Read as uint32, each word holds two BF16 values:
        `word << 16` is the even one and `word & 0xFFFF0000` the odd one, both already float32
        bit patterns, which is cheaper than a uint16 → uint32 cast. The values come out in a
        fixed permutation (even elements, then odd), the same on both sides, which norms,
        differences and counts do not see. Per block: two reads, four uint32 passes, one
        subtraction, two dot products and an integer count."""
        file_a, file_b = self.base.file, self.tuned.file
        off_a, off_b = self.base.offset, self.tuned.offset
        block = max(2, self.block - self.block % 2)
        wide_a = _scratch("a", np.uint32, block)
        wide_b = _scratch("b", np.uint32, block)
        diff = _scratch("d", np.float32, block)
        mask = np.uint32(0xFFFF0000)
        changed, base_sq, delta_sq = 0, 0.0, 0.0
        end = self.first + self.count
        for start in range(self.first, end, block):
            n = min(block, end - start)
            if n % 2:  # an odd tail: the general path
                more = self._run_blocks(start, start + n)
                changed, base_sq, delta_sq = (
                    changed + more[0],
                    base_sq + more[1],
                    delta_sq + more[2],
                )
                continue
            half = n // 2
            words_a = file_a.read(off_a + 2 * start, 2 * n, "ra").view(np.uint32)
            words_b = file_b.read(off_b + 2 * start, 2 * n, "rb").view(np.uint32)
            a, b, d = wide_a[:n], wide_b[:n], diff[:n]
            np.left_shift(words_a, 16, out=a[:half])
            np.bitwise_and(words_a, mask, out=a[half:])
            np.left_shift(words_b, 16, out=b[:half])
            np.bitwise_and(words_b, mask, out=b[half:])
            fa, fb = a.view(np.float32), b.view(np.float32)
            base_sq += float(np.dot(fa, fa))
            np.subtract(fb, fa, out=d)
            block_sq = float(np.dot(d, d))
            delta_sq += block_sq
            if math.isfinite(block_sq):  # b − a is +0.0 exactly when b == a: count set words
                changed += int(np.count_nonzero(d.view(np.uint32)))
            else:  # NaN or inf about: compare the stored bits
                raw_a, raw_b = words_a.view(np.uint16), words_b.view(np.uint16)
                changed += int(np.count_nonzero(raw_a != raw_b))
        return changed, base_sq, delta_sq

    def _run_blocks(self, first: int, end: int) -> tuple[int, float, float]:
        """Any pair of supported dtypes, elements [first, end), widened in order."""
        same_type = self.base.info.dtype == self.tuned.info.dtype
        changed, base_sq, delta_sq = 0, 0.0, 0.0
        for start in range(first, end, self.block):
            n = min(self.block, end - start)
            raw_a = self.base.read(start, n, "ra")
            raw_b = self.tuned.read(start, n, "rb")
            a = as_float(raw_a, self.base.info.dtype, "a")
            b = as_float(raw_b, self.tuned.info.dtype, "b")
            base_sq += _sum_squares(a)
            wide = np.result_type(a.dtype, b.dtype)
            delta = np.subtract(b, a, out=_scratch("d", wide, n), dtype=wide)
            block_sq = _sum_squares(delta)
            delta_sq += block_sq
            if same_type and math.isfinite(block_sq):
                # finite values: b − a is +0.0 exactly when b == a, so the set bits of the
                # delta count the changed elements (an integer count is much cheaper than a
                # float one, and saves a separate comparison pass)
                changed += int(np.count_nonzero(delta.view(_UINT[delta.dtype.itemsize])))
            elif same_type:  # NaN or inf about: compare the stored bits
                differ = np.not_equal(raw_a, raw_b, out=_scratch("ne", np.bool_, n))
                changed += int(np.count_nonzero(differ))
            else:
                differ = np.not_equal(a, b, out=_scratch("ne", np.bool_, n))
                changed += int(np.count_nonzero(differ))
        return changed, base_sq, delta_sq


@dataclass(frozen=True)
class _Lora:
    """Rows [first, first + count) of W_base against ΔW = scale · B·A (or its transpose)."""

    base: _Loc  # [out, in], or [in, out] when `transposed`
    a: _Loc  # lora_A [r, in]
    b: _Loc  # lora_B [out, r]
    scale: float
    transposed: bool
    first: int
    count: int
    block: int

    @property
    def nbytes(self) -> int:
        row = self.base.info.shape[1] * _itemsize(self.base.info.dtype)
        return self.count * row + self.a.nbytes + self.b.nbytes

    def _factor(self, loc: _Loc, slot: str) -> np.ndarray:
        values = as_float(loc.read(0, loc.info.numel, "r" + slot), loc.info.dtype, slot)
        return np.array(values, dtype=np.float32).reshape(loc.info.shape)  # small; owned copy

    def run(self) -> tuple[int, float, float]:
        a = self._factor(self.a, "fa")  # [r, in]
        b = self._factor(self.b, "fb")  # [out, r]
        if self.transposed:  # rows of ΔWᵀ are columns of A: ΔWᵀ[i0:i1] = A[:, i0:i1]ᵀ · Bᵀ
            a, b = b.T.copy(), a.T.copy()  # now ΔW' = b' · a' with b' [in, r], a' [r, out]
        cols = self.base.info.shape[1]
        rows_per_block = max(1, self.block // max(cols, 1))
        changed, base_sq, delta_sq = 0, 0.0, 0.0
        end = self.first + self.count
        for row in range(self.first, end, rows_per_block):
            rows = min(rows_per_block, end - row)
            raw = self.base.read(row * cols, rows * cols, "ra")
            base_sq += _sum_squares(as_float(raw, self.base.info.dtype, "a"))
            delta = np.matmul(
                b[row : row + rows],
                a,
                out=_scratch("d", np.float32, rows * cols).reshape(rows, cols),
            )
            if self.scale != 1.0:
                delta *= np.float32(self.scale)
            changed += int(np.count_nonzero(delta))
            delta_sq += _sum_squares(delta)
        itemsize = _itemsize(self.base.info.dtype)
        self.base.file.release(
            self.base.offset + self.first * cols * itemsize, self.count * cols * itemsize
        )
        return changed, base_sq, delta_sq


# ---------------------------------------------------------------------------------------------
# planning


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


class _Plan:
    def __init__(self, chunk_bytes: int, block_bytes: int) -> None:
        self.chunk_bytes = max(1, chunk_bytes)
        self.block_bytes = max(1, block_bytes)
        self.rows: list[dict[str, Any]] = []  # TensorChange fields, filled as units finish
        self.units: list[tuple[int, _Dense | _Lora]] = []  # (row index, unit)

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

    def dense(self, name: str, base_name: str, base: _Files, tuned: _Files, kind: Kind) -> None:
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
        base_loc, tuned_loc = base.loc(base_name), tuned.loc(name)
        width = max(_itemsize(b.dtype), _itemsize(t.dtype))
        per_chunk = max(1, self.chunk_bytes // width)
        block = max(1, self.block_bytes // width)
        for first in range(0, t.numel, per_chunk):
            count = min(per_chunk, t.numel - first)
            self.units.append((index, _Dense(base_loc, tuned_loc, first, count, block)))

    def lora(
        self,
        module: str,
        parts: Mapping[str, str],
        base_name: str,
        base: _Files,
        tuned: _Files,
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
        base_loc, a_loc, b_loc = base.loc(base_name), tuned.loc(a_name), tuned.loc(b_name)
        rows, cols = w.shape
        row_bytes = max(1, cols * 4)  # the float32 delta dominates
        per_chunk = max(1, self.chunk_bytes // row_bytes)
        block = max(1, self.block_bytes // 4)
        for first in range(0, rows, per_chunk):
            self.units.append(
                (
                    index,
                    _Lora(
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


def _plan_dense(plan: _Plan, base: _Files, tuned: _Files) -> tuple[str, ...]:
    base_names, tuned_names = set(base.facts.weights.tensors), set(tuned.facts.weights.tensors)
    base_only, tuned_only = base_names - tuned_names, tuned_names - base_names
    renamed, _renames = match_renames(base_only, tuned_only)
    pairs = {name: name for name in base_names & tuned_names} | renamed
    for tuned_name, base_name in sorted(pairs.items()):
        plan.dense(tuned_name, base_name, base, tuned, "dense")
    not_compared = (base_only - set(renamed.values())) | (tuned_only - set(renamed))
    return tuple(sorted(not_compared))


def _plan_adapter(plan: _Plan, base: _Files, tuned: _Files) -> tuple[str, ...]:
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


# ---------------------------------------------------------------------------------------------


def deep_compare(
    base: ModelFacts,
    tuned: ModelFacts,
    base_snapshot: Snapshot,
    tuned_snapshot: Snapshot,
    *,
    workers: int = 2,
    progress: Progress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    block_bytes: int = BLOCK_BYTES,
    read_mode: ReadMode = "mmap",
) -> DeepDiff:
    """Compare tensor contents of `tuned` against `base` (a PEFT LoRA adapter against its base).

    `progress(done, total)` is called from the calling thread with bytes read so far. Memory in
    use stays around `workers × (2 × chunk_bytes + 8 × block_bytes)` whatever the model size
    (mapped pages of the chunks in progress, scratch arrays, and for an adapter the LoRA factors
    of the modules in progress).
    """
    started = time.perf_counter()
    adapter = tuned.is_adapter and not base.is_adapter
    base_files = _Files(base_snapshot, base, read_mode)
    tuned_files = _Files(tuned_snapshot, tuned, read_mode)
    plan = _Plan(chunk_bytes, block_bytes)
    try:
        if adapter:
            not_compared = _plan_adapter(plan, base_files, tuned_files)
        else:
            not_compared = _plan_dense(plan, base_files, tuned_files)
        totals = [[0, 0.0, 0.0] for _ in plan.rows]
        total_bytes = sum(unit.nbytes for _, unit in plan.units)
        done_bytes = 0
        if progress is not None:
            progress(0, total_bytes)

        def finished(index: int, unit: _Dense | _Lora, result: tuple[int, float, float]) -> None:
            nonlocal done_bytes
            acc = totals[index]
            acc[0] += result[0]
            acc[1] += result[1]
            acc[2] += result[2]
            done_bytes += unit.nbytes
            if progress is not None:
                progress(done_bytes, total_bytes)

        _run(plan.units, workers, finished)
    finally:
        base_files.close()
        tuned_files.close()
    rows: list[TensorChange] = []
    for fields, (changed, base_sq, delta_sq) in zip(plan.rows, totals, strict=True):
        place = layer_of(fields["base_name"])
        module = module_of(fields["base_name"])
        if fields["status"] != "skipped":
            fields = dict(
                fields,
                changed_elements=int(changed),
                base_sq=float(base_sq),
                delta_sq=float(delta_sq),
                status="changed" if changed else "equal",
            )
        rows.append(
            TensorChange(
                **fields, layer=None if place is None else _place_label(place), module=module
            )
        )
    return _summarise(
        rows,
        not_compared,
        done_bytes,
        time.perf_counter() - started,
        workers,
        "adapter" if adapter else "dense",
    )


def _place_label(place: tuple[str, int]) -> str:
    stack, index = place
    return f"{stack}.{index}" if stack else str(index)


def _call(unit: _Dense | _Lora) -> tuple[int, float, float]:
    """Run one unit; NaN/inf in a model's weights are data to report, not warnings to print."""
    with np.errstate(all="ignore"):
        return unit.run()


def _run(
    units: list[tuple[int, _Dense | _Lora]],
    workers: int,
    finished: Callable[[int, _Dense | _Lora, tuple[int, float, float]], None],
) -> None:
    if workers <= 1 or len(units) <= 1:
        for index, unit in units:
            finished(index, unit, _call(unit))
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deep") as pool:
        # a bounded window of submitted units keeps memory flat on models with many tensors
        window = workers * 4
        pending: dict[Any, tuple[int, _Dense | _Lora]] = {}
        queue = iter(units)
        for index, unit in queue:
            pending[pool.submit(_call, unit)] = (index, unit)
            if len(pending) >= window:
                break
        while pending:
            future = next(iter(pending))  # in submission order: deterministic sums
            index, unit = pending.pop(future)
            finished(index, unit, future.result())
            for next_index, next_unit in queue:
                pending[pool.submit(_call, next_unit)] = (next_index, next_unit)
                break


def _layer_key(label: str) -> tuple[str, int]:
    stack, _, index = label.rpartition(".")
    return stack, int(index)


def _summarise(
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
