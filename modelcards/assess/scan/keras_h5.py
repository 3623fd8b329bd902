"""Find the Keras configs in a legacy `.h5` file from its raw bytes, without h5py.

Keras stores `model_config` and `training_config` (losses and metrics, deserialised by
`compile=True`) as string attributes of the HDF5 root: a fixed-length string sits right after
the attribute's name, a variable-length one (what h5py writes for `str`) in a global heap
collection ("GCOL"). Both are read here, every JSON object among them is returned, and the
caller checks all of them: a decoy config placed first cannot hide the real one
(CVE-2025-9905: `.h5` files ignore safe_mode, so whatever they name runs).
"""

from __future__ import annotations

import json
import re
import struct
from typing import IO, TYPE_CHECKING, Any

from modelcards.assess.findings import Finding
from modelcards.assess.scan import keras

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

_CHUNK = 8 * 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024  # bytes decoded per candidate
MAX_COLLECTIONS = 256  # global heap collections parsed per file
MAX_OBJECTS = 4096  # heap objects per collection
MAX_ANCHORED = 16  # inline candidates tried after each attribute name
_ANCHORS = (b"model_config", b"training_config")
_OBJECT_START = re.compile(rb'\{\s*"')
_PROBE = 64 * 1024  # a false start fails within this many bytes; a real config is retried in full
MAX_FULL_TRIES = 4


class _Decoder:
    """Decodes candidate JSON objects; only a few may cost a full-size retry."""

    def __init__(self) -> None:
        self.full_tries = MAX_FULL_TRIES

    def decode(self, data: bytes, start: int) -> dict[str, Any] | None:
        """The JSON object starting at `start`, or None; cheap for the many false starts."""
        decoder = json.JSONDecoder()
        text = data[start : start + _PROBE].decode("utf-8", errors="replace")
        try:
            value, _ = decoder.raw_decode(text)
        except json.JSONDecodeError as exc:
            # a false start breaks within a few bytes; a real config longer than the probe
            # breaks only where the probe cut it
            if exc.pos < 256 or len(text) < _PROBE or self.full_tries <= 0:
                return None
            self.full_tries -= 1
            text = data[start : start + MAX_CONFIG_BYTES].decode("utf-8", errors="replace")
            try:
                value, _ = decoder.raw_decode(text)
            except (ValueError, RecursionError):
                return None
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None


def _heap_strings(data: bytes) -> list[bytes]:
    """Objects of the global heap collections in `data` (HDF5 spec III.E, 8-byte lengths)."""
    found: list[bytes] = []
    for count, match in enumerate(re.finditer(b"GCOL\x01", data)):
        if count >= MAX_COLLECTIONS:
            break
        base = match.start()
        if base + 16 > len(data):
            break
        (size,) = struct.unpack_from("<Q", data, base + 8)
        end = min(base + size, len(data))
        pos = base + 16
        for _ in range(MAX_OBJECTS):
            if pos + 16 > end:
                break
            index, _refs, _reserved, length = struct.unpack_from("<HHIQ", data, pos)
            if index == 0 or length > end - pos - 16:
                break  # free space, or an object that overruns its collection
            found.append(data[pos + 16 : pos + 16 + length])
            pos += 16 + ((length + 7) & ~7)
    return found


def find_configs(data: bytes) -> list[dict[str, Any]]:
    """Every JSON object that may be a config attribute: heap strings and inline strings."""
    configs: list[dict[str, Any]] = []
    decoder = _Decoder()
    for text in _heap_strings(data):
        stripped = text.lstrip()
        if stripped.startswith(b"{") and len(stripped) <= MAX_CONFIG_BYTES:
            value = decoder.decode(stripped, 0)
            if value is not None:
                configs.append(value)
    for anchor in _ANCHORS:
        for count, hit in enumerate(re.finditer(re.escape(anchor), data)):
            if count >= MAX_ANCHORED:
                break
            window = data[hit.end() : hit.end() + 4096]
            for tried, start in enumerate(_OBJECT_START.finditer(window)):
                if tried >= 4:
                    break
                value = decoder.decode(data, hit.end() + start.start())
                if value is not None:
                    configs.append(value)
                    break
    return configs


def scan_h5(scan: FileScan, fh: IO[bytes], size: int) -> None:
    """Search raw HDF5 bytes for the Keras config attributes, within the byte budget."""
    limits = scan.limits
    fh.seek(0)
    hits: set[str] = set()
    window = b""
    read = 0
    configs: list[dict[str, Any]] = []
    while read < min(size, limits.max_h5_bytes):
        chunk = fh.read(min(_CHUNK, limits.max_h5_bytes - read))
        if not chunk:
            break
        read += len(chunk)
        data = window + chunk
        hits |= keras.search_markers(data)
        if any(anchor in data for anchor in _ANCHORS) or b"GCOL\x01" in data:
            here = fh.tell()
            fh.seek(max(0, read - len(data)))
            configs = find_configs(fh.read(min(64 * 1024 * 1024, size)))
            fh.seek(here)
            if any(_is_model_config(c) for c in configs):
                break  # the configs are what can carry code; the rest is weights
        window = data[-64:]
    findings: list[Finding] = []
    for config in configs:
        findings += keras.config_findings(config, scan.file)
    scan.findings.extend(findings)
    if any(f.rule == "MC404" for f in findings):
        scan.gap("config larger than the walk limit")
    if hits and not any(f.rule == "MC401" for f in findings):
        scan.findings.extend(keras.raw_marker_findings(hits, scan.file))
    if not any(_is_model_config(c) for c in configs) and read < size:
        scan.gap(f"only the first {read:,} bytes were searched for a model config")
        scan.add(
            "MC122",
            f"HDF5 file larger than the {limits.max_h5_bytes:,}-byte search budget",
            {"file_size": size, "bytes_read": read},
        )


def _is_model_config(value: dict[str, Any]) -> bool:
    return "class_name" in value and "config" in value
