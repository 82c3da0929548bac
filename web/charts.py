"""Server-rendered SVG charts: no script, no CDN, and they scale to any screen width."""
from __future__ import annotations

from markupsafe import Markup, escape


def _ceiling(values: list[int]) -> int:
    top = max(values, default=0)
    return max(top, 1)


def grouped_bars(labels: list[str], series: list[tuple[str, list[int]]], *, title: str) -> Markup:
    """Vertical bars: one group per label, one bar per series (coloured by CSS class s0…)."""
    width, height, left, bottom, top_pad = 420, 230, 30, 26, 10
    plot_h = height - bottom - top_pad
    group_w = (width - left) / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    top = _ceiling([v for _, values in series for v in values])
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>']
    for tick in (0, top // 2, top):
        y = top_pad + plot_h * (1 - tick / top)
        parts.append(f'<line class="grid" x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, values) in enumerate(series):
            h = plot_h * values[i] / top
            parts.append(f'<rect class="s{j}" x="{x0 + j * bar_w:.1f}" y="{top_pad + plot_h - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)} {escape(name)}：'
                         f'{values[i]}</title></rect>')
        parts.append(f'<text class="label" x="{left + (i + 0.5) * group_w:.1f}" y="{height - 8}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span class="key"><i class="s{j}"></i>{escape(name)}</span>'
                     for j, (name, _) in enumerate(series))
    return Markup(f'<figure class="chart-box">{"".join(parts)}<figcaption>{legend}</figcaption></figure>')


def horizontal_bars(rows: list[tuple[str, int]], *, title: str) -> Markup:
    """One bar per row, labelled, for rankings (categories, partner units)."""
    if not rows:
        return Markup('<p class="empty">暂无数据</p>')
    row_h, label_w, width = 26, 130, 380
    height = row_h * len(rows) + 4
    top = _ceiling([v for _, v in rows])
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = i * row_h + 4
        w = (width - label_w - 40) * value / top
        parts.append(f'<text class="label" x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:8])}</text>'
                     f'<rect class="s0" x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h - 8}"/>'
                     f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + 15}">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
