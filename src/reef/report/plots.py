"""The charts of recorded runs, as specs for the renderers (``reef.report.charts``): latency
CDFs and histograms, throughput bars and the Pareto scatter, shared by a report's sections
(``reef.report.builder``) and ``reef plot``'s single figure (``one_chart``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reef.report.errors import ReportError
from reef.report.selection import raw_latencies
from reef.results.pareto import METRICS, Objective

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.report.charts import Bar, Chart

__all__ = [
    "PLOT_KINDS",
    "SERIES_PER_CHART",
    "axis_title",
    "cdf_chart",
    "default_objectives",
    "histogram_chart",
    "metric_value",
    "model_name",
    "on_frontier",
    "one_chart",
    "one_model",
    "percentile_chart",
    "raw_axis",
    "raw_quantity",
    "run_label",
    "scatter",
    "spread",
    "throughput",
    "throughput_bars",
    "throughput_panels",
]

PLOT_KINDS = ("cdf", "histogram", "throughput", "pareto")
SERIES_PER_CHART = 8  # runs drawn in one latency chart
TAIL_FACTOR = 3.0  # a histogram leaves out a tail reaching past this times its p99.5


def model_name(record: RunRecord) -> str:
    """``name@version``, or the name alone."""
    target = record.target
    return f"{target.name}@{target.version}" if target.version else target.name


def run_label(record: RunRecord, with_model: bool = True) -> str:
    """How a run is named in a chart: model (left out when every run drawn shares it),
    backend and short id."""
    backend = record.predictor.name if record.predictor else "?"
    model = model_name(record) if with_model else (record.target.version or record.target.name)
    return f"{model} · {backend} · {record.id[:8]}"


def one_model(runs: Sequence[RunRecord]) -> bool:
    """Whether the runs are all of one model (their labels then leave it out)."""
    return len({r.target.name for r in runs}) == 1


def throughput_bars(runs: list[RunRecord]) -> list[Bar]:
    """Throughput bars coloured by model, or by backend when they are all one model."""
    from reef.report.charts import Bar

    one = one_model(runs)
    return [
        Bar(
            run_label(r, not one),
            throughput(r),
            group=(r.predictor.name if r.predictor else "?") if one else r.target.name,
            run_id=r.id,
        )
        for r in runs
    ]


def metric_value(record: RunRecord, objective: Objective) -> float:
    """The run's value of ``objective``'s metric; NaN when it has none (or, for
    ``accuracy.NAME``, another accuracy metric)."""
    data: Any = record
    for key in METRICS[objective.metric].path:
        data = getattr(data, key, None)
    if objective.accuracy_metric is not None and (
        record.accuracy is None or record.accuracy.metric.lower() != objective.accuracy_metric
    ):
        return math.nan
    if data is None or isinstance(data, bool) or not isinstance(data, int | float):
        return math.nan
    return float(data)


def throughput(record: RunRecord) -> float:
    """Samples per second; 0 for a run that measured none."""
    return record.performance.throughput_qps if record.performance else 0.0


def spread(records: list[RunRecord], count: int) -> list[RunRecord]:
    """At most ``count`` runs spanning the range of their medians: the fastest, the slowest and
    evenly spaced ranks between, so that a chart of a few shows the whole field."""
    ranked = sorted(records, key=lambda r: r.performance.latency_ms.p50 if r.performance else 0)
    if len(ranked) <= count:
        return ranked
    picks = sorted({round(i * (len(ranked) - 1) / (count - 1)) for i in range(count)})
    return [ranked[i] for i in picks]


def raw_quantity(scenario: str) -> str:
    """What a run's raw latencies are: the system under test's own timing of each query, which
    in Offline is one predict call over a whole batch, not the time a sample waited."""
    return "compute time per batch" if scenario == "Offline" else "latency per query"


def raw_axis(scenario: str) -> str:
    return f"{raw_quantity(scenario)} (ms), timed by the system under test"


# LoadGen's figures: from a sample's issue to its answer (in Offline, every sample is issued at
# the start, so this is how long each waited for its answer).
LOADGEN_AXIS = "LoadGen latency per sample (ms), issue to answer"


def cdf_chart(title: str, runs: list[RunRecord], raw: dict[str, list[float]]) -> Chart:
    """The CDF of the runs' raw latencies (those that kept them), labelled with what they are;
    ``percentile_chart`` draws the others' LoadGen percentiles, never on the same axes."""
    from reef.report.charts import LineChart, Series, cdf

    with_model = not one_model(runs)
    series = []
    for r in runs:
        if r.id in raw:
            xs, ys = cdf(raw[r.id])
            series.append(Series(run_label(r, with_model), xs, ys, run_id=r.id))
    scenario = runs[0].scenario if runs else ""
    return LineChart(
        title, raw_axis(scenario), "fraction of queries", series, x_log=_wide(series), step=True
    )


def percentile_chart(title: str, runs: list[RunRecord]) -> Chart:
    """LoadGen's recorded percentiles of the runs, joined by straight lines (nothing is known
    of the queries between them)."""
    from reef.report.charts import LineChart, Series

    with_model = not one_model(runs)
    series = []
    for r in runs:
        if r.performance is not None:
            lat = r.performance.latency_ms
            xs = [lat.min, lat.p50, lat.p90, lat.p95, lat.p99, lat.max]
            ys = [0.0, 0.5, 0.9, 0.95, 0.99, 1.0]
            series.append(Series(run_label(r, with_model), xs, ys, run_id=r.id))
    return LineChart(
        title, LOADGEN_AXIS, "fraction of samples", series, x_log=_wide(series), step=False
    )


def throughput_panels(runs: list[RunRecord]) -> list[tuple[str | None, list[RunRecord]]]:
    """The runs of one throughput chart, or, when several models lie more than two decades
    apart (a 10 us model beside a 10 ms one), one panel per model: on one linear axis the slow
    models' bars would not show. (None, runs) for one chart; (model, its runs) per panel."""
    values = [q for q in map(throughput, runs) if q > 0]
    models = sorted({r.target.name for r in runs})
    if len(models) < 2 or not values or max(values) / min(values) <= 100:
        return [(None, runs)]
    return [(m, [r for r in runs if r.target.name == m]) for m in models]


def _wide(series: Sequence[Any]) -> bool:
    """A log axis when the values span more than two decades."""
    values = [x for s in series for x in s.x if x > 0]
    return bool(values) and max(values) / min(values) > 100


def histogram_chart(
    title: str, runs: list[RunRecord], raw: dict[str, list[float]]
) -> tuple[Chart, str | None] | None:
    """The histogram of up to 4 runs' raw latencies, and a note of the tail left out: when
    the slowest queries reach past ``TAIL_FACTOR`` times the 99.5th percentile, bins spread
    over the whole range would squeeze every other query into a few of them."""
    from reef.report.charts import Histogram, HistSeries

    with_model = not one_model(runs)
    kept = [r for r in runs if r.id in raw][:4]
    if not kept:
        return None
    values = sorted(v for r in kept for v in raw[r.id])
    cut = values[int((len(values) - 1) * 0.995)]
    note = None
    if values[-1] > TAIL_FACTOR * cut > 0:
        left = sum(1 for v in values if v > cut)
        note = (
            f"{left:,} of {len(values):,} latencies above {cut:.3g} ms (the 99.5th percentile) "
            f"are left out; the slowest is {values[-1]:.3g} ms."
        )
    else:
        cut = math.inf
    series = [
        HistSeries(run_label(r, with_model), [v for v in raw[r.id] if v <= cut], run_id=r.id)
        for r in kept
    ]
    shown = [v for s in series for v in s.values if v > 0]
    wide = bool(shown) and max(shown) / min(shown) > 100
    return Histogram(title, raw_axis(kept[0].scenario), series, x_log=wide), note


def default_objectives(records: list[RunRecord]) -> list[Objective]:
    """The scatter's axes when none are given: the 90th-percentile latency against accuracy,
    or against throughput when no run has accuracy."""
    has_accuracy = any(r.accuracy is not None and r.accuracy.value is not None for r in records)
    second = Objective(metric="accuracy" if has_accuracy else "throughput", direction="max")
    return [Objective(metric="latency_p90", direction="min"), second]


def axis_title(objective: Objective) -> str:
    """``latency_p90 (ms)``."""
    unit = f" ({objective.unit})" if objective.unit else ""
    return f"{objective.name}{unit}"


def on_frontier(
    points: list[tuple[RunRecord, float, float]], objectives: list[Objective]
) -> list[bool]:
    """Which points (a run and its two values) are on the Pareto frontier."""
    from reef.results.skyline import front_mask

    return front_mask([(x, y) for _, x, y in points], [o.direction for o in objectives])


def scatter(
    points: list[tuple[RunRecord, float, float]], front: list[bool], objectives: list[Objective]
) -> Chart:
    """The Pareto scatter of ``points``, with the frontier (``front``) drawn."""
    from reef.report.charts import Point, ScatterChart

    x_obj, y_obj = objectives
    marks = [
        Point(x, y, run_label(r), group=r.target.name, on_frontier=on, run_id=r.id)
        for (r, x, y), on in zip(points, front, strict=True)
    ]
    line = sorted((x, y) for (_, x, y), on in zip(points, front, strict=True) if on)
    xs = [x for _, x, _ in points]
    return ScatterChart(
        "Pareto frontier",
        axis_title(x_obj),
        axis_title(y_obj),
        marks,
        x_log=min(xs) > 0 and max(xs) / min(xs) > 100,
        frontier=line,
        directions=(x_obj.direction, y_obj.direction),
    )


def one_chart(
    kind: str, records: list[RunRecord], objectives: list[Objective] | None, max_series: int
) -> tuple[Chart, int, list[str]]:
    """``reef plot``'s one figure of ``kind`` (``PLOT_KINDS``): the chart, how many runs it
    draws, and notes on what was left out."""
    from reef.report.charts import BarChart

    notes: list[str] = []
    measured = [r for r in records if r.performance is not None]
    if kind == "pareto":
        chosen = objectives or default_objectives(records)
        points = [(r, metric_value(r, chosen[0]), metric_value(r, chosen[1])) for r in records]
        complete = [(r, x, y) for r, x, y in points if math.isfinite(x) and math.isfinite(y)]
        if not complete:
            raise ReportError(
                f"none of the {len(records)} selected runs has both {chosen[0].name} and "
                f"{chosen[1].name}",
                hint="choose other metrics with --objective",
            )
        if len(complete) < len(points):
            notes.append(f"{len(points) - len(complete)} runs lacking a metric are left out")
        return scatter(complete, on_frontier(complete, chosen), chosen), len(complete), notes
    if not measured:
        raise ReportError(
            f"none of the {len(records)} selected runs measured performance",
            hint="failed and interrupted runs have no latencies; add --status valid",
        )
    if kind == "throughput":
        best = sorted(measured, key=lambda r: -throughput(r))[:max_series]
        if len(best) < len(measured):
            notes.append(f"showing the {len(best)} fastest of {len(measured)} runs")
        if len(throughput_panels(best)) > 1:
            notes.append(
                "the models' throughputs lie orders of magnitude apart: `reef report` draws "
                "one panel per model; here, --model picks one"
            )
        return BarChart("Throughput", "samples per second", throughput_bars(best)), len(best), notes
    shown = spread(measured, max_series)
    if len(shown) < len(measured):
        notes.append(f"showing {len(shown)} of {len(measured)} runs, spread by median latency")
    if len({(r.target.name, r.scenario) for r in shown}) > 1:
        notes.append("the runs are of different models or scenarios")
    raw = raw_latencies(shown)
    if kind == "cdf":
        # One quantity per figure: the raw timings when every run kept them (and they mean
        # the same: per batch in Offline, per query elsewhere), else LoadGen's percentiles.
        offline = {r.scenario == "Offline" for r in shown}
        if all(r.id in raw for r in shown) and len(offline) == 1:
            return cdf_chart("Latency CDF (raw)", shown, raw), len(shown), notes
        if raw:
            notes.append(
                "drawn from LoadGen's percentiles: not every run kept raw latencies (or their "
                "raw timings mean different things), and the two are not mixed in one figure"
            )
        return percentile_chart("LoadGen latency CDF", shown), len(shown), notes
    histogram = histogram_chart("Latency histogram", shown, raw)
    if histogram is None:
        raise ReportError(
            "none of the selected runs kept raw latencies, which a histogram needs",
            hint="`reef plot cdf` draws runs from their recorded percentiles",
        )
    chart, tail = histogram
    if tail is not None:
        notes.append(tail)
    return chart, min(len(shown), 4), notes
