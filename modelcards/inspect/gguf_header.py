"""GGUF (llama.cpp) headers: the one bounded reader of the metadata and tensor infos.

Both the inspector (the facts a card states) and the scanner (`assess/scan/gguf.py`: malformed
headers, chat templates) read through it, so a header is parsed one way. Counts and lengths are
checked against the file size before anything is allocated, so a huge KV count or a string
longer than the file is `Malformed` (the llama.cpp parser overflows of 2024 came from such
fields), never a giant allocation. Strings are kept only up to what the caller asks for a key
(`keep`); longer ones, and every array, are skipped with a seek (array strings are walked, at
most MAX_STRINGS of them, only to find where the array ends). The file is read through
`read_at(offset, length)` in windows, so a snapshot's range reads and a file handle both serve.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAGIC = b"GGUF"
MAX_KV = 65_536  # real files have ~50 keys
MAX_TENSORS = 1_000_000
MAX_STRINGS = 4_000_000  # strings walked in arrays (a 256k vocabulary plus merges fits)
MAX_ARRAY_DEPTH = 3
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_NAME = 64  # GGML_MAX_NAME, tensor names included
MAX_KEY = 65_535
MAX_KEY_BYTES = 16 << 20  # all keys together (real files: ~2 KB), held to find duplicates
WINDOW = 1 << 20  # bytes read at a time
# value type -> fixed size in bytes (8 = string and 9 = array are variable)
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9
_SCALAR = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}

ReadAt = Callable[[int, int], bytes]  # (offset, length) -> at most length bytes


class Malformed(Exception):
    """The header cannot be what a GGUF writer produces."""


class Budget(Exception):
    """A read limit (not the file) ended the read."""


@dataclass(frozen=True)
class Array:
    """An array value, skipped: its item type and length (never its items)."""

    item_type: int
    length: int


@dataclass(frozen=True)
class LongString:
    """A string longer than the caller kept: only its length."""

    length: int


Value = int | float | bool | str | Array | LongString


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # in the data section


class HeaderReader:
    """Bounded reads at a position, served from a window of the file."""

    def __init__(self, read_at: ReadAt, size: int, endian: str) -> None:
        self.read_at, self.size, self.endian = read_at, size, endian
        self.pos = 0
        self.strings = 0
        self._buf, self._start = b"", 0

    def _fill(self, n: int) -> None:
        self._start = self.pos
        self._buf = self.read_at(self.pos, max(n, min(WINDOW, self.size - self.pos)))

    def take(self, n: int, what: str) -> bytes:
        if n > self.size - self.pos:
            raise Malformed(f"{what} ({n:,} bytes at offset {self.pos:,}) runs past the end")
        rel = self.pos - self._start
        if rel < 0 or rel + n > len(self._buf):
            self._fill(n)
            rel = 0
        data = self._buf[rel : rel + n]
        if len(data) != n:
            raise Malformed(f"{what} at offset {self.pos:,} cannot be read")
        self.pos += n
        return data

    def skip(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise Malformed(f"{what} ({n:,} bytes at offset {self.pos:,}) runs past the end")
        self.pos += n

    def u32(self, what: str) -> int:
        return int(struct.unpack(self.endian + "I", self.take(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack(self.endian + "Q", self.take(8, what))[0])

    def string(self, what: str, keep: int) -> bytes | None:
        """A gguf_string: its bytes if at most `keep` long, else None (skipped)."""
        length = self.u64(f"length of {what}")
        self.strings += 1
        if length > keep:
            self.skip(length, what)
            return None
        return self.take(length, what)

    def skip_strings(self, count: int, what: str) -> None:
        """Skip `count` gguf_strings (a vocabulary): only their lengths are read."""
        if self.strings + count > MAX_STRINGS:
            raise Budget(f"more than {MAX_STRINGS:,} strings in the metadata")
        fmt = self.endian + "Q"
        for _ in range(count):
            rel = self.pos - self._start
            if rel < 0 or rel + 8 > len(self._buf):
                length = self.u64(f"length of a string in {what}")
            else:
                (length,) = struct.unpack_from(fmt, self._buf, rel)
                self.pos += 8
            self.skip(length, what)
        self.strings += count

    def scalar(self, vtype: int, what: str) -> int | float | bool:
        (value,) = struct.unpack(self.endian + _SCALAR[vtype], self.take(FIXED[vtype], what))
        return value


def endian_of(head: bytes) -> str:
    """'<' or '>': the version field reads as a small number only in the file's byte order."""
    little = struct.unpack("<I", head[4:8])[0] if len(head) >= 8 else 0
    return ">" if little and little & 0xFFFF == 0 else "<"  # big-endian files exist too


def open_header(read_at: ReadAt, size: int) -> HeaderReader:
    """A reader positioned after the magic, in the file's byte order."""
    reader = HeaderReader(read_at, size, endian_of(read_at(0, 8)))
    reader.take(4, "magic")
    return reader


def _skip_array(reader: HeaderReader, key: str, depth: int) -> Array:
    if depth >= MAX_ARRAY_DEPTH:
        raise Malformed(f"{key}: arrays nested deeper than {MAX_ARRAY_DEPTH}")
    item = reader.u32(f"array type of {key}")
    count = reader.u64(f"array length of {key}")
    if item in FIXED:
        reader.skip(count * FIXED[item], f"array {key} of {count:,} items")
    elif item in (STRING, ARRAY):
        if count * 8 > reader.size - reader.pos:  # each item needs at least a length
            raise Malformed(f"array {key} declares {count:,} items, more than the file holds")
        if item == STRING:
            reader.skip_strings(count, key)
        else:
            reader.strings += count  # nested arrays are walked too: the same budget
            if reader.strings > MAX_STRINGS:
                raise Budget(f"more than {MAX_STRINGS:,} strings or arrays in the metadata")
            for _ in range(count):
                _skip_array(reader, key, depth + 1)
    else:
        raise Malformed(f"{key}: unknown array item type {item}")
    return Array(item, count)


def _value(reader: HeaderReader, vtype: int, key: str, keep: int) -> Value:
    if vtype in FIXED:
        return reader.scalar(vtype, f"value of {key}")
    if vtype == STRING:
        length = reader.u64(f"length of value of {key}")
        reader.strings += 1
        if length > keep:
            reader.skip(length, f"value of {key}")
            return LongString(length)
        return reader.take(length, f"value of {key}").decode("utf-8", errors="replace")
    if vtype == ARRAY:
        return _skip_array(reader, key, 0)
    raise Malformed(f"{key}: unknown value type {vtype}")


@dataclass
class Prelude:
    version: int
    tensors: int
    kvs: int
    alignment: int = 32  # general.alignment, once the metadata has been read


def read_prelude(reader: HeaderReader) -> Prelude:
    """Version, tensor count and key count, checked against what the file can hold."""
    version = reader.u32("version")
    if version not in (2, 3):
        raise Malformed(f"unsupported GGUF version {version}")
    tensors = reader.u64("tensor count")
    kvs = reader.u64("metadata key count")
    if kvs > MAX_KV or kvs * 12 > reader.size - reader.pos:
        raise Malformed(f"metadata key count {kvs:,} is more than the file can hold")
    if tensors > MAX_TENSORS or tensors * 24 > reader.size - reader.pos:
        raise Malformed(f"tensor count {tensors:,} is more than the file can hold")
    return Prelude(version, tensors, kvs)


def read_metadata(
    reader: HeaderReader, prelude: Prelude, keep: Callable[[str], int]
) -> Iterator[tuple[str, Value]]:
    """Each key and its value, in file order; a string value is kept up to `keep(key)` bytes.
    `general.alignment` is checked and recorded on the prelude."""
    seen: set[str] = set()
    held = 0
    for _ in range(prelude.kvs):
        raw_key = reader.string("metadata key", MAX_KEY)
        if raw_key is None:
            raise Malformed(f"metadata key longer than {MAX_KEY:,} bytes")
        held += len(raw_key)
        if held > MAX_KEY_BYTES:
            raise Budget(f"metadata keys longer than {MAX_KEY_BYTES:,} bytes together")
        key = raw_key.decode("utf-8", errors="replace")
        if key in seen:
            raise Malformed(f"metadata key {key!r} appears twice")
        seen.add(key)
        vtype = reader.u32(f"type of {key}")
        value = _value(reader, vtype, key, keep(key) if vtype == STRING else 0)
        if key == "general.alignment" and vtype == 4:
            assert isinstance(value, int)
            if value == 0 or value & (value - 1):
                raise Malformed(f"general.alignment {value} is not a power of two")
            prelude.alignment = value
        yield key, value


def read_tensor_infos(reader: HeaderReader, prelude: Prelude) -> Iterator[TensorInfo]:
    """The tensor infos, one at a time (a million of them are never held at once); a shape
    with more elements than the file could store is refused (no GGML type stores less than one
    bit a weight)."""
    for index in range(prelude.tensors):
        name = reader.string(f"name of tensor {index}", MAX_NAME)
        if name is None:
            raise Malformed(f"tensor {index} has a name longer than {MAX_NAME} bytes")
        label = name.decode("utf-8", errors="replace")
        dims = reader.u32(f"dimension count of {label}")
        if dims > MAX_DIMS:
            raise Malformed(f"tensor {label!r} has {dims} dimensions (at most {MAX_DIMS})")
        raw = reader.take(8 * dims, f"shape of {label}")
        shape = struct.unpack(f"{reader.endian}{dims}Q", raw)
        elements = 1
        for dim in shape:
            elements *= dim
        if elements > 8 * reader.size:
            raise Malformed(
                f"tensor {label!r} shape {list(shape)} has more elements than the file can hold"
            )
        ggml_type = reader.u32(f"type of {label}")
        offset = reader.u64(f"data offset of {label}")
        if offset % prelude.alignment or offset > reader.size:
            raise Malformed(
                f"tensor {label!r} data offset {offset:,} is misaligned or past the end"
            )
        yield TensorInfo(label, tuple(shape), ggml_type, offset)
