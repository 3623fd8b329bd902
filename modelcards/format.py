"""Terminal, Markdown and JSON views of a diff (for `modelcards diff`)."""

from __future__ import annotations

import json
from typing import Any

from modelcards.compare.model import Change, ModelDiff
from modelcards.render.escape import visible

MAX_VALUE = 48


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = (
        value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    )
    text = " ".join(visible(text).split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def diff_json(diff: ModelDiff) -> str:
    return json.dumps(diff.as_json(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def diff_text(diff: ModelDiff, *, show_all: bool = False, color: bool = False) -> str:
    def bold(text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if color else text

    significant = diff.significant
    lines = [
        f"{bold('base')}   {diff.base.describe()}",
        f"{bold('tuned')}  {diff.tuned.describe()}",
        f"{bold('relation')} {diff.relation}; {len(significant)} significant change"
        f"{'' if len(significant) == 1 else 's'} of {len(diff.changes)} differences",
    ]
    groups = diff.by_area(significant=None if show_all else True)
    for area, changes in groups.items():
        lines += ["", bold(area.upper())]
        lines += [_text_row(c) for c in changes]
    hidden = len(diff.changes) - len(significant)
    if hidden and not show_all:
        lines += [
            "",
            f"{hidden} insignificant differences (serializer noise, library defaults, "
            "training-only settings) hidden; --all shows them",
        ]
    for change in diff.changes:
        if change.detail and (show_all or change.significant):
            lines += ["", bold(f"{change.key} ({change.file})"), change.detail.rstrip("\n")]
    for note in diff.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def _text_row(change: Change) -> str:
    mark = "*" if change.significant else " "
    where = (
        f"{change.file}:{change.key}" if change.file and change.file != "weights" else change.key
    )
    return f"  {mark} {_short(where):<40} {visible(change.meaning)}"


def diff_markdown(diff: ModelDiff) -> str:
    def cell(value: Any) -> str:
        return _short(value).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    lines = [
        f"## Changes: `{diff.tuned.describe()}` vs `{diff.base.describe()}`",
        "",
        f"Relation: **{diff.relation}**. {len(diff.significant)} significant of {len(diff.changes)} differences.",
    ]
    for area, changes in diff.by_area().items():
        lines += [
            "",
            f"### {area}",
            "",
            "| | Key | Before | After | Meaning |",
            "|---|---|---|---|---|",
        ]
        for c in changes:
            lines.append(
                f"| {'**yes**' if c.significant else 'no'} | `{cell(c.key)}` | {cell(c.before)} "
                f"| {cell(c.after)} | {cell(c.meaning)} |"
            )
    return "\n".join(lines) + "\n"
