"""Training curves as static SVG, written at build time: no JavaScript, no plotting library.

Hand-written SVG keeps the site self-contained and the bytes deterministic (fixed number
formatting, no timestamps, no random ids). matplotlib would add tens of megabytes of dependency
and fonts to draw a few polylines. Every text in the SVG is XML-escaped; the page shows the file
through `<img>`, where an SVG can run no script anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 40, 48
COLOURS = ("#1f6fb2", "#d9480f", "#2b8a3e", "#862e9c", "#5c5f66", "#c2255c")
MAX_POINTS = 600  # per series; longer series are thinned evenly (first and last kept)


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (x, y), x ascending


def _num(value: float) -> str:
    """Short, stable text for a coordinate."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _label(value: float) -> str:
    """A tick label: plain for ordinary numbers, scientific for tiny or huge ones."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude < 1e-3 or magnitude >= 1e6:
        mantissa, exponent = f"{value:.2e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.6g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (the 1-2-5 rule)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        spread = abs(low) * 0.1 or 1.0
        low, high = low - spread, high + spread
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def thin(
    points: Sequence[tuple[float, float]], limit: int = MAX_POINTS
) -> list[tuple[float, float]]:
    if len(points) <= limit:
        return list(points)
    stride = (len(points) - 1) / (limit - 1)
    return [points[round(i * stride)] for i in range(limit)]


def line_chart(title: str, x_label: str, y_label: str, series: Sequence[Series]) -> str:
    """An SVG line chart of one or more series sharing both axes."""
    drawn = [
        Series(s.label, tuple(p for p in s.points if all(map(math.isfinite, p))))
        for s in series
        if s.points
    ]
    drawn = [s for s in drawn if s.points]
    xs = [x for s in drawn for x, _ in s.points] or [0.0, 1.0]
    ys = [y for s in drawn for _, y in s.points] or [0.0, 1.0]
    x_ticks, y_ticks = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - (y - y0) / ((y1 - y0) or 1) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in y_ticks:
        y = _num(sy(tick))
        out.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#e4e7eb"/>'
            f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'fill="#444">{escape(_label(tick))}</text>'
        )
    for tick in x_ticks:
        x = _num(sx(tick))
        out.append(
            f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{TOP + plot_h}" stroke="#f1f3f5"/>'
            f'<text x="{x}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'fill="#444">{escape(_label(tick))}</text>'
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#868e96"/>'
    )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'fill="#222">{escape(x_label)}</text>'
    )
    out.append(
        f'<text x="16" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" fill="#222" '
        f'transform="rotate(-90 16 {TOP + plot_h / 2:.0f})">{escape(y_label)}</text>'
    )
    for index, s in enumerate(drawn):
        colour = COLOURS[index % len(COLOURS)]
        points = thin(s.points)
        coords = " ".join(f"{_num(sx(x))},{_num(sy(y))}" for x, y in points)
        if len(points) == 1:
            cx, cy = coords.split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        else:
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2" '
                'stroke-linejoin="round"/>'
            )
            if len(points) <= 12:  # sparse series (eval every epoch): mark the points
                out += [
                    f'<circle cx="{_num(sx(x))}" cy="{_num(sy(y))}" r="3" fill="{colour}"/>'
                    for x, y in points
                ]
        legend_y = TOP + 14 + 16 * index
        legend_x = WIDTH - RIGHT - 170
        out.append(
            f'<line x1="{legend_x}" y1="{legend_y}" x2="{legend_x + 18}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{legend_x + 24}" y="{legend_y}" dominant-baseline="middle" '
            f'fill="#222">{escape(s.label[:28])}</text>'
        )
    if not drawn:
        out.append(
            f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle" '
            'fill="#666">no logged values</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def training_charts(history: Sequence[dict[str, object]]) -> dict[str, str]:
    """File name → SVG for the loss and learning-rate curves of a Trainer log (when logged)."""

    def series(label: str, key: str) -> Series:
        pts = []
        for point in history:
            value = point.get(key) if key != "eval" else None
            if isinstance(value, (int, float)) and isinstance(point.get("step"), int):
                pts.append((float(point["step"]), float(value)))  # type: ignore[arg-type]
        return Series(label, tuple(pts))

    charts: dict[str, str] = {}
    loss = series("training loss", "loss")
    eval_loss = Series(
        "eval loss",
        tuple(
            (float(p["step"]), float(ev["eval_loss"]))  # type: ignore[arg-type]
            for p in history
            if isinstance(ev := p.get("eval"), dict)
            and isinstance(ev.get("eval_loss"), (int, float))
        ),
    )
    if loss.points or eval_loss.points:
        charts["loss.svg"] = line_chart("Loss", "step", "loss", [loss, eval_loss])
    lr = series("learning rate", "learning_rate")
    if lr.points:
        charts["learning-rate.svg"] = line_chart("Learning rate", "step", "learning rate", [lr])
    return charts
