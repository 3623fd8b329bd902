"""Every rule of the safetensors format, checked from the header and the file size alone.

The reference loader refuses a file that breaks any of these; a lenient parser may not, which
is how one file can show different weights to different tools. Tensor data is never read.
"""

from __future__ import annotations

import json
import struct
from typing import IO, Any

from modelcards.assess.findings import EvidenceValue, Finding
from modelcards.assess.rules import finding
from modelcards.inspect.safetensors_header import DTYPE_BITS

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the reference implementation's limit
MIN_HEADER_BYTES = 2  # "{}"
U64 = 2**64 - 1
MAX_FINDINGS_PER_FILE = 20


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_safetensors(fh: IO[bytes], size: int, file: str) -> list[Finding]:
    """Validate the safetensors file open at `fh` (positioned anywhere) of `size` bytes."""
    fh.seek(0)
    prefix = fh.read(8)
    if len(prefix) < 8:
        return [
            finding(
                "MC201",
                file,
                f"file is {size} bytes, shorter than the 8-byte header length",
                {"file_size": size},
            )
        ]
    (length,) = struct.unpack("<Q", prefix)
    evidence: dict[str, EvidenceValue] = {"header_length": length, "file_size": size}
    if length < MIN_HEADER_BYTES:
        return [
            finding("MC201", file, f"header length {length} is below the minimum of 2", evidence)
        ]
    if length > MAX_HEADER_BYTES:
        return [
            finding("MC201", file, f"header length {length:,} exceeds the 100 MB limit", evidence)
        ]
    if 8 + length > size:
        return [
            finding(
                "MC201",
                file,
                f"header length {length:,} runs past the end of the file ({size:,} bytes)",
                evidence,
            )
        ]
    raw = fh.read(length)
    if len(raw) < length:
        return [finding("MC201", file, "file ended while reading the header", evidence)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [
            finding("MC202", file, f"header is not UTF-8 (byte {exc.start})", {"byte": exc.start})
        ]
    if not text.startswith("{"):
        return [finding("MC202", file, "header does not start with '{'", {"start": text[:16]})]
    try:
        header = json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except _Duplicate as exc:
        return [
            finding(
                "MC203", file, f"header repeats the key {exc.args[0]!r}", {"key": str(exc.args[0])}
            )
        ]
    except RecursionError:
        return [finding("MC202", file, "header JSON is nested too deeply")]
    except ValueError as exc:
        return [finding("MC202", file, f"header is not valid JSON: {exc}")]
    if not isinstance(header, dict):
        return [finding("MC202", file, f"header is a JSON {type(header).__name__}, not an object")]
    return _check_entries(header, data_size=size - 8 - length, file=file)


def _check_entries(header: dict[str, Any], *, data_size: int, file: str) -> list[Finding]:
    findings: list[Finding] = []
    spans: list[tuple[int, int, str]] = []
    for name, spec in header.items():
        if name == "__metadata__":
            if not isinstance(spec, dict):
                findings.append(finding("MC208", file, "__metadata__ is not an object"))
            else:
                bad = sorted(k for k, v in spec.items() if not isinstance(v, str))
                if bad:
                    findings.append(
                        finding(
                            "MC208",
                            file,
                            f"__metadata__ values are not strings "
                            f"for {', '.join(map(repr, bad[:5]))}",
                            {"keys": bad[:20]},
                        )
                    )
            continue
        problem = _tensor_problem(name, spec, data_size)
        if problem:
            findings.append(finding(problem[0], file, problem[1], {"tensor": name}))
        else:
            start, end = spec["data_offsets"]
            spans.append((start, end, name))
    spans.sort()
    expected = 0
    for start, end, name in spans:
        if start != expected:
            kind = "overlaps the previous tensor" if start < expected else "leaves a gap"
            findings.append(
                finding(
                    "MC205",
                    file,
                    f"tensor {name!r} starts at {start:,}: {kind} (expected {expected:,})",
                    {"tensor": name, "start": start, "expected": expected},
                )
            )
        expected = max(expected, end)
    if expected > data_size:
        findings.append(
            finding(
                "MC205",
                file,
                f"tensors need {expected:,} data bytes but the file has {data_size:,}",
                {"needed": expected, "data_size": data_size},
            )
        )
    elif expected < data_size and not any(f.rule == "MC205" for f in findings):
        findings.append(
            finding(
                "MC207",
                file,
                f"{data_size - expected:,} bytes follow the last tensor",
                {"trailing_bytes": data_size - expected, "data_end": expected},
            )
        )
    return findings[:MAX_FINDINGS_PER_FILE]


def _is_uint(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor_problem(name: str, spec: object, data_size: int) -> tuple[str, str] | None:
    if not isinstance(spec, dict):
        return "MC204", f"tensor {name!r} is not an object"
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in spec]
    if missing:
        return "MC204", f"tensor {name!r} lacks {', '.join(missing)}"
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        return "MC204", f"tensor {name!r} has unknown dtype {dtype!r}"
    if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
        return "MC204", f"tensor {name!r} has a shape that is not a list of non-negative integers"
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_uint(o) and o <= U64 for o in offsets)
    ):
        return "MC205", f"tensor {name!r} has data_offsets {offsets!r}, not two unsigned integers"
    start, end = offsets
    if end < start:
        return "MC205", f"tensor {name!r} ends ({end:,}) before it starts ({start:,})"
    numel = 1
    for dim in shape:
        numel *= dim
        if numel > U64:
            return "MC206", f"tensor {name!r} shape {shape} overflows 64 bits"
    bits = numel * DTYPE_BITS[dtype]
    if bits > U64:
        return "MC206", f"tensor {name!r} size in bits overflows 64 bits"
    if bits % 8:
        return "MC206", f"tensor {name!r} of {numel} x {dtype} does not fill whole bytes"
    if bits // 8 != end - start:
        return "MC206", (
            f"tensor {name!r} spans {end - start:,} bytes but {dtype}{shape} needs {bits // 8:,}"
        )
    return None
