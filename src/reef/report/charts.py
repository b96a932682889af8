"""Chart specs for Reef's reports, and the pure helpers both renderers share.

A chart says what to draw, never how: ``svg.render_svg`` draws it as a standalone SVG for HTML
pages and ``figures.render_figure`` draws it with matplotlib for papers. Whatever the two must
agree on lives here, so the two pictures tell the same story: the palette, which values an axis
cannot show (``keep_values``, ``keep_xy``), histogram bins (``bin_histogram``) and the Pareto
staircase (``frontier_steps``). Tick helpers (``nice_ticks``, ``log_ticks``, ``tick_labels``)
and ``cdf`` need nothing but ``math``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Literal, TypeAlias

__all__ = [
    "PALETTE",
    "Bar",
    "BarChart",
    "Bins",
    "Chart",
    "Direction",
    "HistSeries",
    "Histogram",
    "LeftOut",
    "LineChart",
    "Point",
    "ScatterChart",
    "Series",
    "bin_histogram",
    "cdf",
    "color",
    "dashes",
    "format_number",
    "frontier_line",
    "frontier_steps",
    "group_order",
    "infer_directions",
    "keep_values",
    "keep_xy",
    "log_ticks",
    "nice_ticks",
    "shown_points",
    "tick_labels",
]

Direction = Literal["min", "max"]

# Okabe & Ito's colour-blind-safe palette, reordered so the first colours are the most distinct
# on white and yellow (the faintest) comes late. After 8 series colours repeat with a dash.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
_DASHES: tuple[tuple[float, ...], ...] = ((), (6.0, 3.0), (2.0, 2.0), (8.0, 3.0, 2.0, 3.0))


def color(index: int) -> str:
    """The colour of the ``index``-th series or group."""
    return PALETTE[index % len(PALETTE)]


def dashes(index: int) -> tuple[float, ...]:
    """The dash pattern (on, off, ...) of the ``index``-th line: solid for the first 8, so that
    the 9th is told from the 1st though their colours match."""
    return _DASHES[(index // len(PALETTE)) % len(_DASHES)]


# ---------------------------------------------------------------------------------------------
# Specs


@dataclass(frozen=True)
class Series:
    """One line: ``x[i]`` against ``y[i]``."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    run_id: str | None = None

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"series {self.label!r}: {len(self.x)} x values, {len(self.y)} y")


@dataclass(frozen=True)
class LineChart:
    """Lines, e.g. latency CDFs (x = latency in ms, y = fraction 0..1, ``step=True``).

    ``y_max`` caps the y axis (lines above it are clipped); ``step`` draws each line as a
    staircase that holds a value until the next x, as a CDF does.
    """

    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    x_log: bool = False
    y_max: float | None = None
    step: bool = False


@dataclass(frozen=True)
class HistSeries:
    label: str
    values: Sequence[float]
    run_id: str | None = None


@dataclass(frozen=True)
class Histogram:
    """Overlaid, semi-transparent histograms sharing ``bins`` bins; see ``bin_histogram``."""

    title: str
    x_label: str
    series: Sequence[HistSeries]
    bins: int = 40
    x_log: bool = False

    def __post_init__(self) -> None:
        if self.bins < 1:
            raise ValueError(f"histogram {self.title!r}: bins must be at least 1, not {self.bins}")


@dataclass(frozen=True)
class Bar:
    """One bar from 0 to ``value``, with an optional whisker from ``low`` to ``high``."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None
    group: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class BarChart:
    """Bars in the given order (top to bottom when horizontal), coloured by group."""

    title: str
    y_label: str  # the value axis, whichever way the bars run
    bars: Sequence[Bar]
    horizontal: bool = True


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    group: str | None = None
    on_frontier: bool = False
    run_id: str | None = None


@dataclass(frozen=True)
class ScatterChart:
    """A Pareto scatter: dominated points faint, frontier points emphasised, and ``frontier``
    (in the order given) joined by a staircase.

    The staircase turns at the corner worse than both neighbours, which depends on whether each
    axis is better low or high: ``directions`` says so (``("min", "max")`` for latency against
    throughput); left out, it is inferred from where the dominated points lie. Without
    ``frontier`` the points marked ``on_frontier`` are joined in order of x.
    """

    title: str
    x_label: str
    y_label: str
    points: Sequence[Point]
    x_log: bool = False
    y_log: bool = False
    frontier: Sequence[tuple[float, float]] | None = None
    directions: tuple[Direction, Direction] | None = None


Chart: TypeAlias = LineChart | Histogram | BarChart | ScatterChart


# ---------------------------------------------------------------------------------------------
# What an axis cannot show


@dataclass(frozen=True)
class LeftOut:
    """Values a chart could not show: NaN or infinite ones, and ones <= 0 on a log axis."""

    non_finite: int = 0
    non_positive: int = 0

    def __add__(self, other: LeftOut) -> LeftOut:
        return LeftOut(self.non_finite + other.non_finite, self.non_positive + other.non_positive)

    def __bool__(self) -> bool:
        return bool(self.non_finite or self.non_positive)

    def note(self) -> str | None:
        """A short note for the chart, or None when nothing was left out."""
        parts = []
        if self.non_positive:
            parts.append(f"{_count(self.non_positive, 'value')} \u2264 0 (log axis)")
        if self.non_finite:
            parts.append(f"{_count(self.non_finite, 'NaN/infinite value')}")
        return "left out: " + ", ".join(parts) if parts else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def keep_values(values: Iterable[float], log: bool = False) -> tuple[list[float], LeftOut]:
    """The values an axis can show (finite, and positive on a log axis), and what was not."""
    kept: list[float] = []
    non_finite = non_positive = 0
    for value in values:
        v = float(value)
        if not math.isfinite(v):
            non_finite += 1
        elif log and v <= 0:
            non_positive += 1
        else:
            kept.append(v)
    return kept, LeftOut(non_finite, non_positive)


def keep_xy(
    xs: Iterable[float], ys: Iterable[float], x_log: bool = False, y_log: bool = False
) -> tuple[list[float], list[float], LeftOut]:
    """The pairs both axes can show, and how many were not; a pair is counted once."""
    kept_x: list[float] = []
    kept_y: list[float] = []
    non_finite = non_positive = 0
    for x_value, y_value in zip(xs, ys, strict=True):
        x, y = float(x_value), float(y_value)
        if not (math.isfinite(x) and math.isfinite(y)):
            non_finite += 1
        elif (x_log and x <= 0) or (y_log and y <= 0):
            non_positive += 1
        else:
            kept_x.append(x)
            kept_y.append(y)
    return kept_x, kept_y, LeftOut(non_finite, non_positive)


# ---------------------------------------------------------------------------------------------
# CDFs and histograms


def cdf(values: Iterable[float], max_points: int = 256) -> tuple[list[float], list[float]]:
    """The empirical CDF: sorted values against the fraction of values <= each (``(i+1)/n``).

    NaN and infinite values are dropped first. Beyond ``max_points`` values, points are taken
    evenly in rank, always keeping the first (the minimum) and the last (the maximum, at 1.0);
    the points kept are exact samples of the CDF, never interpolated. Draw it with ``step``.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    xs = sorted(v for v in map(float, values) if math.isfinite(v))
    n = len(xs)
    if n <= max_points:
        ranks: Sequence[int] = range(n)
    else:
        # Integer rounding (half up): strictly increasing in k since n - 1 > max_points - 1.
        span, last = n - 1, max_points - 1
        ranks = [(k * span + last // 2) // last for k in range(max_points)]
    return [xs[i] for i in ranks], [(i + 1) / n for i in ranks]


@dataclass(frozen=True)
class Bins:
    """A histogram's shared bin edges and, per series, counts and the heights to draw.

    Heights are counts, unless the series hold different numbers of values: then each count is
    divided by its series' size (the fraction of that series per bin) so they compare, and
    ``y_label`` says so. Fractions per bin rather than densities per unit of x, because log
    bins differ in width and a density would make the wide right-hand bins look empty.
    """

    edges: list[float]  # len(heights[i]) + 1 edges, empty when no series has a value
    counts: list[list[int]]  # per series, per bin
    heights: list[list[float]]
    normalised: bool
    y_label: str
    left_out: LeftOut


def bin_histogram(chart: Histogram) -> Bins:
    kept = [keep_values(s.values, chart.x_log) for s in chart.series]
    left_out = sum((lost for _, lost in kept), LeftOut())
    everything = [v for values, _ in kept for v in values]
    if not everything:
        empty: list[list[int]] = [[] for _ in chart.series]
        return Bins([], empty, [[] for _ in chart.series], False, "count", left_out)

    lo, hi = min(everything), max(everything)
    if chart.x_log:
        lo, hi = math.log10(lo), math.log10(hi)
    if lo == hi:  # every value equal: one bin's worth of room either side
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / chart.bins
    edges = [lo + i * width for i in range(chart.bins)] + [hi]
    if chart.x_log:
        edges = [10.0**e for e in edges]

    counts = []
    for values, _ in kept:
        row = [0] * chart.bins
        for v in values:
            position = math.log10(v) if chart.x_log else v
            row[min(int((position - lo) / width), chart.bins - 1)] += 1
        counts.append(row)

    sizes = {len(values) for values, _ in kept if values}
    if len(sizes) > 1:
        heights = [
            [c / len(values) for c in row] for row, (values, _) in zip(counts, kept, strict=True)
        ]
        return Bins(edges, counts, heights, True, "fraction of values per bin", left_out)
    return Bins(
        edges, counts, [[float(c) for c in row] for row in counts], False, "count", left_out
    )


# ---------------------------------------------------------------------------------------------
# Pareto frontiers


def _better(directions: tuple[Direction, Direction]) -> tuple[int, int]:
    """Signs that turn both axes into 'lower is better'."""
    return (1 if directions[0] == "min" else -1, 1 if directions[1] == "min" else -1)


def _consistent(frontier: Sequence[tuple[float, float]], signs: tuple[int, int]) -> bool:
    """Whether no frontier point dominates another under these directions."""
    ordered = sorted({(signs[0] * x, signs[1] * y) for x, y in frontier})
    return all(b[1] < a[1] for a, b in pairwise(ordered))


def _covered(
    frontier: Sequence[tuple[float, float]],
    others: Sequence[tuple[float, float]],
    signs: tuple[int, int],
) -> int:
    """How many of ``others`` some frontier point weakly dominates under these directions."""
    ordered = sorted((signs[0] * x, signs[1] * y) for x, y in frontier)
    xs = [x for x, _ in ordered]
    best_y = list(accumulate((y for _, y in ordered), min))
    covered = 0
    for x, y in others:
        i = bisect_right(xs, signs[0] * x)
        if i and best_y[i - 1] <= signs[1] * y:
            covered += 1
    return covered


_CANDIDATES: tuple[tuple[Direction, Direction], ...] = (
    ("min", "max"),  # latency against throughput or accuracy: Reef's usual case comes first
    ("min", "min"),
    ("max", "max"),
    ("max", "min"),
)


def infer_directions(
    frontier: Sequence[tuple[float, float]], others: Sequence[tuple[float, float]]
) -> tuple[Direction, Direction]:
    """Which way each axis is better, judged by the directions under which the frontier points
    do not dominate one another and dominate the most ``others``; ties go to
    ``("min", "max")``, then ``("min", "min")``."""
    consistent = [d for d in _CANDIDATES if _consistent(frontier, _better(d))] or list(_CANDIDATES)
    if len(consistent) == 1:
        return consistent[0]
    return max(consistent, key=lambda d: _covered(frontier, others, _better(d)))


def shown_points(chart: ScatterChart) -> tuple[list[Point], LeftOut]:
    """The points both axes can show, in order, and how many they could not."""
    shown: list[Point] = []
    non_finite = non_positive = 0
    for p in chart.points:
        x, y = float(p.x), float(p.y)
        if not (math.isfinite(x) and math.isfinite(y)):
            non_finite += 1
        elif (chart.x_log and x <= 0) or (chart.y_log and y <= 0):
            non_positive += 1
        else:
            shown.append(p)
    return shown, LeftOut(non_finite, non_positive)


def frontier_line(chart: ScatterChart, shown: Sequence[Point]) -> list[tuple[float, float]]:
    """The staircase to draw through the frontier (empty for fewer than two frontier points):
    ``chart.frontier`` in its order, or else the ``shown`` points marked ``on_frontier`` by x."""
    if chart.frontier is not None:
        xs, ys, _ = keep_xy(
            (x for x, _ in chart.frontier), (y for _, y in chart.frontier), chart.x_log, chart.y_log
        )
        frontier = list(zip(xs, ys, strict=True))
    else:
        frontier = sorted((float(p.x), float(p.y)) for p in shown if p.on_frontier)
    if len(frontier) < 2:
        return []
    others = [(float(p.x), float(p.y)) for p in shown if not p.on_frontier]
    return frontier_steps(frontier, chart.directions or infer_directions(frontier, others))


def group_order(names: Iterable[str | None]) -> dict[str | None, int]:
    """Each group's colour index, in order of first appearance."""
    order: dict[str | None, int] = {}
    for name in names:
        order.setdefault(name, len(order))
    return order


def frontier_steps(
    frontier: Sequence[tuple[float, float]], directions: tuple[Direction, Direction]
) -> list[tuple[float, float]]:
    """The staircase through ``frontier`` in order: between two points it turns at the corner
    that is worse than both in each direction, the edge of the region the frontier dominates."""
    if not frontier:
        return []
    worse_x = max if directions[0] == "min" else min
    worse_y = max if directions[1] == "min" else min
    steps = [frontier[0]]
    for (ax, ay), (bx, by) in pairwise(frontier):
        steps += [(worse_x(ax, bx), worse_y(ay, by)), (bx, by)]
    return steps


# ---------------------------------------------------------------------------------------------
# Ticks and numbers


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Evenly spaced ticks at a 1, 2 or 5 times a power of ten step, from at or below ``lo`` to
    at or above ``hi``, at most ``count`` intervals apart. Equal ends are padded apart."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"ticks need finite ends, not {lo} and {hi}")
    lo, hi = min(lo, hi), max(lo, hi)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    count = max(count, 1)
    exponent = math.floor(math.log10((hi - lo) / count))
    while True:
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0**exponent
            # The small slack keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick.
            first = math.floor(lo / step + 1e-9)
            last = math.ceil(hi / step - 1e-9)
            if last - first <= count:
                # Built from decimal text so that ticks are 0.3, not 0.30000000000000004.
                return [float(f"{i * mantissa}e{exponent}") for i in range(first, last + 1)]
        exponent += 1


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks from at or below ``lo`` to at or above ``hi`` (both > 0): 1, 2 and 5 times powers
    of ten when the range spans two decades or fewer, else powers of ten, only every second
    (third, ...) one when it spans more than eight."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"log ticks need finite ends > 0, not {lo} and {hi}")
    lo, hi = min(lo, hi), max(lo, hi)
    first = math.floor(math.log10(lo) + 1e-9)
    last = math.ceil(math.log10(hi) - 1e-9)
    if first == last:
        first, last = first - 1, last + 1
    decades = last - first
    if decades <= 2:
        ticks = [float(f"{m}e{e}") for e in range(first, last) for m in (1, 2, 5)]
        ticks.append(float(f"1e{last}"))
        # Trimmed to the ticks either side of the data, so 1..16 ends at 20, not 100.
        start = max(i for i, t in enumerate(ticks) if t <= lo * (1 + 1e-9))
        end = min(i for i, t in enumerate(ticks) if t >= hi * (1 - 1e-9))
        if start == end:
            start, end = start - 1, end + 1
        return ticks[start : end + 1]
    stride = math.ceil(decades / 8)
    first, last = stride * math.floor(first / stride), stride * math.ceil(last / stride)
    return [float(f"1e{e}") for e in range(first, last + 1, stride)]


_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def format_number(value: float, digits: int = 3) -> str:
    """A short label for ``value`` to ``digits`` significant digits: ``0.05``, ``12.5``,
    ``1.2k``, ``3.4M``, ``3e-4``, ``-2``; never ``1e+03`` or ``-0``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "\u221e" if value > 0 else "-\u221e"
    text = f"{value:.{digits}g}"
    if "e" not in text and 1e-3 <= abs(value) < 1e3:  # the common case, and a fast one
        return text
    rounded = float(text)  # first, so that 999.96 becomes 1k, not 1e+03
    if rounded == 0:
        return "0"
    size = abs(rounded)
    if size >= 1e15:
        return _exponent(rounded, digits)
    for scale, suffix in _SUFFIXES:
        if size >= scale:
            return f"{rounded / scale:.{digits}g}{suffix}"
    if size < 1e-3:
        return _exponent(rounded, digits)
    return f"{rounded:.{digits}g}"


def _exponent(value: float, digits: int) -> str:
    mantissa, _, exponent = f"{value:.{digits - 1}e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """``format_number`` for each tick, with as many digits as it takes to tell them apart."""
    labels: list[str] = []
    for digits in range(3, 16):
        labels = [format_number(t, digits) for t in ticks]
        if len(set(labels)) == len(labels):
            break
    return labels
