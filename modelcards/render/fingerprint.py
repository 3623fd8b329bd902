"""Fingerprints that let `check` tell a stale card in milliseconds, without rendering it.

`inputs`: a hash over everything a card is made from — the model's files (sha256), the base's
(its pinned revision, or the sha256 of its files), a deep merge card's sources (the same way,
`project/merge_identity.py`), the config entry, the templates, the tool
version, the git history of the model's folder, and the card's own front matter.
`outputs`: a hash over what build generated — the card's generated blocks, CHANGES.md and
card.json — so a hand edit of generated text is seen too. (The front matter is an input: every
key in it is the author's once written.)
Both live in one comment at the end of the card.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelcards import __version__
from modelcards.history import History
from modelcards.inspect.card import split_front_matter
from modelcards.render.card_blocks import parse_body
from modelcards.render.template_files import template_files
from modelcards.resolve.snapshot import FileEntry, SourceRef

BLOCK_NAME = "fingerprint"
LINE = re.compile(
    r"<!-- modelcards:fingerprint inputs=sha256:(?P<inputs>[0-9a-f]{64}) "
    r"outputs=sha256:(?P<outputs>[0-9a-f]{64}) -->"
)
EMPTY_BLOCK = f"<!-- modelcards:begin {BLOCK_NAME} -->\n<!-- modelcards:end {BLOCK_NAME} -->"


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def templates_digest(folders: Iterable[Path | None], *, site: bool) -> str:
    """Every template file that could be used (overrides first), by relative path and bytes.

    The cards' digest leaves out `site/` templates: a new site page must not make cards stale.
    """
    parts: list[tuple[str, str]] = []
    for index, folder in enumerate(folders):  # the index says which folder: override or default
        if folder is None:
            continue
        for rel, path in template_files(folder):
            if site or rel.split("/")[0] != "site":
                parts.append((f"{index}/{rel}", hashlib.sha256(path.read_bytes()).hexdigest()))
    return digest(parts)


def manifest_digest(files: Iterable[FileEntry]) -> list[tuple[str, int, str | None]]:
    return [(f.path, f.size, f.sha256) for f in files]


def base_identity(
    source: SourceRef | None,
    files: Iterable[FileEntry] | None,
    *,
    lock_digest: str | None = None,
) -> Any:
    """A base pinned to a commit (git, Hub, HF cache) is named by it; a folder by its files.

    A base read from modelcards.lock is named by its commit and the digest of its lock entry
    (`LockedSnapshot.entry_digest`), so re-locking it makes its cards stale; without the digest,
    by its commit and its files.
    """
    if source is None:
        return None
    if source.kind == "lock":
        pinned = lock_digest or manifest_digest(files or ())
        return [source.kind, source.location, source.revision, pinned]
    if source.kind != "path" and source.revision:
        return [source.kind, source.location, source.revision]
    return [source.kind, source.location, manifest_digest(files or ())]


def history_digest(history: History) -> Any:
    releases = [[r.tag, r.commit, [c.sha for c in r.commits]] for r in history.releases]
    return {"releases": releases, "pending": list(history.pending)}


def front_matter_of(card_text: str | None) -> str:
    """The card's front matter text (comments included: they are kept, so they count)."""
    if card_text is None:
        return ""
    front, _ = split_front_matter(card_text)
    return front or ""


def inputs_fingerprint(
    *,
    entry: Mapping[str, Any],
    card_defaults: Mapping[str, Any],
    templates: str,
    tuned_files: Iterable[FileEntry],
    base: Any,
    history: History,
    front_matter: str,
) -> str:
    return digest({
        "tool": __version__,
        "entry": entry,
        "card_defaults": card_defaults,
        "templates": templates,
        "tuned": manifest_digest(tuned_files),
        "base": base,
        "history": history_digest(history),
        "front_matter": front_matter,
    })  # fmt: skip


def outputs_fingerprint(card_text: str, changes: str, card_json: str) -> str:
    _, body = split_front_matter(card_text)
    blocks = [p.text for p in parse_body(body) if p.kind == "generated" and p.key != BLOCK_NAME]
    return digest({"blocks": blocks, "changes": changes, "card_json": card_json})


def embed(card_text: str, inputs: str, outputs: str) -> str:
    """Fill the card's fingerprint block (appending one if a custom template has none)."""
    line = f"<!-- modelcards:fingerprint inputs=sha256:{inputs} outputs=sha256:{outputs} -->"
    block = f"<!-- modelcards:begin {BLOCK_NAME} -->\n{line}\n<!-- modelcards:end {BLOCK_NAME} -->"
    pattern = re.compile(
        rf"<!-- modelcards:begin {BLOCK_NAME} -->\n.*?<!-- modelcards:end {BLOCK_NAME} -->",
        re.DOTALL,
    )
    if pattern.search(card_text):
        return pattern.sub(lambda _m: block, card_text, count=1)
    return card_text.rstrip("\n") + "\n\n" + block + "\n"


def read_fingerprint(card_text: str) -> tuple[str, str] | None:
    match = LINE.search(card_text)
    return (match.group("inputs"), match.group("outputs")) if match else None


SITE_LINE = re.compile(
    r"^inputs=sha256:(?P<inputs>[0-9a-f]{64}) outputs=sha256:(?P<outputs>[0-9a-f]{64})$", re.M
)


def site_inputs(settings: Any, templates: str, cards: Iterable[tuple[str, str, str]]) -> str:
    """The site is made from the cards as written (prose included), the settings and templates.
    Each text is named by its sha256 (a fleet's cards are tens of MB: escaping them into one JSON
    text took most of this digest's time)."""
    named = [[text_sha256(text) for text in card] for card in cards]
    return digest({"tool": __version__, "settings": settings, "templates": templates,
                   "cards": named})  # fmt: skip


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def site_outputs(files: Mapping[str, str], known: Mapping[str, str] | None = None) -> str:
    """Every generated site source file but the marker that holds this value; `known`: path →
    the sha256 of its text, where the caller has it already (pages read back and checked)."""
    known = known or {}
    return digest(
        sorted((path, known.get(path) or text_sha256(text)) for path, text in files.items())
    )


def site_marker(header: str, inputs: str, outputs: str) -> str:
    return f"{header}inputs=sha256:{inputs} outputs=sha256:{outputs}\n"


def read_site_marker(text: str) -> tuple[str, str] | None:
    match = SITE_LINE.search(text)
    return (match.group("inputs"), match.group("outputs")) if match else None
