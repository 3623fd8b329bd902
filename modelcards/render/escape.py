"""Make any value from a model file inert on a Markdown/HTML page.

Every `{{ }}` in a template passes through `finalize` = `inline`, so escaping is the default and
only trusted `Markup` (our own filters' output) skips it. Bidi overrides and zero-width
characters are shown as visible escapes: they can make a page say something else than its bytes.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from markupsafe import Markup

INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MD_SPECIAL = re.compile(r"([\\`*\[\]|~$#!{}])")
UNDERSCORE_EDGE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
BACKTICKS = re.compile(r"`+")
HTML_CODE_SPECIAL = frozenset("|<>&\"'`*_[]\\~$#!{}")


def visible(text: str) -> str:
    """Replace invisible and control characters with visible `\\uXXXX` escapes."""
    text = INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


CUT_MARK = re.compile(r"… \[([\d,]+) more characters not shown\]$")
MAX_SHOWN_CHARS = 2000  # one value on a page; card.json keeps more (render.context)
MAX_BLOCK_CHARS = 64 * 1024  # one code block (a chat template, a diff)


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many more there were (counting what an
    earlier cut already left out)."""
    if len(text) <= limit:
        return text
    earlier = CUT_MARK.search(text)
    left_out = int(earlier.group(1).replace(",", "")) if earlier else 0
    rest = (earlier.start() if earlier else len(text)) - limit
    return f"{text[:limit]}… [{rest + left_out:,} more characters not shown]"


def _text(value: Any) -> str:
    return cut(_full_text(value), MAX_SHOWN_CHARS)


def _full_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value)) if abs(value) >= 1e4 else repr(value)
    return str(value)


def inline(value: Any) -> str:
    """Text for one line of Markdown: HTML-escaped, Markdown-escaped, single line."""
    if isinstance(value, Markup):
        return str(value)
    text = visible(_text(value))
    text = " ".join(text.split())  # no newline can start a heading, a fence or front matter
    text = html.escape(text, quote=True)
    text = MD_SPECIAL.sub(r"\\\1", text)
    return UNDERSCORE_EDGE.sub(r"\\_", text)


def finalize(value: Any) -> Markup:
    """Every `{{ }}`: Markup (macros, our filters) passes as is, anything else is escaped."""
    return value if isinstance(value, Markup) else Markup(inline(value))


def to_json(value: Any) -> str:
    """Compact, sorted JSON text of a value (escaped later by whatever shows it)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def cell(value: Any) -> Markup:
    """Text for a table cell (pipes are already escaped by `inline`)."""
    return Markup(inline(value) or "—")


def code(value: Any) -> Markup:
    """An inline code span that no content can break out of."""
    text = " ".join(visible(_text(value)).split())
    if "|" in text:  # a pipe would split a table cell even inside a code span (GFM)
        return Markup(
            "<code>"
            + "".join(f"&#{ord(ch)};" if ch in HTML_CODE_SPECIAL else ch for ch in text)
            + "</code>"
        )
    longest = max((len(m) for m in BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")


def codeblock(value: Any, language: str = "") -> Markup:
    """A fenced code block longer than any backtick run inside it."""
    text = visible(cut(_full_text(value), MAX_BLOCK_CHARS)).rstrip("\n")
    longest = max((len(m) for m in BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}{re.sub(r'[^A-Za-z0-9_+-]', '', language)}\n{text}\n{fence}")


def number(value: Any) -> str:
    """Thousands separators for integers; short form for floats."""
    if isinstance(value, bool) or value is None:
        return _text(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return _text(value)


def human_size(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(value)


def params(value: int | None) -> str:
    """Parameter counts as people say them: 1.1B, 7.2M, 4,096."""
    if value is None:
        return ""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return str(value)
