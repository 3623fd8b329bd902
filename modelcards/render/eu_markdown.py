"""The EU documents as Markdown: MODEL-DOCUMENTATION.md and TRAINING-CONTENT.md beside the card,
and the same text on the site.

Written from card.json's data alone (no template, no Jinja2), so that a model whose card is
taken unchanged from the last build writes the same bytes again. Every value from a model file
is escaped (`render/escape.py`): a dataset name cannot become a link or a heading.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from modelcards.inspect import DOCUMENT_FILES
from modelcards.render.escape import code, inline

STATUS_TEXT = {"filled": "filled from the files", "drafted": "drafted: to confirm",
               "to_provide": "**to be provided**"}  # fmt: skip
RECIPIENT_TEXT = {"ai_office": "AIO", "national_authorities": "NCA",
                  "downstream_providers": "DP", "public": "public"}  # fmt: skip
LEGEND = ("For: AIO the AI Office, NCA national competent authorities (both on request only), "
          "DP downstream providers.")  # fmt: skip
MAX_LISTED = 40  # entries of one value shown in a cell (a model of 500 files lists its hashes)


def document_names(context: Mapping[str, Any]) -> dict[str, str]:
    """File name → card.json key of each document card.json holds (none for an older one)."""
    return {name: key for key, name in DOCUMENT_FILES.items() if isinstance(context.get(key), dict)}


def document_files(context: Mapping[str, Any]) -> dict[str, str]:
    """File name → Markdown for each document card.json holds (none for an older card.json)."""
    return {name: document_markdown(context[key]) for name, key in document_names(context).items()}


def value_text(value: Any) -> str:
    """One cell's text of a JSON value, escaped."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (dict, list, int, float)):
        return inline(value)
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        shown = [_entry(v) for v in value[:MAX_LISTED]]
        more = f"; … {len(value) - MAX_LISTED} more" if len(value) > MAX_LISTED else ""
        return "; ".join(shown) + more if shown else "none"
    if isinstance(value.get("text"), str):  # a figure's sentence; card.json keeps its parts
        return inline(value["text"])
    parts = list(value.items())
    shown = [f"{inline(k)}: {_entry(v)}" for k, v in parts[:MAX_LISTED]]
    return "; ".join(shown) + (f"; … {len(parts) - MAX_LISTED} more" if len(parts) > MAX_LISTED
                               else "")  # fmt: skip


def _entry(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:  # a data source
        extra = ", ".join(str(value[k]) for k in ("category", "link") if value.get(k))
        return inline(value["name"]) + (f" ({inline(extra)})" if extra else "")
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return str(code(value))  # a sha256
    return value_text(value)


def document_markdown(doc: Mapping[str, Any], *, extra: Mapping[str, str] | None = None) -> str:
    """The document as one Markdown page; `extra` adds a line to an item by key (the site's
    signature state, known only when the site is built)."""
    counts = doc.get("counts") or {}
    lines = [
        f"# {inline(doc.get('title'))}",
        "",
        f"Following the {doc.get('template')}. {doc.get('note')}",  # our own words
        "",
        f"{counts.get('filled', 0)} items filled from the files, {counts.get('drafted', 0)} "
        f"drafted for a person to confirm, {counts.get('to_provide', 0)} to be provided. "
        + (LEGEND if doc.get("kind") == "model_documentation" else ""),
    ]
    for section in doc.get("sections") or []:
        lines += ["", f"## {inline(section['ref'])}. {inline(section['title'])}", "",
                  "| # | Item | Status | Value | Source, or what is needed | For |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for item in section["items"]:
            lines.append(_row(item, (extra or {}).get(item["key"])))
    return "\n".join(lines).rstrip() + "\n"


@lru_cache(maxsize=4096)
def _prose(text: str) -> str:
    """Our own sentences (which may quote a value): escaped, with typographic apostrophes
    rather than the HTML entity an escaped ' becomes; the same few hundred for every model, so
    escaped once."""
    return inline(text.replace("'", "’"))


def _row(item: Mapping[str, Any], extra: str | None) -> str:
    where = []
    if item.get("source"):
        where.append(str(code(item["source"])))
    if item.get("needed"):
        where.append(
            ("confirm: " if item["status"] == "drafted" else "") + _prose(str(item["needed"]))
        )
    value = value_text(item.get("value"))
    if extra:
        value += f"; {inline(extra)}"
    who = " · ".join(RECIPIENT_TEXT.get(r) or inline(r) for r in item.get("recipients") or [])
    cells = (_prose(str(item["ref"])), _prose(str(item["title"])), STATUS_TEXT.get(item["status"], ""),
             value, "; ".join(where) or "—", who)  # fmt: skip
    return "| " + " | ".join(cells) + " |"
