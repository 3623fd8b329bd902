"""GGUF files (llama.cpp): the header, metadata and tensor infos checked, chat templates scanned.

The bounded reading is `inspect/gguf_header.py` (shared with the facts a card states); here a
header it refuses is a malformed-header finding, a read limit a partial scan, and
`tokenizer.chat_template` and `tokenizer.chat_template.<name>` go to the chat template check.
Every other string is skipped with a seek.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from modelcards.inspect.gguf_header import (
    MAGIC,
    Budget,
    HeaderReader,
    LongString,
    Malformed,
    open_header,
    read_metadata,
    read_prelude,
    read_tensor_infos,
)

if TYPE_CHECKING:
    from modelcards.assess.scan.filescan import FileScan

__all__ = ["MAGIC", "TEMPLATE_KEY", "scan_gguf"]

TEMPLATE_KEY = "tokenizer.chat_template"


def is_template_key(key: str) -> bool:
    return key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")


def _read(scan: FileScan, reader: HeaderReader) -> None:
    from modelcards.assess.scan.chat_template import MAX_TEMPLATE_CHARS

    keep = MAX_TEMPLATE_CHARS * 4
    prelude = read_prelude(reader)
    for key, value in read_metadata(reader, prelude, lambda k: keep if is_template_key(k) else 0):
        if not is_template_key(key):
            continue
        if isinstance(value, LongString):
            scan.add("MC141", f"chat template {key} is larger than {keep:,} bytes", {"key": key})
        elif isinstance(value, str):
            from modelcards.assess.scan import chat_template  # Jinja2: only for a template

            scan.findings.extend(chat_template.template_findings(value, scan.file, key))
    for _info in read_tensor_infos(reader, prelude):
        pass  # each is checked as it is read


def scan_gguf(scan: FileScan, fh: IO[bytes], size: int) -> None:
    """Header, metadata and tensor infos of a file that starts with the GGUF magic."""

    def read_at(offset: int, length: int) -> bytes:
        fh.seek(offset)
        return fh.read(length)

    reader = open_header(read_at, size)
    try:
        _read(scan, reader)
    except Malformed as exc:
        scan.add("MC143", f"malformed GGUF header: {exc}", {"offset": reader.pos})
    except Budget as exc:
        scan.add("MC122", f"GGUF metadata exceeds the scan limits: {exc}", {"offset": reader.pos})
        scan.gap(f"GGUF metadata read up to offset {reader.pos:,}")
