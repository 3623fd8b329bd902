"""GGUF files (llama.cpp): a bounded read of the header, the metadata and the tensor infos.

Counts and lengths in the header are checked against the file size before anything is
allocated, so a huge KV count or a string longer than the file is a malformed-header finding
(the llama.cpp parser overflows of 2024 came from such fields), never a giant allocation.
Strings that are not chat templates are skipped with a seek. `tokenizer.chat_template` and
`tokenizer.chat_template.<name>` go to the chat template check.
"""

from __future__ import annotations

import struct
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

MAGIC = b"GGUF"
MAX_KV = 65_536  # real files have ~50 keys
MAX_TENSORS = 1_000_000
MAX_STRINGS = 4_000_000  # strings walked in arrays (a 256k vocabulary plus merges fits)
MAX_ARRAY_DEPTH = 3
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_NAME = 64  # GGML_MAX_NAME, tensor names included
TEMPLATE_KEY = "tokenizer.chat_template"
# value type -> fixed size in bytes (8 = string and 9 = array are variable)
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9


class Malformed(Exception):
    """The header cannot be what a GGUF writer produces."""


class _Reader:
    def __init__(self, fh: IO[bytes], size: int, endian: str) -> None:
        self.fh, self.size, self.endian = fh, size, endian
        self.pos = 0
        self.strings = 0

    def take(self, n: int, what: str) -> bytes:
        if n > self.size - self.pos:
            raise Malformed(f"{what} ({n:,} bytes at offset {self.pos:,}) runs past the end")
        self.fh.seek(self.pos)
        data = self.fh.read(n)
        if len(data) != n:
            raise Malformed(f"{what} at offset {self.pos:,} cannot be read")
        self.pos += n
        return data

    def skip(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise Malformed(f"{what} ({n:,} bytes at offset {self.pos:,}) runs past the end")
        self.pos += n

    def u32(self, what: str) -> int:
        (value,) = struct.unpack(self.endian + "I", self.take(4, what))
        return int(value)

    def u64(self, what: str) -> int:
        (value,) = struct.unpack(self.endian + "Q", self.take(8, what))
        return int(value)

    def string(self, what: str, keep: int) -> bytes | None:
        """A gguf_string: returns its bytes if at most `keep` long, else skips it."""
        length = self.u64(f"length of {what}")
        self.strings += 1
        if length > keep:
            self.skip(length, what)
            return None
        return self.take(length, what)


def _skip_value(reader: _Reader, vtype: int, key: str, depth: int = 0) -> None:
    if vtype in _FIXED:
        reader.skip(_FIXED[vtype], f"value of {key}")
    elif vtype == _STRING:
        reader.string(f"value of {key}", 0)
    elif vtype == _ARRAY:
        if depth >= MAX_ARRAY_DEPTH:
            raise Malformed(f"{key}: arrays nested deeper than {MAX_ARRAY_DEPTH}")
        item = reader.u32(f"array type of {key}")
        count = reader.u64(f"array length of {key}")
        if item in _FIXED:
            reader.skip(count * _FIXED[item], f"array {key} of {count:,} items")
            return
        if item not in (_STRING, _ARRAY):
            raise Malformed(f"{key}: unknown array item type {item}")
        if count * 8 > reader.size - reader.pos:  # each item needs at least a length
            raise Malformed(f"array {key} declares {count:,} items, more than the file holds")
        for _ in range(count):
            if reader.strings > MAX_STRINGS:
                raise _Budget(f"more than {MAX_STRINGS:,} strings in the metadata")
            _skip_value(reader, item, key, depth + 1)
    else:
        raise Malformed(f"{key}: unknown value type {vtype}")


class _Budget(Exception):
    """A scan limit (not the file) ended the read."""


def _read(scan: FileScan, reader: _Reader) -> None:
    version = reader.u32("version")
    if version not in (2, 3):
        raise Malformed(f"unsupported GGUF version {version}")
    tensors = reader.u64("tensor count")
    kvs = reader.u64("metadata key count")
    if kvs > MAX_KV or kvs * 12 > reader.size - reader.pos:
        raise Malformed(f"metadata key count {kvs:,} is more than the file can hold")
    if tensors > MAX_TENSORS or tensors * 24 > reader.size - reader.pos:
        raise Malformed(f"tensor count {tensors:,} is more than the file can hold")
    alignment = 32
    seen: set[str] = set()
    for _ in range(kvs):
        raw_key = reader.string("metadata key", 65_535)
        if raw_key is None:
            raise Malformed("metadata key longer than 65,535 bytes")
        key = raw_key.decode("utf-8", errors="replace")
        if key in seen:
            raise Malformed(f"metadata key {key!r} appears twice")
        seen.add(key)
        vtype = reader.u32(f"type of {key}")
        if (key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")) and vtype == _STRING:
            _template(scan, reader, key)
            continue
        if key == "general.alignment" and vtype == 4:
            alignment = reader.u32(key)
            if alignment == 0 or alignment & (alignment - 1):
                raise Malformed(f"general.alignment {alignment} is not a power of two")
            continue
        _skip_value(reader, vtype, key)
    _tensor_infos(reader, tensors, alignment)


def _template(scan: FileScan, reader: _Reader, key: str) -> None:
    from modelcards.assess.scan import chat_template  # Jinja2: only when a GGUF holds a template

    keep = chat_template.MAX_TEMPLATE_CHARS * 4
    raw = reader.string(key, keep)
    if raw is None:
        scan.add("MC141", f"chat template {key} is larger than {keep:,} bytes", {"key": key})
        return
    text = raw.decode("utf-8", errors="replace")
    scan.findings.extend(chat_template.template_findings(text, scan.file, key))


def _tensor_infos(reader: _Reader, tensors: int, alignment: int) -> None:
    for index in range(tensors):
        name = reader.string(f"name of tensor {index}", MAX_NAME)
        if name is None:
            raise Malformed(f"tensor {index} has a name longer than {MAX_NAME} bytes")
        label = name.decode("utf-8", errors="replace")
        dims = reader.u32(f"dimension count of {label}")
        if dims > MAX_DIMS:
            raise Malformed(f"tensor {label!r} has {dims} dimensions (at most {MAX_DIMS})")
        reader.skip(8 * dims, f"shape of {label}")
        reader.u32(f"type of {label}")
        offset = reader.u64(f"data offset of {label}")
        if offset % alignment or offset > reader.size:
            raise Malformed(
                f"tensor {label!r} data offset {offset:,} is misaligned or past the end"
            )


def scan_gguf(scan: FileScan, fh: IO[bytes], size: int) -> None:
    """Header, metadata and tensor infos of a file that starts with the GGUF magic."""
    fh.seek(0)
    head = fh.read(8)
    little = struct.unpack("<I", head[4:8])[0] if len(head) == 8 else 0
    endian = ">" if little and little & 0xFFFF == 0 else "<"  # big-endian files exist too
    reader = _Reader(fh, size, endian)
    reader.pos = 4
    try:
        _read(scan, reader)
    except Malformed as exc:
        scan.add("MC143", f"malformed GGUF header: {exc}", {"offset": reader.pos})
    except _Budget as exc:
        scan.add("MC122", f"GGUF metadata exceeds the scan limits: {exc}", {"offset": reader.pos})
        scan.gap(f"GGUF metadata read up to offset {reader.pos:,}")
