"""ONNX models: external-data paths and custom operator domains, from a bounded protobuf read.

The ModelProto is read with a small wire-format reader (onnx is never imported): only the
messages that lead to tensors, nodes and opset imports are entered, everything else (raw
weights included) is skipped with a seek. A tensor whose `location` leaves the model's folder
(`../`, an absolute path, a drive letter, or a symlink that resolves outside) makes onnx read
any file (CVE-2022-25882, CVE-2024-27318, CVE-2024-5187, CVE-2026-27489). Nodes of a domain
that is neither standard nor defined by the model's own functions need a custom-op library.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

STANDARD_DOMAINS = frozenset({
    "", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
    "com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental", "com.ms.internal.nhwc",
})  # fmt: skip
MAX_FIELDS = 5_000_000  # protobuf fields visited per file
MAX_DEPTH = 64  # nested messages (subgraphs of If/Loop nest graphs in attributes)
MAX_STRING = 64 * 1024  # bytes kept of a string we read (names, domains, locations)
MAX_REPORTED = 50

# message -> {field number: message entered, or "str"/"int" for a value kept}
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 8: "opset", 20: "training", 25: "function"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {4: "str", 5: "attribute", 7: "str"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "tensor": {8: "str", 13: "entry", 14: "int"},
    "sparse": {1: "tensor", 2: "tensor"},
    "entry": {1: "str", 2: "str"},
    "opset": {1: "str"},
    "training": {1: "graph", 3: "graph"},
    "function": {7: "node", 9: "opset", 10: "str", 11: "attribute"},
}


class Malformed(Exception):
    """Bytes that are not a protobuf message."""


@dataclass
class _Message:
    kind: str
    end: int
    values: dict[int, str | int] = field(default_factory=dict)
    entries: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class OnnxFacts:
    external: list[tuple[str, str, int]] = field(default_factory=list)  # name, location, dl
    domains: dict[str, list[str]] = field(default_factory=dict)  # domain -> op types
    opset_domains: set[str] = field(default_factory=set)
    function_domains: set[str] = field(default_factory=set)
    fields: int = 0


class _Wire:
    def __init__(self, fh: IO[bytes], size: int) -> None:
        self.fh, self.size, self.pos = fh, size, 0

    def varint(self) -> int:
        self.fh.seek(self.pos)
        raw = self.fh.read(10)
        value = shift = 0
        for i, byte in enumerate(raw):
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                self.pos += i + 1
                return value
            shift += 7
        raise Malformed(f"varint at offset {self.pos:,} does not end")

    def read(self, n: int) -> bytes:
        self.fh.seek(self.pos)
        data = self.fh.read(n)
        self.pos += n
        return data


def read_model(fh: IO[bytes], size: int) -> OnnxFacts:
    """Walk a ModelProto; raises Malformed, or _Limit when a scan limit ends the walk."""
    facts = OnnxFacts()
    wire = _Wire(fh, size)
    stack = [_Message("model", size)]
    while stack:
        top = stack[-1]
        if wire.pos >= top.end:
            if wire.pos > top.end:
                raise Malformed(f"a {top.kind} message overruns its length at {top.end:,}")
            _finish(stack.pop(), stack, facts)
            continue
        facts.fields += 1
        if facts.fields > MAX_FIELDS:
            raise _Limit(f"more than {MAX_FIELDS:,} protobuf fields")
        tag = wire.varint()
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise Malformed(f"field number 0 at offset {wire.pos:,}")
        target = _SCHEMA[top.kind].get(number)
        if wire_type == 0:
            value = wire.varint()
            if target == "int":
                top.values[number] = value
        elif wire_type == 1:
            wire.pos += 8
        elif wire_type == 5:
            wire.pos += 4
        elif wire_type == 2:
            length = wire.varint()
            if length > top.end - wire.pos:
                raise Malformed(f"field {number} of a {top.kind} is longer than its message")
            if target == "str":
                top.values[number] = wire.read(min(length, MAX_STRING)).decode("utf-8", "replace")
                wire.pos += length - min(length, MAX_STRING)
            elif target in _SCHEMA:
                if len(stack) >= MAX_DEPTH:
                    raise _Limit(f"messages nested deeper than {MAX_DEPTH}")
                stack.append(_Message(target, wire.pos + length))
            else:
                wire.pos += length
        else:
            raise Malformed(f"wire type {wire_type} at offset {wire.pos:,}")
        if wire.pos > top.end:
            raise Malformed(f"field {number} of a {top.kind} runs past its end")
    return facts


class _Limit(Exception):
    """A scan limit, not the file, ended the walk."""


def _finish(msg: _Message, stack: list[_Message], facts: OnnxFacts) -> None:
    parent = stack[-1] if stack else None
    if msg.kind == "entry" and parent is not None and parent.kind == "tensor":
        parent.entries.append((str(msg.values.get(1, "")), str(msg.values.get(2, ""))))
    elif msg.kind == "tensor":
        location = next((v for k, v in msg.entries if k == "location"), None)
        if location is not None or msg.values.get(14) == 1:
            name = str(msg.values.get(8, "?"))
            facts.external.append((name, location or "", int(msg.values.get(14, 0))))
    elif msg.kind == "node":
        domain = str(msg.values.get(7, ""))
        ops = facts.domains.setdefault(domain, [])
        op = str(msg.values.get(4, "?"))
        if op not in ops and len(ops) < MAX_REPORTED:
            ops.append(op)
    elif msg.kind == "opset":
        facts.opset_domains.add(str(msg.values.get(1, "")))
    elif msg.kind == "function":
        facts.function_domains.add(str(msg.values.get(10, "")))


def location_escape(location: str, folder: Path | None) -> str | None:
    """Why an external-data location leaves the model's folder, or None."""
    if "\x00" in location:
        return "contains a NUL byte"
    text = location.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return "is an absolute path"
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../"):
        return "climbs out of the model folder with '..'"
    if folder is None:
        return None
    target = folder / normal
    try:
        real = Path(os.path.realpath(target))
        base = Path(os.path.realpath(folder))
    except (OSError, ValueError):
        return None
    allowed = _cache_repo(base) or base
    if real != allowed and allowed not in real.parents:
        return f"is a symlink that resolves outside the model folder, to {real}"
    return None


def _cache_repo(folder: Path) -> Path | None:
    """A Hugging Face cache snapshot's repo folder: its files link into the repo's blobs/."""
    parent = folder.parent
    if parent.name == "snapshots" and parent.parent.name.startswith("models--"):
        return parent.parent
    return None


def scan_onnx(scan: FileScan, fh: IO[bytes], size: int, path: Path | None) -> None:
    """External data and custom domains of an `.onnx` file; `path` locates its folder."""
    try:
        facts = read_model(fh, size)
    except Malformed as exc:
        scan.add("MC152", f"not a readable ONNX protobuf: {exc}")
        return
    except _Limit as exc:
        scan.add("MC122", f"ONNX model exceeds the scan limits: {exc}")
        scan.gap(f"ONNX model read in part: {exc}")
        return
    folder = path.parent if path is not None else None
    for name, location, data_location in facts.external:
        if not location:
            scan.add("MC152", f"tensor {name!r} is external but names no location",
                     {"tensor": name})  # fmt: skip
            continue
        why = location_escape(location, folder)
        if why:
            scan.add(
                "MC150",
                f"external data of tensor {name!r} at {location!r} {why}",
                {"tensor": name, "location": location, "data_location": data_location},
            )
    local = facts.function_domains
    custom = sorted((set(facts.domains) | facts.opset_domains) - STANDARD_DOMAINS - local)
    for domain in custom[:MAX_REPORTED]:
        ops = facts.domains.get(domain, [])
        scan.add(
            "MC151",
            f"operators from custom domain {domain!r}"
            + (f": {', '.join(ops[:5])}" if ops else " (declared in opset_import)"),
            {"domain": domain, "op_types": ops},
        )
