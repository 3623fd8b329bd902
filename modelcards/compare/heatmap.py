"""Pictures and tables of a `DeepDiff` for the card and the site.

`heatmap_svg` draws layers × module types coloured by relative change (‖ΔW‖ / ‖W‖, log scale) as
hand-written SVG: no plotting library, no timestamps, same input → same bytes. Every label goes
through XML escaping, since tensor names come from the model's files.
"""

from __future__ import annotations

import math

from modelcards.compare.deep import MODULES, DeepDiff, GroupDelta
from modelcards.compare.deep.origin import rank_label

__all__ = ["heatmap_svg", "layer_table_markdown", "module_table_markdown", "similarity_text"]

# viridis, sampled at 9 points (low → high)
PALETTE = (
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
)  # fmt: skip
UNCHANGED = "#eeeeee"
UNDEFINED = "#d62728"  # a change of an all-zero tensor: no relative size
OUTSIDE = "outside blocks"
CELL_W, CELL_H = 56, 14
FONT = "font-family:sans-serif;font-size:10px"


def escape(text: str) -> str:
    """XML text: &, < and > escaped (xml.sax.saxutils would import urllib.request)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return escape(text).replace('"', "&quot;").replace("'", "&apos;")


def _color(t: float) -> str:
    t = min(1.0, max(0.0, t))
    x = t * (len(PALETTE) - 1)
    i = min(int(x), len(PALETTE) - 2)
    f = x - i
    rgb = (round(a + (b - a) * f) for a, b in zip(PALETTE[i], PALETTE[i + 1], strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _pct(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0%"
    return f"{value * 100:.3g}%"


def _scale(groups: list[GroupDelta]) -> tuple[int, int]:
    """Whole decades covering every positive relative change (at least one decade)."""
    values = [
        v for g in groups if (v := g.relative_change) is not None and v > 0 and math.isfinite(v)
    ]
    if not values:
        return -4, 0
    lo = math.floor(math.log10(min(values)))
    hi = math.ceil(math.log10(max(values)))
    return lo, max(hi, lo + 1)


def _fill(group: GroupDelta, lo: int, hi: int) -> str:
    value = group.relative_change
    if value is None or not math.isfinite(value):
        return UNDEFINED
    if value == 0:
        return UNCHANGED
    return _color((math.log10(value) - lo) / (hi - lo))


def heatmap_svg(deep: DeepDiff, *, title: str = "Relative change by layer and module") -> str:
    """An SVG document (text) of layers × module types, coloured by ‖ΔW‖ / ‖W‖."""
    cells = {(c.layer, c.module): c for c in deep.cells}
    layers: list[str | None] = [g.layer for g in deep.by_layer]
    if any(layer is None for layer, _ in cells):
        layers.append(None)
    modules = [m for m in MODULES if any(module == m for _, module in cells)]
    lo, hi = _scale(list(cells.values()))
    label_w = max([len(OUTSIDE if la is None else f"layer {la}") for la in layers] + [6]) * 6 + 12
    top = 40
    grid_w = max(1, len(modules)) * CELL_W
    grid_h = max(1, len(layers)) * CELL_H
    legend_y = top + grid_h + 16
    width = label_w + max(grid_w, 10 * 24 + 40) + 20
    height = legend_y + 56
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_attr(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{label_w}" y="14" style="{FONT};font-weight:bold">{escape(title)}</text>',
    ]
    for j, module in enumerate(modules):
        x = label_w + j * CELL_W + CELL_W // 2
        out.append(
            f'<text x="{x}" y="{top - 6}" text-anchor="middle" style="{FONT}">'
            f"{escape(module)}</text>"
        )
    for i, layer in enumerate(layers):
        y = top + i * CELL_H
        label = OUTSIDE if layer is None else f"layer {layer}"
        out.append(
            f'<text x="{label_w - 6}" y="{y + CELL_H - 3}" text-anchor="end" '
            f'style="{FONT}">{escape(label)}</text>'
        )
        for j, module in enumerate(modules):
            cell = cells.get((layer, module))
            if cell is None:
                continue
            tip = (
                f"{label} · {module}: relative change {_pct(cell.relative_change)}, "
                f"{_pct(cell.changed_share)} of elements changed, "
                f"{cell.changed_tensors}/{cell.tensors} tensors changed"
            )
            out.append(
                f'<rect x="{label_w + j * CELL_W}" y="{y}" width="{CELL_W - 1}" '
                f'height="{CELL_H - 1}" fill="{_fill(cell, lo, hi)}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    # legend: ten swatches over the decades, then the two special colours
    out.append(
        f'<text x="{label_w}" y="{legend_y - 4}" style="{FONT}">‖ΔW‖ / ‖W‖ (log scale)</text>'
    )
    for k in range(10):
        out.append(
            f'<rect x="{label_w + k * 24}" y="{legend_y}" width="24" height="10" '
            f'fill="{_color(k / 9)}"/>'
        )
    for d in range(lo, hi + 1):
        x = label_w + round((d - lo) / (hi - lo) * 240)
        text = f"{10.0**d * 100:g}%"
        out.append(
            f'<text x="{x}" y="{legend_y + 22}" text-anchor="middle" style="{FONT}">'
            f"{escape(text)}</text>"
        )
    special_y = legend_y + 32
    for k, (fill, text) in enumerate(
        ((UNCHANGED, "unchanged"), (UNDEFINED, "changed, base all zero"))
    ):
        x = label_w + k * 150
        out.append(f'<rect x="{x}" y="{special_y}" width="10" height="10" fill="{fill}"/>')
        out.append(f'<text x="{x + 14}" y="{special_y + 9}" style="{FONT}">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Escape for a Markdown table cell (also safe as HTML)."""
    text = escape(text).replace("\\", "\\\\")
    for char in "|*_`[]#":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def similarity_text(value: float | None) -> str:
    """A cosine similarity as the tables and the terminal show it."""
    return "—" if value is None else f"{value:.4f}"


def layer_table_markdown(deep: DeepDiff) -> str:
    """One row per layer: tensors changed, relative change, share of elements, biggest mover,
    cosine similarity to the base, and the effective ranks of the changed matrices' ΔW."""
    lines = [
        "| layer | tensors changed | relative change | elements changed | most changed module "
        "| similarity | ΔW rank |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for group in deep.by_layer:
        in_layer = [c for c in deep.cells if c.layer == group.layer]
        top = max(in_layer, key=lambda c: c.relative_change or 0.0, default=None)
        mover = (
            f"{_md(top.module or '')} ({_pct(top.relative_change)})"
            if top and top.relative_change
            else "—"
        )
        rank = rank_label([t for t in deep.tensors if t.layer == group.layer])
        lines.append(
            f"| {_md(group.layer or '')} | {group.changed_tensors}/{group.tensors} | "
            f"{_pct(group.relative_change)} | {_pct(group.changed_share)} | {mover} | "
            f"{similarity_text(group.similarity)} | {rank or '—'} |"
        )
    return "\n".join(lines) + "\n"


def module_table_markdown(deep: DeepDiff) -> str:
    """One row per module type, over all layers."""
    lines = [
        "| module | tensors changed | relative change | elements changed | similarity |",
        "|---|---:|---:|---:|---:|",
    ]
    for group in deep.by_module:
        lines.append(
            f"| {_md(group.module or '')} | {group.changed_tensors}/{group.tensors} | "
            f"{_pct(group.relative_change)} | {_pct(group.changed_share)} | "
            f"{similarity_text(group.similarity)} |"
        )
    return "\n".join(lines) + "\n"
