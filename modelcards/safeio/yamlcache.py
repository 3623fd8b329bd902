"""A project's config as plain data, kept beside the hash cache so that `check` need not parse it.

Reading modelcards.yml through libyaml (`yamlfast.py`) first imports PyYAML, which costs a short
command more than the parse of a small config. The plain data of the config's text is written
once, as strict JSON, to `<hash cache>.configs/<the config's path, hashed>.json` with the
sha256 of the text it was read from, and read back while the text is the same. Only data that
reads back from JSON exactly is kept (no int or null keys); any other config, and any entry
that is missing, damaged, of another text or made by another reader, is parsed again. One file
per config file, overwritten when it changes; deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from modelcards import __version__
from modelcards.safeio.errors import InspectError
from modelcards.safeio.hashcache import default_cache_file
from modelcards.safeio.jsonfile import loads_strict

FORMAT = "modelcards plain yaml 1"
MAX_ENTRY_BYTES = 16 * 1024 * 1024  # a config is at most 4 MB of text
READER = Path(__file__).with_name("yamlfast.py")  # by its bytes: loaded on a miss only


def reader_version() -> str | None:
    """The reader that made an entry, by its bytes: a changed `yamlfast.py` reads again (None:
    its source cannot be read, and nothing is kept)."""
    try:
        source = READER.read_bytes()
    except OSError:
        return None
    return f"{__version__} {hashlib.sha256(source).hexdigest()}"


def entry_file(config_file: Path) -> Path:
    name = hashlib.sha256(os.fsencode(os.path.realpath(config_file))).hexdigest()[:32]
    cache = default_cache_file()  # beside it, named after it: `hashes.json.configs/`
    return cache.with_name(f"{cache.name}.configs") / f"{name}.json"


def cached_plain_yaml(text: str, config_file: Path) -> tuple[Any] | None:
    """(data,) as `load_plain_yaml(text)` gives it, from the cache when it holds this text;
    None when libyaml's reading is not certain to be ruamel's (as `load_plain_yaml`)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    entry = entry_file(config_file)
    kept = _read(entry)
    if kept is not None and kept.get("text") == digest and "data" in kept:
        return (kept["data"],)
    from modelcards.safeio.yamlfast import load_plain_yaml  # its patterns: on a miss only

    plain = load_plain_yaml(text)
    if plain is not None:
        _write(entry, digest, plain[0])
    return plain


def _read(entry: Path) -> dict[str, Any] | None:
    try:  # never a FIFO (no hang) nor a link
        fd = os.open(entry, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            raw = handle.read(MAX_ENTRY_BYTES + 1)
        if len(raw) > MAX_ENTRY_BYTES:
            return None
        kept = loads_strict(raw, file=str(entry))
    except (OSError, InspectError):
        return None
    if not isinstance(kept, dict) or kept.get("format") != FORMAT:
        return None
    reader = reader_version()
    return kept if reader is not None and kept.get("reader") == reader else None


def _write(entry: Path, digest: str, data: Any) -> None:
    reader = reader_version()
    if reader is None:
        return
    text = json.dumps({"format": FORMAT, "reader": reader, "text": digest, "data": data})
    try:
        if len(text) > MAX_ENTRY_BYTES or loads_strict(text, file=str(entry))["data"] != data:
            return  # not plain JSON data (an int key, a lone surrogate): parsed every time
    except InspectError:
        return
    from modelcards.safeio.write import write_atomic  # tempfile and shutil: on a miss only

    try:
        write_atomic(entry, text)
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs time
        return
