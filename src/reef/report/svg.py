"""Charts as standalone SVG strings, for offline HTML reports: no dependencies, no scripts, no
external references, and the same bytes for the same chart.

Hooks for page scripts and styles (presentation attributes lose to any CSS rule, so a page can
restyle them): the root ``<svg class="reef-chart reef-KIND">`` carries ``id`` = ``chart_id``
when given; a line or histogram series is ``<g class="series">``, a histogram bin ``class="bin"``,
a scatter point or line marker ``class="point"`` (``"point on-frontier"`` when emphasised), a
bar ``<g class="bar">``, a legend entry ``class="legend-item"``. Each of them carries
``data-run="ID"`` when it belongs to a run, and a ``<title>`` tooltip with its label and values.
Coordinates are rounded to 2 decimals to keep files small.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from reef.report.charts import (
    BarChart,
    Chart,
    Histogram,
    LeftOut,
    LineChart,
    Point,
    ScatterChart,
    bin_histogram,
    color,
    dashes,
    format_number,
    frontier_line,
    group_order,
    keep_xy,
    log_ticks,
    nice_ticks,
    shown_points,
    tick_labels,
)

__all__ = ["render_svg"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK = "#333333"  # axes, text
GRID = "#e3e3e3"
FAINT = "#666666"  # notes
CHAR = 6.6  # average width of an 11px character, for layout without font metrics
ROW = 18  # legend row height
MARKED_SERIES = 30  # a line with at most this many points gets a marker (and tooltip) per point

# Characters XML 1.0 forbids even as references: a label holding one would break the file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: str) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _n(value: float) -> str:
    """A coordinate, to 2 decimals without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _shorten(text: str, chars: int) -> str:
    chars = max(chars, 2)
    return text if len(text) <= chars else text[: chars - 1] + "\u2026"


def _run(run_id: str | None) -> str:
    return f' data-run="{_esc(run_id)}"' if run_id is not None else ""


def _dash(pattern: tuple[float, ...]) -> str:
    return f' stroke-dasharray="{" ".join(_n(d) for d in pattern)}"' if pattern else ""


# ---------------------------------------------------------------------------------------------
# Axes and the plot area


@dataclass(frozen=True)
class _Axis:
    """A numeric axis: its domain is its first to last tick."""

    ticks: list[float]
    log: bool
    labels: list[str] = field(init=False)
    _lo: float = field(init=False)
    _span: float = field(init=False)

    def __post_init__(self) -> None:
        lo, hi = self.ticks[0], self.ticks[-1]
        if self.log:
            lo, hi = math.log10(lo), math.log10(hi)
        object.__setattr__(self, "labels", tick_labels(self.ticks))
        object.__setattr__(self, "_lo", lo)
        object.__setattr__(self, "_span", hi - lo)

    def fraction(self, value: float) -> float:
        """Where ``value`` falls, 0 at the first tick and 1 at the last."""
        return ((math.log10(value) if self.log else value) - self._lo) / self._span


def _axis(lo: float, hi: float, log: bool, cap: float | None = None) -> _Axis:
    if log:
        return _Axis(log_ticks(lo, hi), True)
    if cap is not None and cap > lo:
        ticks = nice_ticks(lo, min(hi, cap))
        if ticks[-1] > cap:  # the cap is the top, whether or not it falls on a tick
            ticks = [t for t in ticks if t < cap] + [cap]
        return _Axis(ticks, False)
    return _Axis(nice_ticks(lo, hi), False)


@dataclass(frozen=True)
class _Bands:
    """A category axis: one band per label, in order (top to bottom when vertical)."""

    labels: list[str]


@dataclass(frozen=True)
class _Frame:
    """The plot area in pixels, and the axes that map data into it."""

    left: float
    top: float
    right: float
    bottom: float
    x: _Axis | _Bands
    y: _Axis | _Bands

    def px(self, value: float) -> float:
        assert isinstance(self.x, _Axis)
        return self.left + self.x.fraction(value) * (self.right - self.left)

    def py(self, value: float) -> float:
        assert isinstance(self.y, _Axis)
        return self.bottom - self.y.fraction(value) * (self.bottom - self.top)

    def band(self, index: int, count: int, vertical: bool) -> tuple[float, float]:
        """The start and size in pixels of band ``index`` of ``count``."""
        if vertical:
            size = (self.bottom - self.top) / count
            return self.top + index * size, size
        size = (self.right - self.left) / count
        return self.left + index * size, size


@dataclass(frozen=True)
class _Key:
    """A legend entry."""

    label: str
    color: str
    shape: Literal["line", "box", "dot"]
    dash: tuple[float, ...] = ()
    run_id: str | None = None


@dataclass
class _Plot:
    """What a chart kind hands to the layout: axes, legend, what was left out, and the marks."""

    kind: str
    x_label: str
    y_label: str
    x: _Axis | _Bands
    y: _Axis | _Bands
    marks: Callable[[_Frame], Iterable[str]]
    legend: list[_Key] = field(default_factory=list)
    clip: bool = False


# ---------------------------------------------------------------------------------------------
# The entry point and the layout


def render_svg(
    chart: Chart, *, width: int = 720, height: int = 400, chart_id: str | None = None
) -> str:
    """``chart`` as a standalone ``<svg>`` element ``width`` by ``height`` pixels (a viewBox
    scales it). ``chart_id`` becomes the root's ``id`` and prefixes the ids inside, so that
    several charts can share a page; without it the ids derive from the chart's content."""
    if width < 240 or height < 160:
        raise ValueError(f"a chart needs at least 240x160 pixels, not {width}x{height}")
    plot: _Plot | None
    if isinstance(chart, LineChart):
        plot, left_out = _line(chart)
    elif isinstance(chart, Histogram):
        plot, left_out = _histogram(chart)
    elif isinstance(chart, BarChart):
        plot, left_out = _bars(chart)
    elif isinstance(chart, ScatterChart):
        plot, left_out = _scatter(chart)
    else:
        raise TypeError(f"not a chart: {type(chart).__name__}")

    kind = type(chart).__name__.removesuffix("Chart").lower()
    id_attr = f' id="{_esc(chart_id)}"' if chart_id is not None else ""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_esc(chart.title)}" '
        f'class="reef-chart reef-{kind}"{id_attr} font-family="{FONT}" font-size="11" '
        f'fill="{INK}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    title_chars = int((width - 24) / (CHAR * 1.3))
    out.append(_text(12, 20, chart.title, title_chars, 'font-size="14" font-weight="bold"'))
    note = left_out.note()
    if note:
        out.append(_text(12, 36, note, int((width - 24) / CHAR), f'class="note" fill="{FAINT}"'))
    top = 48 if note else 34

    if plot is None:
        out.append(
            f'<text class="empty" x="{width / 2:.0f}" y="{(top + height) / 2:.0f}" '
            f'text-anchor="middle" font-size="13" fill="{FAINT}">no data</text>'
        )
    else:
        out += _layout(plot, width, height, top, lambda: _clip_id(chart, width, height, chart_id))
    out.append("</svg>")
    return "\n".join(out)


def _clip_id(chart: Chart, width: int, height: int, chart_id: str | None) -> str:
    """An id for the plot's clip path, unique on a page of several charts: from ``chart_id``,
    or else from the chart's content (which costs a few ms, so only charts that clip pay)."""
    if chart_id is None:
        digest = hashlib.blake2s(repr((chart, width, height)).encode(), digest_size=5)
        chart_id = "reef-" + digest.hexdigest()
    return chart_id + "-plot"


def _text(x: float, y: float, text: str, chars: int, attrs: str = "") -> str:
    """A text element cut to ``chars`` characters, its full text in a tooltip when cut."""
    shown = _shorten(text, chars)
    full = f"<title>{_esc(text)}</title>" if shown != text else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" {attrs}>{full}{_esc(shown)}</text>'


def _layout(
    plot: _Plot, width: int, height: int, top: float, clip_id: Callable[[], str]
) -> list[str]:
    legend_width = 0.0
    if plot.legend:
        longest = max(len(k.label) for k in plot.legend)
        legend_width = max(80.0, min(longest * CHAR + 36, 0.3 * width, 220.0))

    left = 12.0 + (18 if plot.y_label else 0)
    if isinstance(plot.y, _Axis):
        left += max(len(label) for label in plot.y.labels) * CHAR + 8
    else:
        longest = max((len(label) for label in plot.y.labels), default=1)
        left += min(longest * CHAR, 0.35 * width) + 8
    bottom = height - 22.0 - (18 if plot.x_label else 0)
    x_rotated = False
    if isinstance(plot.x, _Bands) and plot.x.labels:
        band = (width - legend_width - left - 20) / len(plot.x.labels)
        x_rotated = max(len(label) for label in plot.x.labels) * CHAR > band - 4
        if x_rotated:  # room for 16 characters at 45 degrees
            bottom -= 16 * CHAR * 0.7
    frame = _Frame(left, top + 6, width - legend_width - 20, bottom, plot.x, plot.y)

    out = _axes(frame, plot, x_rotated)
    clip = ""
    if plot.clip:
        clip_ref = _esc(clip_id())
        out.append(
            f'<clipPath id="{clip_ref}"><rect x="{_n(frame.left)}" y="{_n(frame.top)}" '
            f'width="{_n(frame.right - frame.left)}" height="{_n(frame.bottom - frame.top)}"/>'
            "</clipPath>"
        )
        clip = f' clip-path="url(#{clip_ref})"'
    out.append(f'<g class="marks"{clip}>')
    out += plot.marks(frame)
    out.append("</g>")
    if plot.legend:
        out += _legend(plot.legend, width - legend_width, frame.top, frame.bottom, legend_width)
    return out


def _axes(frame: _Frame, plot: _Plot, x_rotated: bool) -> list[str]:
    """Gridlines, tick labels, axis lines and axis titles."""
    grid: list[str] = []
    labels: list[str] = []
    if isinstance(frame.x, _Axis):
        for tick, label in zip(frame.x.ticks, frame.x.labels, strict=True):
            at = _n(frame.px(tick))
            grid.append(f"M{at},{_n(frame.top)}V{_n(frame.bottom)}")
            labels.append(
                f'<text x="{at}" y="{_n(frame.bottom + 15)}" text-anchor="middle">{_esc(label)}'
                "</text>"
            )
    else:
        count = len(frame.x.labels)
        for i, label in enumerate(frame.x.labels):
            start, size = frame.band(i, count, vertical=False)
            x, y = start + size / 2, frame.bottom + 15
            if x_rotated:
                attrs = f'text-anchor="end" transform="rotate(-45 {_n(x)} {_n(y - 4)})"'
                labels.append(_text(x, y, label, 16, attrs))
            else:
                labels.append(_text(x, y, label, max(int(size / CHAR), 3), 'text-anchor="middle"'))
    if isinstance(frame.y, _Axis):
        for tick, label in zip(frame.y.ticks, frame.y.labels, strict=True):
            y = frame.py(tick)
            grid.append(f"M{_n(frame.left)},{_n(y)}H{_n(frame.right)}")
            labels.append(
                f'<text x="{_n(frame.left - 6)}" y="{_n(y + 4)}" text-anchor="end">'
                f"{_esc(label)}</text>"
            )
    else:
        count = len(frame.y.labels)
        chars = int((frame.left - 20 - (18 if plot.y_label else 0)) / CHAR)
        for i, label in enumerate(frame.y.labels):
            start, size = frame.band(i, count, vertical=True)
            if size < 9 and i % math.ceil(9 / size):  # too crowded: label every k-th band
                continue
            y = start + size / 2 + 4
            labels.append(_text(frame.left - 6, y, label, chars, 'text-anchor="end"'))

    out = [f'<path class="grid" d="{"".join(grid)}" stroke="{GRID}" fill="none"/>'] if grid else []
    out.append(
        f'<path class="axis" d="M{_n(frame.left)},{_n(frame.top)}V{_n(frame.bottom)}'
        f'H{_n(frame.right)}" stroke="{INK}" fill="none"/>'
    )
    out.append('<g class="ticks">')
    out += labels
    out.append("</g>")
    if plot.x_label:
        x = (frame.left + frame.right) / 2
        chars = int((frame.right - frame.left) / (CHAR * 1.1))
        y = frame.bottom + (15 + 16 * CHAR * 0.7 if x_rotated else 15) + 18
        out.append(_text(x, y, plot.x_label, chars, 'class="x-label" text-anchor="middle" ' + _12))
    if plot.y_label:
        y = (frame.top + frame.bottom) / 2
        chars = int((frame.bottom - frame.top) / (CHAR * 1.1))
        rotate = f'transform="rotate(-90 16 {_n(y)})"'
        out.append(
            _text(
                16, y, plot.y_label, chars, f'class="y-label" text-anchor="middle" {_12} {rotate}'
            )
        )
    return out


_12 = 'font-size="12"'


def _legend(keys: Sequence[_Key], x0: float, top: float, bottom: float, width: float) -> list[str]:
    rows = max(int((bottom - top) / ROW), 1)
    shown = list(keys) if len(keys) <= rows else list(keys[: rows - 1])
    chars = int((width - 36) / CHAR)
    out = ['<g class="legend">']
    for i, key in enumerate(shown):
        y = top + 6 + i * ROW
        if key.shape == "line":
            swatch = (
                f'<path d="M{_n(x0 + 4)},{_n(y)}h18" stroke="{key.color}" stroke-width="2"'
                f"{_dash(key.dash)}/>"
            )
        elif key.shape == "box":
            swatch = (
                f'<rect x="{_n(x0 + 6)}" y="{_n(y - 5)}" width="14" height="10" '
                f'fill="{key.color}" fill-opacity="0.6" stroke="{key.color}"/>'
            )
        else:
            swatch = f'<circle cx="{_n(x0 + 13)}" cy="{_n(y)}" r="4" fill="{key.color}"/>'
        out.append(
            f'<g class="legend-item"{_run(key.run_id)}>{swatch}'
            f"{_text(x0 + 28, y + 4, key.label, chars)}</g>"
        )
    if len(shown) < len(keys):
        rest = [k.label for k in keys[len(shown) :]]
        listed = "\n".join(rest[:40]) + (
            f"\n\u2026 {len(rest) - 40} more" if len(rest) > 40 else ""
        )
        y = top + 6 + len(shown) * ROW + 4
        out.append(
            f'<text class="legend-more" x="{_n(x0 + 6)}" y="{_n(y)}" fill="{FAINT}">'
            f"<title>{_esc(listed)}</title>+{len(rest)} more</text>"
        )
    out.append("</g>")
    return out


# ---------------------------------------------------------------------------------------------
# Chart kinds: each returns its plot (None when there is nothing to draw) and what it left out


def _line(chart: LineChart) -> tuple[_Plot | None, LeftOut]:
    kept = [keep_xy(s.x, s.y, x_log=chart.x_log) for s in chart.series]
    left_out = sum((lost for *_, lost in kept), LeftOut())
    xs = [x for s_x, _, _ in kept for x in s_x]
    ys = [y for _, s_y, _ in kept for y in s_y]
    if not xs:
        return None, left_out
    x_axis = _axis(min(xs), max(xs), chart.x_log)
    y_axis = _axis(min(ys), max(ys), False, cap=chart.y_max)
    legend = [
        _Key(s.label, color(i), "line", dashes(i), s.run_id) for i, s in enumerate(chart.series)
    ]

    def marks(frame: _Frame) -> Iterable[str]:
        for i, (s, (s_x, s_y, _)) in enumerate(zip(chart.series, kept, strict=True)):
            if not s_x:
                continue
            px = [_n(frame.px(x)) for x in s_x]
            py = [_n(frame.py(y)) for y in s_y]
            if chart.step:  # hold each y until the next x, as a CDF does
                d = f"M{px[0]},{py[0]}" + "".join(
                    f"H{x}V{y}" for x, y in zip(px[1:], py[1:], strict=True)
                )
            else:
                d = f"M{px[0]},{py[0]}L" + " ".join(
                    f"{x},{y}" for x, y in zip(px[1:], py[1:], strict=True)
                )
            summary = (
                f"{s.label}\n{len(s_x)} points\n{chart.x_label or 'x'}: "
                f"{format_number(min(s_x), 4)} to {format_number(max(s_x), 4)}"
            )
            yield (
                f'<g class="series"{_run(s.run_id)} stroke="{color(i)}" fill="{color(i)}">'
                f"<title>{_esc(summary)}</title>"
                f'<path d="{d}" fill="none" stroke-width="1.8"{_dash(dashes(i))}/>'
            )
            if len(s_x) <= MARKED_SERIES:
                for x, y, cx, cy in zip(s_x, s_y, px, py, strict=True):
                    tip = _values(s.label, chart.x_label, x, chart.y_label, y)
                    yield (
                        f'<circle class="point" cx="{cx}" cy="{cy}" r="2.5">'
                        f"<title>{_esc(tip)}</title></circle>"
                    )
            yield "</g>"

    clip = chart.y_max is not None and max(ys) > y_axis.ticks[-1]
    plot = _Plot("line", chart.x_label, chart.y_label, x_axis, y_axis, marks, legend, clip)
    return plot, left_out


def _values(label: str, x_label: str, x: float, y_label: str, y: float) -> str:
    return (
        f"{label}\n{x_label or 'x'}: {format_number(x, 4)}\n{y_label or 'y'}: {format_number(y, 4)}"
    )


def _histogram(chart: Histogram) -> tuple[_Plot | None, LeftOut]:
    bins = bin_histogram(chart)
    if not bins.edges:
        return None, bins.left_out
    x_axis = _axis(bins.edges[0], bins.edges[-1], chart.x_log)
    y_axis = _axis(0.0, max(max(h, default=0.0) for h in bins.heights), False)
    legend = [_Key(s.label, color(i), "box", run_id=s.run_id) for i, s in enumerate(chart.series)]

    def marks(frame: _Frame) -> Iterable[str]:
        base = frame.py(0.0)
        for i, s in enumerate(chart.series):
            total = sum(bins.counts[i])
            yield (
                f'<g class="series"{_run(s.run_id)} fill="{color(i)}" fill-opacity="0.45" '
                f'stroke="{color(i)}" stroke-width="0.8">'
                f"<title>{_esc(f'{s.label}: {total} values')}</title>"
            )
            for b, (count, height) in enumerate(zip(bins.counts[i], bins.heights[i], strict=True)):
                if not count:
                    continue
                x0, x1 = frame.px(bins.edges[b]), frame.px(bins.edges[b + 1])
                y = frame.py(height)
                lo, hi = format_number(bins.edges[b], 4), format_number(bins.edges[b + 1], 4)
                share = f" ({height:.1%})" if bins.normalised else ""
                tip = f"{s.label}\n{chart.x_label or 'x'}: {lo} to {hi}\n{count} values{share}"
                yield (
                    f'<rect class="bin" x="{_n(x0)}" y="{_n(y)}" width="{_n(x1 - x0)}" '
                    f'height="{_n(base - y)}"><title>{_esc(tip)}</title></rect>'
                )
            yield "</g>"

    plot = _Plot("histogram", chart.x_label, bins.y_label, x_axis, y_axis, marks, legend)
    return plot, bins.left_out


def _group_keys(groups: dict[str | None, int], shape: Literal["box", "dot"]) -> list[_Key]:
    if list(groups) == [None]:
        return []
    return [_Key("other" if g is None else g, color(i), shape) for g, i in groups.items()]


def _bars(chart: BarChart) -> tuple[_Plot | None, LeftOut]:
    bars = [b for b in chart.bars if math.isfinite(b.value)]
    left_out = LeftOut(non_finite=len(chart.bars) - len(bars))
    if not bars:
        return None, left_out
    whiskers = {
        id(b): (b.low, b.high)
        for b in bars
        if b.low is not None and b.high is not None and math.isfinite(b.low + b.high)
    }
    ends = [0.0] + [b.value for b in bars] + [v for pair in whiskers.values() for v in pair]
    values = _axis(min(ends), max(ends), False)
    categories = _Bands([b.label for b in bars])
    groups = group_order(b.group for b in bars)
    horizontal = chart.horizontal

    def marks(frame: _Frame) -> Iterable[str]:
        to_px = frame.px if horizontal else frame.py
        zero = to_px(0.0)
        for i, bar in enumerate(bars):
            start, size = frame.band(i, len(bars), vertical=horizontal)
            thick, mid = size * 0.7, start + size / 2
            end = to_px(bar.value)
            a, b = sorted((zero, end))
            if horizontal:
                rect = f'x="{_n(a)}" y="{_n(mid - thick / 2)}" width="{_n(b - a)}" '
                rect += f'height="{_n(thick)}"'
            else:
                rect = f'x="{_n(mid - thick / 2)}" y="{_n(a)}" width="{_n(thick)}" '
                rect += f'height="{_n(b - a)}"'
            tip = f"{bar.label}\n{chart.y_label or 'value'}: {format_number(bar.value, 4)}"
            whisker = ""
            if id(bar) in whiskers:
                low, high = whiskers[id(bar)]
                tip += f" ({format_number(low, 4)} to {format_number(high, 4)})"
                p, q, cap = _n(to_px(low)), _n(to_px(high)), thick / 4
                if horizontal:
                    c0, c1 = _n(mid - cap), _n(mid + cap)
                    d = f"M{p},{_n(mid)}H{q}M{p},{c0}V{c1}M{q},{c0}V{c1}"
                else:
                    c0, c1 = _n(mid - cap), _n(mid + cap)
                    d = f"M{_n(mid)},{p}V{q}M{c0},{p}H{c1}M{c0},{q}H{c1}"
                whisker = f'<path class="whisker" d="{d}" stroke="{INK}" stroke-width="1.2"/>'
            if bar.group is not None:
                tip += f"\ngroup: {bar.group}"
            yield (
                f'<g class="bar"{_run(bar.run_id)}><title>{_esc(tip)}</title>'
                f'<rect {rect} fill="{color(groups[bar.group])}"/>{whisker}</g>'
            )

    legend = _group_keys(groups, "box")
    if horizontal:
        plot = _Plot("bar", chart.y_label, "", values, categories, marks, legend)
    else:
        plot = _Plot("bar", "", chart.y_label, categories, values, marks, legend)
    return plot, left_out


def _scatter(chart: ScatterChart) -> tuple[_Plot | None, LeftOut]:
    shown, left_out = shown_points(chart)
    steps = frontier_line(chart, shown)
    if not shown and not steps:
        return None, left_out
    all_x = [float(p.x) for p in shown] + [x for x, _ in steps]
    all_y = [float(p.y) for p in shown] + [y for _, y in steps]
    x_axis = _axis(min(all_x), max(all_x), chart.x_log)
    y_axis = _axis(min(all_y), max(all_y), chart.y_log)
    groups = group_order(p.group for p in shown)

    # Points off the frontier fade only when there is a frontier to stand out.
    fade = bool(steps) or any(p.on_frontier for p in shown)

    def marks(frame: _Frame) -> Iterable[str]:
        paint = {g: color(i) for g, i in groups.items()}
        yield from (_point(p, frame, chart, paint, fade) for p in shown if not p.on_frontier)
        if steps:
            d = "M" + "L".join(f"{_n(frame.px(x))},{_n(frame.py(y))}" for x, y in steps)
            yield (
                f'<path class="frontier" d="{d}" fill="none" stroke="#222222" '
                'stroke-width="1.5"><title>Pareto frontier</title></path>'
            )
        yield from (_point(p, frame, chart, paint, fade) for p in shown if p.on_frontier)

    legend = _group_keys(groups, "dot")
    if steps:
        legend.append(_Key("Pareto frontier", "#222222", "line"))
    return _Plot("scatter", chart.x_label, chart.y_label, x_axis, y_axis, marks, legend), left_out


def _point(
    p: Point, frame: _Frame, chart: ScatterChart, paint: dict[str | None, str], fade: bool
) -> str:
    tip = _values(p.label, chart.x_label, p.x, chart.y_label, p.y)
    if p.group is not None:
        tip += f"\ngroup: {p.group}"
    if p.on_frontier:
        tip += "\non the Pareto frontier"
    look = (
        'class="point on-frontier" r="5" stroke="#000000" stroke-width="1.2"'
        if p.on_frontier
        else f'class="point" r="3.5" fill-opacity="{0.35 if fade else 0.8}"'
    )
    return (
        f'<circle {look}{_run(p.run_id)} cx="{_n(frame.px(p.x))}" cy="{_n(frame.py(p.y))}" '
        f'fill="{paint[p.group]}"><title>{_esc(tip)}</title></circle>'
    )
