"""Read a safetensors header (8-byte little-endian length + JSON) without touching tensor data.

Only what the summary needs is validated here (shape, dtype, offsets inside the file); the
full format audit is the scanner's job.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from modelcards.inspect.facts import TensorInfo
from modelcards.resolve.snapshot import Snapshot
from modelcards.safeio.errors import InspectError
from modelcards.safeio.jsonfile import loads_strict

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the reference implementation's limit

DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "C64": 64,
}  # fmt: skip


@dataclass(frozen=True)
class SafetensorsHeader:
    tensors: tuple[TensorInfo, ...]
    metadata: dict[str, str]
    header_size: int  # bytes, including the 8-byte length
    data_size: int
    # tensor name -> (begin, end) inside the data section; the file offset is header_size + begin
    offsets: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def read_safetensors_header(snapshot: Snapshot, path: str) -> SafetensorsHeader:
    entry = snapshot.entry(path)
    size = entry.size if entry else 0
    prefix = snapshot.read_range(path, 0, 8)
    if len(prefix) < 8:
        raise InspectError(
            "invalid safetensors file: shorter than the 8-byte header length", file=path
        )
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES or length + 8 > size:
        raise InspectError(
            f"invalid safetensors header: declared length {length:,} does not fit the file "
            f"({size:,} bytes)",
            file=path,
        )
    raw = snapshot.read_range(path, 8, length)
    return parse_header(raw, file=path, file_size=size)


def parse_header(raw: bytes, *, file: str, file_size: int) -> SafetensorsHeader:
    header = loads_strict(raw, file=file)
    if not isinstance(header, dict):
        raise InspectError("invalid safetensors header: not a JSON object", file=file)
    data_size = file_size - 8 - len(raw)
    metadata: dict[str, str] = {}
    tensors: list[TensorInfo] = []
    offsets: dict[str, tuple[int, int]] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            if not isinstance(spec, dict):
                raise InspectError(
                    "invalid safetensors header: __metadata__ is not an object", file=file
                )
            metadata = {str(k): str(v) for k, v in spec.items()}
            continue
        tensors.append(_tensor(name, spec, file=file, data_size=data_size))
        begin, end = spec["data_offsets"]  # checked by _tensor
        offsets[name] = (begin, end)
    return SafetensorsHeader(
        tensors=tuple(sorted(tensors, key=lambda t: t.name)),
        metadata=metadata,
        header_size=8 + len(raw),
        data_size=data_size,
        offsets=offsets,
    )


def _tensor(name: str, spec: object, *, file: str, data_size: int) -> TensorInfo:
    def bad(why: str) -> InspectError:
        return InspectError(f"invalid safetensors header: tensor {name!r} {why}", file=file)

    if not isinstance(spec, dict):
        raise bad("is not an object")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:  # (a list is not even hashable)
        raise bad(f"has unknown dtype {repr(dtype)[:100]}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise bad("has a shape that is not a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise bad(f"has data offsets {offsets!r} outside the {data_size:,} data bytes")
    info = TensorInfo(name=name, dtype=dtype, shape=tuple(shape), file=file)
    expected_bits = info.numel * DTYPE_BITS[dtype]
    if (expected_bits + 7) // 8 != offsets[1] - offsets[0]:
        raise bad(
            f"spans {offsets[1] - offsets[0]:,} bytes but {dtype}{list(shape)} needs "
            f"{(expected_bits + 7) // 8:,}"
        )
    return info
