"""``reef.report.charts``: the CDF, ticks, number labels, what axes leave out, histogram bins
and the Pareto staircase."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import pytest

from reef.report.charts import (
    PALETTE,
    Histogram,
    HistSeries,
    LeftOut,
    Point,
    ScatterChart,
    Series,
    bin_histogram,
    cdf,
    color,
    dashes,
    format_number,
    frontier_line,
    frontier_steps,
    infer_directions,
    keep_values,
    keep_xy,
    log_ticks,
    nice_ticks,
    tick_labels,
)

# ---------------------------------------------------------------------------------------------
# cdf


def test_cdf_of_a_few_values_is_exact() -> None:
    xs, ys = cdf([3.0, 1.0, 2.0, 2.0])
    assert xs == [1.0, 2.0, 2.0, 3.0]
    assert ys == [0.25, 0.5, 0.75, 1.0]


def test_cdf_downsamples_evenly_keeping_min_and_max() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(1, 0.5) for _ in range(10_000)]
    xs, ys = cdf(values, max_points=256)
    assert len(xs) == len(ys) == 256
    assert xs[0] == min(values) and xs[-1] == max(values)
    assert ys[0] == 1 / 10_000 and ys[-1] == 1.0
    assert all(a <= b for a, b in pairwise(xs))
    assert all(a < b for a, b in pairwise(ys))
    # Exact samples, not interpolated: each point is a value and its own rank's fraction.
    ordered = sorted(values)
    for x, y in zip(xs, ys, strict=True):
        assert ordered[round(y * 10_000) - 1] == x
    # Evenly in rank: rank gaps differ by at most one.
    ranks = [round(y * 10_000) for y in ys]
    gaps = {b - a for a, b in pairwise(ranks)}
    assert max(gaps) - min(gaps) <= 1


def test_cdf_drops_nan_and_inf_and_handles_nothing() -> None:
    assert cdf([math.nan, 1.0, math.inf, -math.inf, 2.0]) == ([1.0, 2.0], [0.5, 1.0])
    assert cdf([]) == ([], [])
    assert cdf([5.0]) == ([5.0], [1.0])
    with pytest.raises(ValueError, match="max_points"):
        cdf([1.0], max_points=1)


# ---------------------------------------------------------------------------------------------
# ticks


def _is_125(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    return any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 5, 10))


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (0, 1),
        (0.003, 0.0171),
        (-7.5, 123),
        (1234, 98_765),
        (1e-9, 3.3e-9),
        (0.1, 0.3),
        (999.5, 1000.5),
        (-3, -2),
    ],
)
def test_nice_ticks_cover_the_range_in_1_2_5_steps(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    assert 3 <= len(ticks) <= 6
    steps = [b - a for a, b in pairwise(ticks)]
    assert all(math.isclose(s, steps[0], rel_tol=1e-9) for s in steps)
    assert _is_125(steps[0])
    # No float noise such as 0.30000000000000004.
    assert all(t == float(f"{t:.10g}") for t in ticks)


def test_nice_ticks_pad_equal_ends_and_accept_them_reversed() -> None:
    assert nice_ticks(5, 5)[0] < 5 < nice_ticks(5, 5)[-1]
    assert nice_ticks(0, 0)[0] < 0 < nice_ticks(0, 0)[-1]
    assert nice_ticks(10, 0) == nice_ticks(0, 10)
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    with pytest.raises(ValueError):
        nice_ticks(0, math.inf)


def test_log_ticks() -> None:
    assert log_ticks(3, 8) == [2, 5, 10]
    assert log_ticks(1, 16) == [1, 2, 5, 10, 20]
    assert log_ticks(0.5, 200) == [0.1, 1, 10, 100, 1000]
    assert log_ticks(100, 100) == [50, 100, 200]
    assert log_ticks(0.3, 0.3) == [0.2, 0.5]
    wide = log_ticks(1e-6, 1e12)
    assert wide[0] <= 1e-6 and wide[-1] >= 1e12 and len(wide) <= 10
    for lo, hi in [(0.0031, 47.0), (1, 10), (7e-5, 3e3)]:
        ticks = log_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi
    with pytest.raises(ValueError):
        log_ticks(0, 10)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (-0.0, "0"),
        (0.05, "0.05"),
        (1.2, "1.2"),
        (12.5, "12.5"),
        (123.456, "123"),
        (999.96, "1k"),
        (1000, "1k"),
        (1200, "1.2k"),
        (2_500_000, "2.5M"),
        (3e9, "3G"),
        (0.0003, "3e-4"),
        (0.00012345, "1.23e-4"),
        (-2, "-2"),
        (-1500, "-1.5k"),
        (0.001, "0.001"),
        (5e17, "5e17"),
        (math.nan, "NaN"),
        (math.inf, "\u221e"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_tick_labels_take_the_digits_to_tell_ticks_apart() -> None:
    assert tick_labels([0, 0.25, 0.5]) == ["0", "0.25", "0.5"]
    labels = tick_labels([10_000, 10_001, 10_002])
    assert len(set(labels)) == 3


def test_palette_repeats_after_eight_with_a_dash() -> None:
    assert len(PALETTE) == 8
    assert color(8) == color(0) and dashes(0) == () and dashes(8) != ()


# ---------------------------------------------------------------------------------------------
# what axes leave out


def test_keep_values_and_xy_count_what_they_leave_out() -> None:
    kept, lost = keep_values([1, -1, 0, math.nan, math.inf, 2], log=True)
    assert kept == [1.0, 2.0] and lost == LeftOut(non_finite=2, non_positive=2)
    xs, ys, lost = keep_xy([1, 2, math.nan, -1], [1, 0, 1, 1], y_log=True)
    assert (xs, ys) == ([1.0, -1.0], [1.0, 1.0])  # x = -1 is fine: only y is on a log axis
    assert lost == LeftOut(non_finite=1, non_positive=1)
    assert not LeftOut() and LeftOut().note() is None
    assert LeftOut(1, 3).note() == "left out: 3 values \u2264 0 (log axis), 1 NaN/infinite value"


def test_series_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="2 x values, 1 y"):
        Series("s", [1, 2], [1])


# ---------------------------------------------------------------------------------------------
# histograms


def test_bins_count_every_value_once() -> None:
    values = [0.0, 0.5, 1.0, 9.99, 10.0]
    bins = bin_histogram(Histogram("h", "x", [HistSeries("a", values)], bins=10))
    assert len(bins.edges) == 11 and bins.edges[0] == 0 and bins.edges[-1] == 10
    assert sum(bins.counts[0]) == 5 and bins.counts[0][-1] == 2  # the maximum is in the last bin
    assert not bins.normalised and bins.y_label == "count"


def test_series_of_different_sizes_are_normalised_and_the_label_says_so() -> None:
    chart = Histogram("h", "x", [HistSeries("a", [1, 2, 3, 4]), HistSeries("b", [2, 3])], bins=3)
    bins = bin_histogram(chart)
    assert bins.normalised and "fraction" in bins.y_label
    assert [math.fsum(h) for h in bins.heights] == [1.0, 1.0]


def test_log_bins_are_geometric_and_leave_out_non_positive() -> None:
    chart = Histogram(
        "h", "x", [HistSeries("a", [1, 10, 100, 0, -5, math.nan])], bins=2, x_log=True
    )
    bins = bin_histogram(chart)
    assert [round(e, 9) for e in bins.edges] == [1, 10, 100]
    assert bins.left_out == LeftOut(non_finite=1, non_positive=2)


def test_bins_of_equal_values_and_of_nothing() -> None:
    bins = bin_histogram(Histogram("h", "x", [HistSeries("a", [3, 3, 3])], bins=4))
    assert bins.edges[0] < 3 < bins.edges[-1] and sum(bins.counts[0]) == 3
    empty = bin_histogram(Histogram("h", "x", [HistSeries("a", [])]))
    assert empty.edges == [] and empty.counts == [[]]
    with pytest.raises(ValueError, match="bins"):
        Histogram("h", "x", [], bins=0)


# ---------------------------------------------------------------------------------------------
# Pareto staircase


def test_frontier_steps_turn_at_the_corner_worse_than_both() -> None:
    frontier = [(1.0, 10.0), (2.0, 20.0)]
    assert frontier_steps(frontier, ("min", "max")) == [(1, 10), (2, 10), (2, 20)]
    falling = [(1.0, 20.0), (2.0, 10.0)]
    assert frontier_steps(falling, ("min", "min")) == [(1, 20), (2, 20), (2, 10)]
    assert frontier_steps(falling, ("max", "max")) == [(1, 20), (1, 10), (2, 10)]
    assert frontier_steps([], ("min", "max")) == []


def test_directions_are_inferred_from_where_dominated_points_lie() -> None:
    rising = [(1.0, 10.0), (2.0, 20.0), (4.0, 30.0)]
    below_right = [(3.0, 5.0), (5.0, 25.0)]
    assert infer_directions(rising, below_right) == ("min", "max")
    above_left = [(0.5, 40.0), (1.5, 35.0)]
    assert infer_directions(rising, above_left) == ("max", "min")
    falling = [(1.0, 30.0), (2.0, 20.0), (4.0, 10.0)]
    assert infer_directions(falling, [(5.0, 40.0)]) == ("min", "min")
    assert infer_directions(falling, [(0.5, 5.0)]) == ("max", "max")


def test_frontier_line_joins_marked_points_when_no_frontier_is_given() -> None:
    points = [
        Point(2, 20, "b", on_frontier=True),
        Point(1, 10, "a", on_frontier=True),
        Point(3, 5, "c"),
    ]
    chart = ScatterChart("s", "x", "y", points)
    assert frontier_line(chart, points) == [(1, 10), (2, 10), (2, 20)]
    explicit = ScatterChart("s", "x", "y", points, frontier=[(1, 10)], directions=("min", "max"))
    assert frontier_line(explicit, points) == []  # one point is no line
