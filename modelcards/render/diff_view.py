"""Terminal, Markdown and JSON views of a diff (for `modelcards diff`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from modelcards.compare.model import Change, ModelDiff
from modelcards.render.escape import visible

if TYPE_CHECKING:  # a --deep diff brings its own: a header-only one needs neither
    from modelcards.compare.deep import DeepDiff

MAX_VALUE = 48


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = (
        value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    )
    text = " ".join(visible(text).split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def diff_json(diff: ModelDiff, deep: DeepDiff | None = None) -> str:
    data = diff.as_json()
    if deep is not None:
        from modelcards.render.origin_context import deep_json

        data["deep"] = deep_json(deep, tensors=True)
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def deep_text(deep: DeepDiff) -> list[str]:
    from modelcards.compare.deep.origin import base_check, low_rank
    from modelcards.compare.heatmap import similarity_text

    total = deep.total
    lines = [
        "",
        f"WEIGHTS (deep): {total.changed_tensors} of {total.tensors} tensors changed, relative "
        f"change {_pct(total.relative_change)}, {_pct(total.changed_share)} of elements",
    ]
    for group in deep.by_module:
        if group.tensors:
            lines.append(
                f"  {group.module or '?':<12} {group.changed_tensors:>5}/{group.tensors:<5} "
                f"relative change {_pct(group.relative_change):>9}  similarity "
                f"{similarity_text(group.similarity)}"
            )
    if deep.skipped:
        lines.append(f"  {len(deep.skipped)} tensors not compared (see --format json for why)")
    lines.append(f"  {base_check(deep).sentence}")
    found = low_rank(deep)
    if found is not None:
        lines.append(f"  {found.sentence}")
    return lines


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.3g}%"


def diff_text(
    diff: ModelDiff, deep: DeepDiff | None = None, *, show_all: bool = False, color: bool = False
) -> str:
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
    if deep is not None:
        lines += deep_text(deep)
    for note in diff.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def _text_row(change: Change) -> str:
    mark = "*" if change.significant else " "
    where = (
        f"{change.file}:{change.key}" if change.file and change.file != "weights" else change.key
    )
    return f"  {mark} {_short(where):<40} {visible(change.meaning)}"


def diff_markdown(diff: ModelDiff, deep: DeepDiff | None = None) -> str:
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
    if deep is not None:
        from modelcards.compare.deep.origin import base_check, low_rank
        from modelcards.compare.heatmap import layer_table_markdown, module_table_markdown

        lines += [
            "",
            "### weights (deep)",
            "",
            base_check(deep).sentence,
            *([] if (found := low_rank(deep)) is None else ["", found.sentence]),
            "",
            module_table_markdown(deep),
            layer_table_markdown(deep),
        ]
    return "\n".join(lines) + "\n"
