"""Charts as PNG, SVG or PDF files with matplotlib, for papers.

The same specs, palette, log axes, histogram bins, frontier staircase and notes about values
left out as ``svg.render_svg``, so a figure and its report page agree. matplotlib is the
``report`` extra: it is imported only when a figure is drawn, and its absence is a
``ReportError`` with the pip command as hint.

Figures are built as ``matplotlib.figure.Figure`` objects rather than through ``pyplot``: that
needs no GUI backend (the format's own canvas draws it, as with ``Agg``) and leaves the
caller's global backend and open figures alone.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.report.charts import (
    BarChart,
    Chart,
    Histogram,
    LeftOut,
    LineChart,
    ScatterChart,
    bin_histogram,
    color,
    dashes,
    frontier_line,
    group_order,
    keep_xy,
    shown_points,
)
from reef.report.errors import MATPLOTLIB_HINT, ReportError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "render_figure"]

FORMATS = (".png", ".svg", ".pdf")
SIZE = (7.2, 4.0)  # inches: the SVG renderer's default 720x400 at 100 pixels per inch
INK = "#333333"
FRONTIER = "#222222"
FAINT = "#666666"
LABEL_CHARS = 28  # longer legend labels are cut; a file has no tooltips to show the rest
# Creation dates and random ids make every save differ; without them a figure is reproducible.
_NO_DATES: dict[str, dict[str, Any]] = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}


def render_figure(chart: Chart, path: Path, *, dpi: int = 150) -> Path:
    """Draw ``chart`` into ``path`` (format from its suffix: .png, .svg or .pdf), 7.2 by 4
    inches at ``dpi`` dots per inch, and return ``path``.

    Raises ``ReportError``, writing nothing, for an unknown suffix, a missing folder, or when
    matplotlib is not installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ReportError(
            f"{path}: cannot write a figure as {suffix or 'a file without a suffix'!r}",
            hint="name the file .png, .svg or .pdf",
        )
    if not path.parent.is_dir():
        raise ReportError(
            f"{path}: the folder {path.parent} does not exist",
            hint="create the folder first, or choose another path",
        )
    if dpi < 1:
        raise ReportError(f"{path}: dpi must be at least 1, not {dpi}")
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ReportError(
            f"{path}: drawing figures needs matplotlib, which is not installed", MATPLOTLIB_HINT
        ) from exc

    with matplotlib.rc_context({"svg.hashsalt": "reef", "font.size": 9}):
        figure = Figure(figsize=SIZE, dpi=dpi, layout="constrained")
        _draw(chart, figure)
        # Written beside the target and moved over it, so a failure leaves no half a file.
        partial = path.with_name(f".{path.name}.partial")
        try:
            figure.savefig(partial, format=suffix[1:], dpi=dpi, metadata=_NO_DATES.get(suffix))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return path


def _draw(chart: Chart, figure: Figure) -> None:
    axes = figure.add_subplot()
    axes.set_title(chart.title, loc="left", fontsize=11, fontweight="bold")
    if isinstance(chart, LineChart):
        left_out = _line(chart, axes)
    elif isinstance(chart, Histogram):
        left_out = _histogram(chart, axes)
    elif isinstance(chart, BarChart):
        left_out = _bars(chart, axes)
    elif isinstance(chart, ScatterChart):
        left_out = _scatter(chart, axes)
    else:
        raise TypeError(f"not a chart: {type(chart).__name__}")

    if not axes.has_data():
        axes.set_axis_off()
        axes.text(0.5, 0.5, "no data", ha="center", va="center", color=FAINT, fontsize=11)
    else:
        axes.grid(True, color="#e3e3e3", linewidth=0.8)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
        handles, labels = axes.get_legend_handles_labels()
        if handles:
            figure.legend(
                handles, [_cut(label) for label in labels], loc="outside right upper", frameon=False
            )
    note = left_out.note()
    if note:
        figure.suptitle(note, x=0.01, ha="left", fontsize=8, color=FAINT, style="italic")


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\u2026"


def _line(chart: LineChart, axes: Axes) -> LeftOut:
    left_out = LeftOut()
    for i, series in enumerate(chart.series):
        xs, ys, lost = keep_xy(series.x, series.y, x_log=chart.x_log)
        left_out += lost
        if not xs:
            continue
        axes.plot(
            xs,
            ys,
            drawstyle="steps-post" if chart.step else "default",
            color=color(i),
            linewidth=1.6,
            linestyle=(0, dashes(i)) if dashes(i) else "-",
            marker="o" if len(xs) <= 30 else None,
            markersize=3,
            label=series.label,
        )
    if chart.x_log:
        axes.set_xscale("log")
    if chart.y_max is not None and axes.has_data():
        axes.set_ylim(top=chart.y_max)
    axes.set_xlabel(chart.x_label)
    axes.set_ylabel(chart.y_label)
    return left_out


def _histogram(chart: Histogram, axes: Axes) -> LeftOut:
    bins = bin_histogram(chart)
    if bins.edges:
        for i, series in enumerate(chart.series):
            axes.stairs(
                bins.heights[i],
                bins.edges,
                fill=True,
                alpha=0.45,
                color=color(i),
                label=series.label,
            )
            axes.stairs(bins.heights[i], bins.edges, color=color(i), linewidth=0.8)
        if chart.x_log:
            axes.set_xscale("log")
    axes.set_xlabel(chart.x_label)
    axes.set_ylabel(bins.y_label)
    return bins.left_out


def _bars(chart: BarChart, axes: Axes) -> LeftOut:
    bars = [b for b in chart.bars if math.isfinite(b.value)]
    groups = group_order(b.group for b in bars)
    named = list(groups) != [None]
    # Horizontal bars run top to bottom in the given order, as in the SVG.
    where = [len(bars) - 1 - i for i in range(len(bars))] if chart.horizontal else range(len(bars))
    draw = axes.barh if chart.horizontal else axes.bar
    for group, index in groups.items():
        members = [i for i, b in enumerate(bars) if b.group == group]
        draw(
            [where[i] for i in members],
            [bars[i].value for i in members],
            0.7,
            color=color(index),
            label=("other" if group is None else group) if named else None,
        )
    for i, bar in enumerate(bars):
        if bar.low is None or bar.high is None or not math.isfinite(bar.low + bar.high):
            continue
        # Drawn as a line, not errorbar(): a whisker need not contain its bar's value.
        span, at = [bar.low, bar.high], [where[i], where[i]]
        xs, ys = (span, at) if chart.horizontal else (at, span)
        marker = "|" if chart.horizontal else "_"
        axes.plot(xs, ys, color=INK, linewidth=1.2, marker=marker, markersize=7, zorder=3)
    names = [_cut(b.label) for b in bars]
    if chart.horizontal:
        axes.set_yticks(list(where), names)
        axes.set_xlabel(chart.y_label)
        axes.axvline(0, color=INK, linewidth=0.8)
    else:
        axes.set_xticks(list(where), names, rotation=45, ha="right")
        axes.set_ylabel(chart.y_label)
        axes.axhline(0, color=INK, linewidth=0.8)
    return LeftOut(non_finite=len(chart.bars) - len(bars))


def _scatter(chart: ScatterChart, axes: Axes) -> LeftOut:
    shown, left_out = shown_points(chart)
    groups = group_order(p.group for p in shown)
    named = list(groups) != [None]
    steps = frontier_line(chart, shown)
    # Points off the frontier fade only when there is a frontier to stand out.
    fade = bool(steps) or any(p.on_frontier for p in shown)
    for group, index in groups.items():
        label = ("other" if group is None else group) if named else None
        for on_frontier in (False, True):
            members = [p for p in shown if p.group == group and p.on_frontier == on_frontier]
            if not members:
                continue
            axes.scatter(
                [float(p.x) for p in members],
                [float(p.y) for p in members],
                s=40 if on_frontier else 18,
                color=color(index),
                alpha=1.0 if on_frontier else (0.35 if fade else 0.8),
                edgecolors="#000000" if on_frontier else "none",
                linewidths=1.0,
                zorder=3 if on_frontier else 2,
                label=label,
            )
            label = None  # one legend entry per group
    if steps:
        axes.plot(
            [x for x, _ in steps],
            [y for _, y in steps],
            color=FRONTIER,
            linewidth=1.4,
            zorder=2.5,
            label="Pareto frontier",
        )
    if chart.x_log:
        axes.set_xscale("log")
    if chart.y_log:
        axes.set_yscale("log")
    axes.set_xlabel(chart.x_label)
    axes.set_ylabel(chart.y_label)
    return left_out
