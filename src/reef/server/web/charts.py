"""Inline SVG charts drawn on the server: a run's latency CDF and histogram, and a Pareto
scatter whose points link to their runs. Colours and lines come from the style sheet's
classes (the pages' Content-Security-Policy allows no inline style)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reef.server.web.markup import Safe, html, join, number, segment

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 44
# Beyond this many dominated runs, the scatter draws their density rather than each run.
MAX_POINTS = 2000
GRID = (64, 32)


@dataclass(frozen=True)
class Scale:
    """Data values ``lo``..``hi`` onto pixels ``a``..``b``, linear or logarithmic."""

    lo: float
    hi: float
    a: float
    b: float
    log: bool = False

    def __call__(self, value: float) -> float:
        lo, hi, v = self.lo, self.hi, value
        if self.log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(max(v, self.lo))
        share = 0.5 if hi == lo else (v - lo) / (hi - lo)
        return self.a + share * (self.b - self.a)

    def ticks(self, count: int = 5) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            found = [10.0**e for e in range(first, last + 1) if self.lo <= 10.0**e <= self.hi]
            return found if len(found) >= 2 else [self.lo, self.hi]
        return nice_ticks(self.lo, self.hi, count)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values between ``lo`` and ``hi`` (about ``count`` of them)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.ceil(lo / step) * step
    ticks: list[float] = []
    value = start
    while value <= hi + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(value, 12))
        value += step
    return ticks


def scale(values: Sequence[float], a: float, b: float, *, zero: bool = False) -> Scale:
    """A scale fitting ``values``: logarithmic where they are all positive and span more
    than two orders of magnitude; from 0 with ``zero``."""
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if not zero and lo > 0 and hi / lo > 100:
        return Scale(lo / 1.1, hi * 1.1, a, b, log=True)
    if zero:
        lo = min(lo, 0.0)
    pad = (hi - lo) * 0.05 or (abs(hi) * 0.1 or 1.0)
    return Scale(lo if zero else lo - pad, hi + pad, a, b)


def _frame(
    x: Scale, y: Scale, x_label: str, y_label: str, y_format: Callable[[float], str]
) -> Safe:
    parts: list[Safe] = []
    bottom, left = HEIGHT - BOTTOM, LEFT
    for tick in x.ticks():
        px = x(tick)
        parts.append(
            html(
                '<line class="grid" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>'
                '<text class="tick" x="{0}" y="{3}" text-anchor="middle">{4}</text>',
                f"{px:.1f}",
                TOP,
                bottom,
                bottom + 16,
                number(tick, 3),
            )
        )
    for tick in y.ticks():
        py = y(tick)
        parts.append(
            html(
                '<line class="grid" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>'
                '<text class="tick" x="{3}" y="{4}" text-anchor="end">{5}</text>',
                left,
                WIDTH - RIGHT,
                f"{py:.1f}",
                left - 6,
                f"{py + 4:.1f}",
                y_format(tick),
            )
        )
    parts.append(
        html(
            '<line class="axis" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>'
            '<line class="axis" x1="{0}" x2="{0}" y1="{3}" y2="{2}"/>'
            '<text class="label" x="{4}" y="{5}" text-anchor="middle">{6}</text>'
            '<text class="label" x="14" y="{7}" text-anchor="middle" '
            'transform="rotate(-90 14 {7})">{8}</text>',
            left,
            WIDTH - RIGHT,
            bottom,
            TOP,
            (left + WIDTH - RIGHT) / 2,
            HEIGHT - 6,
            x_label,
            (TOP + bottom) / 2,
            y_label,
        )
    )
    return join(parts)


def _svg(label: str, body: Safe, kind: str) -> Safe:
    return html(
        '<svg class="chart {}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        "<title>{}</title>{}</svg>",
        kind,
        WIDTH,
        HEIGHT,
        label,
        label,
        body,
    )


def cdf(points: Sequence[tuple[float, float]], marks: dict[str, float], count: int) -> Safe:
    """The CDF of raw latencies (ms): ``points`` as (latency, share at or below), with the
    percentiles of ``marks`` as dashed lines."""
    xs = [p[0] for p in points] or [0.0, 1.0]
    x = scale(xs, LEFT, WIDTH - RIGHT)
    y = Scale(0.0, 1.0, HEIGHT - BOTTOM, TOP)
    steps = " ".join(f"{x(v):.1f},{y(s):.1f}" for v, s in points)
    lines = [
        html(
            '<line class="mark" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>'
            '<text class="marklabel" x="{3}" y="{4}">{5} {6} ms</text>',
            f"{x(value):.1f}",
            TOP,
            HEIGHT - BOTTOM,
            f"{x(value) + 3:.1f}",
            TOP + 12 + 12 * i,
            name,
            number(value, 3),
        )
        for i, (name, value) in enumerate(marks.items())
    ]
    body = join(
        [
            _frame(x, y, "latency (ms)", "share of queries", lambda t: f"{t:.0%}"),
            html('<polyline class="series" points="{}"/>', steps),
            *lines,
        ]
    )
    return _svg(f"Latency CDF of {count:,} queries", body, "cdf")


def histogram(edges: Sequence[float], counts: Sequence[int]) -> Safe:
    """A histogram of raw latencies (ms): ``counts`` between consecutive ``edges``."""
    x = (
        Scale(edges[0], edges[-1], LEFT, WIDTH - RIGHT)
        if len(edges) > 1
        else scale([0, 1], LEFT, WIDTH - RIGHT)
    )
    top = max(counts) if counts else 1
    y = scale([0.0, float(top)], HEIGHT - BOTTOM, TOP, zero=True)
    bars = []
    for lo, hi, n in zip(edges, edges[1:], counts, strict=False):
        if n == 0:
            continue
        x0, x1, y0 = x(lo), x(hi), y(float(n))
        bars.append(
            html(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}">'
                "<title>{} to {} ms: {} queries</title></rect>",
                f"{x0:.1f}",
                f"{y0:.1f}",
                f"{max(x1 - x0 - 1, 1):.1f}",
                f"{max(y(0.0) - y0, 0.5):.1f}",
                number(lo, 3),
                number(hi, 3),
                f"{n:,}",
            )
        )
    body = join([_frame(x, y, "latency (ms)", "queries", lambda t: number(t, 3)), *bars])
    return _svg("Latency histogram", body, "histogram")


@dataclass(frozen=True)
class Point:
    """A run on the Pareto scatter: its id, the two values drawn and a one-line caption."""

    run_id: str
    x: float
    y: float
    caption: str


def scatter(
    frontier: Sequence[Point],
    dominated: Sequence[Any],
    caption: Callable[[str, float, float], str],
    x_label: str,
    y_label: str,
) -> Safe:
    """The Pareto scatter: frontier runs as large linked points joined by a line, dominated
    runs (with ``id`` and ``values``: x, y) as small linked points captioned by ``caption``,
    or, beyond
    ``MAX_POINTS`` of them, as a density grid."""
    import numpy as np

    xs = np.fromiter((d.values[0] for d in dominated), dtype=np.float64, count=len(dominated))
    ys = np.fromiter((d.values[1] for d in dominated), dtype=np.float64, count=len(dominated))
    fx = [p.x for p in frontier]
    fy = [p.y for p in frontier]
    x = scale(_extremes(xs, fx), LEFT, WIDTH - RIGHT)
    y = scale(_extremes(ys, fy), HEIGHT - BOTTOM, TOP)
    parts = [_frame(x, y, x_label, y_label, lambda t: number(t, 3))]
    if len(dominated) > MAX_POINTS:
        parts.append(_density(xs, ys, x, y))
    else:
        parts.extend(
            _point(Point(d.id, a, b, caption(d.id, a, b)), x, y, "point dominated", 3)
            for d, a, b in zip(dominated, xs.tolist(), ys.tolist(), strict=True)
        )
    ordered = sorted(frontier, key=lambda p: (p.x, p.y))
    if len(ordered) > 1:
        line = " ".join(f"{x(p.x):.1f},{y(p.y):.1f}" for p in ordered)
        parts.append(html('<polyline class="series frontier" points="{}"/>', line))
    parts.extend(_point(p, x, y, "point frontier", 6) for p in frontier)
    label = f"Pareto scatter: {len(frontier):,} frontier runs, {len(dominated):,} dominated"
    return _svg(label, join(parts), "scatter")


def _extremes(values: Any, more: Sequence[float]) -> list[float]:
    import numpy as np

    finite = values[np.isfinite(values)] if len(values) else values
    found = [float(finite.min()), float(finite.max())] if len(finite) else []
    return found + [v for v in more if math.isfinite(v)]


def _point(p: Point, x: Scale, y: Scale, kind: str, radius: int) -> Safe:
    return html(
        '<a href="/runs/{}" data-run="{}"><circle class="{}" cx="{}" cy="{}" r="{}">'
        "<title>{}</title></circle></a>",
        segment(p.run_id),
        p.run_id,
        kind,
        f"{x(p.x):.1f}",
        f"{y(p.y):.1f}",
        radius,
        p.caption,
    )


def _pixels(values: Any, s: Scale) -> Any:
    import numpy as np

    lo, hi, v = s.lo, s.hi, values
    if s.log:
        lo, hi, v = math.log10(lo), math.log10(hi), np.log10(np.maximum(values, s.lo))
    share = 0.5 if hi == lo else (v - lo) / (hi - lo)
    return s.a + share * (s.b - s.a)


def _density(xs: Any, ys: Any, x: Scale, y: Scale) -> Safe:
    import numpy as np

    columns, rows = GRID
    width = (WIDTH - RIGHT - LEFT) / columns
    height = (HEIGHT - BOTTOM - TOP) / rows
    keep = np.isfinite(xs) & np.isfinite(ys)
    cx = np.clip(((_pixels(xs[keep], x) - LEFT) / width).astype(np.int64), 0, columns - 1)
    cy = np.clip(((_pixels(ys[keep], y) - TOP) / height).astype(np.int64), 0, rows - 1)
    counts = np.bincount(cx * rows + cy, minlength=columns * rows)
    top = int(counts.max()) if len(counts) else 1
    rects = []
    for cell in np.flatnonzero(counts):
        n = int(counts[cell])
        col, row = divmod(int(cell), rows)
        rects.append(
            html(
                '<rect class="density d{}" x="{}" y="{}" width="{}" height="{}">'
                "<title>{} dominated runs</title></rect>",
                min(4, 1 + int(4 * math.log1p(n) / math.log1p(top))),
                f"{LEFT + col * width:.1f}",
                f"{TOP + row * height:.1f}",
                f"{width:.1f}",
                f"{height:.1f}",
                f"{n:,}",
            )
        )
    return join(rects)
