"""Charts drawn on the server as inline SVG (no script, no CDN): horizontal stacked bars, one
row per label, each bar a run of series. Labels and titles are escaped; the page embeds the
result as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROW, GAP, LABEL_W, BAR_W, VALUE_W = 22, 6, 170, 520, 60


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    color: str


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, dict]],
    series: Sequence[Series],
    *,
    chart_id: str,
    empty: str = "—",
) -> Markup:
    """One bar per `(label, {series key: value})`, scaled to the largest total, with a legend;
    `empty` written where there is no row."""
    top = max([sum(values.get(s.key, 0) for s in series) for _, values in rows] or [0]) or 1
    legend_h = 24
    height = legend_h + max(len(rows), 1) * (ROW + GAP) + GAP
    width = LABEL_W + BAR_W + VALUE_W
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-size="12" font-family="Noto Sans CJK SC, sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    x = LABEL_W
    for s in series:
        out.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{s.color}"/>')
        out.append(f'<text x="{x + 16}" y="14">{escape(s.label)}</text>')
        x += 16 + 14 * max(len(s.label), 2) // 2 + 28
    for i, (label, values) in enumerate(rows):
        y = legend_h + GAP + i * (ROW + GAP)
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y + ROW - 7}" text-anchor="end">{escape(label)}</text>'
        )
        x, total = float(LABEL_W), 0
        for s in series:
            value = values.get(s.key, 0)
            if value:
                w = BAR_W * value / top
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW}" fill="{s.color}">'
                    f"<title>{escape(label)} · {escape(s.label)}: {value}</title></rect>"
                )
                x += w
            total += value
        out.append(f'<text x="{x + 4:.1f}" y="{y + ROW - 7}">{total}</text>')
    if not rows:
        out.append(f'<text x="{LABEL_W}" y="{legend_h + GAP + ROW - 7}">{escape(empty)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
