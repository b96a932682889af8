"""Reports and plots of recorded runs: ``reef report`` and ``reef plot``.

``report`` selects runs by id or by the filters ``runs list`` takes, builds a
``reef.report.document.Document`` (summary, latency CDFs and histograms per model and scenario,
throughput bars per scenario, the Pareto scatter with its frontier, LoadGen verdicts and the
environments), and writes it as one offline HTML file or as Markdown with figure files. ``plot``
writes one of those figures on its own.

Everything that can be wrong with the request (the output path, the format, an unknown run or
metric, an empty selection, matplotlib missing for PNG) is refused before anything is written;
files are written to a temporary name and renamed, so a failure leaves nothing behind.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.api.pareto import METRICS, Objective, ParetoError
from reef.errors import ReefError
from reef.files import (
    check_output,
    check_output_folder,
    staged_folder,
    staged_output,
    write_output,
)
from reef.report.errors import MATPLOTLIB_HINT, ReportError

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.report.charts import Bar, Chart
    from reef.report.document import Block, Document, Section
    from reef.results.query import RunFilter

__all__ = [
    "PLOT_KINDS",
    "PlotResult",
    "ReportError",
    "ReportResult",
    "build_document",
    "plot",
    "report",
]

PLOT_KINDS = ("cdf", "histogram", "throughput", "pareto")
DEFAULT_LIMIT = 1000  # runs in one report unless asked for more
SERIES_PER_CHART = 8  # runs drawn in one latency chart
TAIL_FACTOR = 3.0  # a histogram leaves out a tail reaching past this times its p99.5
BARS_PER_CHART = 25  # runs in one throughput chart
_SVG_ONLY = (".svg", ".html")
_MATPLOTLIB = (".png", ".pdf")


@dataclass(frozen=True)
class ReportResult:
    path: str
    format: str
    runs: int
    figures: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class PlotResult:
    path: str
    kind: str
    runs: int
    series: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


# -- the verbs -------------------------------------------------------------------------------


def report(
    out: Path | str,
    run_ids: Sequence[str] = (),
    *,
    format: str | None = None,
    figure_format: str = "svg",
    title: str | None = None,
    objectives: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    run_filter: RunFilter | None = None,
    **filters: Any,
) -> ReportResult:
    """Write a report on the runs ``run_ids`` name (unique prefixes), or else on the runs the
    filters select (``model=``, ``scenario=``, ... as ``runs_list`` takes them; newest
    ``limit`` first). ``format`` defaults from the suffix (``.md``: Markdown, else HTML);
    a Markdown report puts its figures in ``<name>_figures/`` beside it, as ``figure_format``
    (svg; png, pdf or mpl-svg through matplotlib). ``objectives`` are the Pareto scatter's two
    axes (default: ``latency_p90:min`` against ``accuracy:max``, or ``throughput:max`` when no
    run has accuracy)."""
    from reef.report.markdown import FIGURE_FORMATS

    path = Path(out)
    chosen = format or ("md" if path.suffix.lower() == ".md" else "html")
    if chosen not in ("html", "md"):
        raise ReportError(f"--format: unknown format {chosen!r}", hint="html or md")
    if figure_format not in FIGURE_FORMATS:
        raise ReportError(
            f"--figures: unknown figure format {figure_format!r}",
            hint="one of " + ", ".join(FIGURE_FORMATS),
        )
    if chosen == "html" and figure_format != "svg":
        raise ReportError(
            "--figures applies to Markdown reports",
            hint="an HTML report inlines its figures as SVG; add --format md",
        )
    if chosen == "md" and figure_format != "svg":
        _need_matplotlib(figure_format)
    figures_dir = path.with_name(path.stem + "_figures")
    check_output(path, "report")
    if chosen == "md":
        check_output_folder(figures_dir, "report's figures folder")
    parsed = _objectives(objectives)
    records, warnings = _select(run_ids, limit, run_filter, filters)
    document = build_document(records, title=title, objectives=parsed, warnings=warnings)
    written: list[str] = []
    if chosen == "html":
        from reef.report.html import render_html

        write_output(path, render_html(document, generator=_generator()), "report")
    else:
        from reef.report.markdown import render_markdown, write_figures

        text = render_markdown(document, figures=figures_dir.name, figure_format=figure_format)
        with staged_folder(figures_dir, "report's figures folder") as staging:
            written = [
                str(figures_dir / p.name) for p in write_figures(document, staging, figure_format)
            ]
            write_output(path, text, "report")
    return ReportResult(str(path), chosen, len(records), written, document.warnings)


def plot(
    kind: str,
    out: Path | str,
    run_ids: Sequence[str] = (),
    *,
    objectives: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    max_series: int = SERIES_PER_CHART,
    run_filter: RunFilter | None = None,
    **filters: Any,
) -> PlotResult:
    """One figure of the selected runs: ``cdf`` or ``histogram`` of latency (at most
    ``max_series`` runs, spread over the range of their medians), ``throughput`` bars or the
    ``pareto`` scatter. The suffix of ``out`` picks the format: .svg and .html from Reef's own
    renderer, .png and .pdf through matplotlib."""
    if kind not in PLOT_KINDS:
        raise ReportError(f"unknown plot {kind!r}", hint="one of " + ", ".join(PLOT_KINDS))
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in _SVG_ONLY + _MATPLOTLIB:
        raise ReportError(
            f"{path}: cannot tell the figure format from {suffix or 'no suffix'!r}",
            hint="name the file .svg, .html, .png or .pdf",
        )
    if max_series < 1:
        raise ReportError("--max-series must be at least 1")
    if suffix in _MATPLOTLIB:
        _need_matplotlib(suffix[1:])
    check_output(path, "figure")
    parsed = _objectives(objectives)
    records, warnings = _select(run_ids, limit, run_filter, filters)
    chart, series, notes = _one_chart(kind, records, parsed, max_series)
    warnings += notes
    if suffix == ".svg":
        from reef.report.svg import render_svg

        write_output(path, render_svg(chart), "figure")
    elif suffix == ".html":
        from reef.report.document import Document, Figure, Section
        from reef.report.html import render_html

        name = f"{kind}-plot"
        page = Document(chart.title, [], [Section(chart.title, name, [Figure(name, chart)])])
        write_output(path, render_html(page, generator=_generator()), "figure")
    else:
        from reef.report.figures import render_figure

        with staged_output(path, "figure") as staging:
            render_figure(chart, staging)
    return PlotResult(str(path), kind, len(records), series, warnings)


# -- checks made before anything is written ------------------------------------------------


def _need_matplotlib(what: str) -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ReportError(
            f"{what.upper()} figures need matplotlib, which is not installed",
            hint=f"{MATPLOTLIB_HINT}, or use SVG figures",
        )


def _objectives(given: Sequence[str] | None) -> list[Objective] | None:
    if not given:
        return None
    try:
        parsed = [Objective.parse(text) for text in given]
    except ParetoError as e:
        raise ReportError(e.message, hint=e.hint) from None
    if len(parsed) != 2:
        raise ReportError(
            f"--objective: the scatter takes 2 objectives, not {len(parsed)}",
            hint="for example --objective latency_p90:min --objective accuracy:max",
        )
    return parsed


def _generator() -> str:
    from reef import __version__

    return f"Reef {__version__}"


# -- selecting runs --------------------------------------------------------------------------


def _select(
    run_ids: Sequence[str],
    limit: int,
    run_filter: RunFilter | None,
    filters: dict[str, Any],
) -> tuple[list[RunRecord], list[str]]:
    from reef.results import Store
    from reef.results.query import RunFilter

    given = {k: v for k, v in filters.items() if v is not None}
    selection = (run_filter or RunFilter()).merged(**given)
    if limit < 1:
        raise ReportError("--limit must be at least 1")
    if run_ids and not selection.is_empty():
        raise ReportError(
            "give run ids or filters, not both",
            hint="filters select runs on their own; ids name them",
        )
    warnings: list[str] = []
    with Store() as store:
        if run_ids:
            records = [store.find(ref) for ref in run_ids]
            seen: set[str] = set()
            unique = []
            for record in records:
                if record.id not in seen:
                    seen.add(record.id)
                    unique.append(record)
            return unique, warnings
        total = store.count(selection)
        if total == 0:
            problem = store.explain_empty(selection)
            if problem is not None:
                raise problem
            raise ReportError("no runs recorded yet", hint="try `reef demo`")
        records = store.list(selection, limit=limit)
    if total > len(records):
        warnings.append(
            f"{total:,} runs match; the report covers the newest {len(records):,} (--limit)"
        )
    return records, warnings


def _latencies(records: list[RunRecord]) -> dict[str, list[float]]:
    """Raw latencies in ms of the runs that kept them (read from the store only for the runs
    drawn, since a run may hold hundreds of thousands)."""
    from reef.results import Store

    found: dict[str, list[float]] = {}
    missing = [r for r in records if r.latencies_ns is None]
    for record in records:
        if record.latencies_ns is not None:
            found[record.id] = [ns / 1e6 for ns in record.latencies_ns]
    if missing:
        with Store() as store:
            for record in missing:
                try:
                    values = store.latencies(record.id)
                except ReefError:  # a record given from elsewhere, not in this store
                    values = None
                if values:
                    found[record.id] = [ns / 1e6 for ns in values]
    return found


# -- the document ----------------------------------------------------------------------------


def build_document(
    records: list[RunRecord],
    *,
    title: str | None = None,
    objectives: list[Objective] | None = None,
    warnings: list[str] | None = None,
) -> Document:
    """The report of ``records`` as a document for the HTML and Markdown writers."""
    from reef.report.document import Document

    statuses: Counter[str] = Counter(r.status for r in records)
    made = datetime.now(UTC).replace(microsecond=0).isoformat()
    models = sorted({_model(r) for r in records})
    facts = [
        ("Generated", f"{made} by {_generator()}"),
        ("Runs", f"{len(records):,} ({_counts(statuses)})"),
        ("Models", ", ".join(models) if len(models) <= 8 else f"{len(models)} models"),
        ("Scenarios", ", ".join(sorted({r.scenario for r in records}))),
    ]
    first = min((r.created_at for r in records), default=None)
    last = max((r.created_at for r in records), default=None)
    if first and last:
        facts.append(("Recorded", f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"))
    notes = list(warnings or [])
    sections = [
        _summary(records),
        _latency_section(records),
        _throughput_section(records),
        _pareto_section(records, objectives, notes),
        _verdict_section(records),
        _environment_section(records),
    ]
    heading = title or f"Reef report: {len(records):,} run{'s' if len(records) != 1 else ''}"
    return Document(heading, facts, sections, notes)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n:,} {status}" for status, n in counter.most_common())


def _model(record: RunRecord) -> str:
    target = record.target
    return f"{target.name}@{target.version}" if target.version else target.name


def _hardware(record: RunRecord) -> str:
    from reef.results.query import run_hardware

    return run_hardware(record.environment)


def _label(record: RunRecord, with_model: bool = True) -> str:
    """How a run is named in a chart: model (left out when every run drawn shares it),
    backend and short id."""
    backend = record.predictor.name if record.predictor else "?"
    model = _model(record) if with_model else (record.target.version or record.target.name)
    return f"{model} · {backend} · {record.id[:8]}"


def _one_model(runs: Sequence[RunRecord]) -> bool:
    return len({r.target.name for r in runs}) == 1


def _bars(runs: list[RunRecord]) -> list[Bar]:
    """Throughput bars coloured by model, or by backend when they are all one model."""
    from reef.report.charts import Bar

    one = _one_model(runs)
    return [
        Bar(
            _label(r, not one),
            _throughput(r),
            group=(r.predictor.name if r.predictor else "?") if one else r.target.name,
            run_id=r.id,
        )
        for r in runs
    ]


def _metric(record: RunRecord, objective: Objective) -> float:
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


def _summary(records: list[RunRecord]) -> Section:
    from reef.report.document import Column, Section, Table

    columns = [
        Column("run"),
        Column("model"),
        Column("scenario"),
        Column("backend"),
        Column("hardware"),
        Column("status"),
        Column("LoadGen"),
        Column("p50 ms", numeric=True),
        Column("p90 ms", numeric=True),
        Column("p99 ms", numeric=True),
        Column("throughput qps", numeric=True),
        Column("accuracy", numeric=True),
        Column("metric"),
        Column("date"),
    ]
    rows: list[list[Any]] = []
    for r in records:
        perf = r.performance
        accuracy = r.accuracy
        rows.append(
            [
                r.id[:12],
                _model(r),
                r.scenario,
                r.predictor.name if r.predictor else None,
                _hardware(r),
                r.status,
                r.loadgen.result if r.loadgen else None,
                perf.latency_ms.p50 if perf else None,
                perf.latency_ms.p90 if perf else None,
                perf.latency_ms.p99 if perf else None,
                perf.throughput_qps if perf else None,
                accuracy.value if accuracy else None,
                accuracy.metric if accuracy and accuracy.value is not None else None,
                f"{r.created_at:%Y-%m-%d %H:%M}",
            ]
        )
    table = Table(columns, rows, run_ids=[r.id for r in records])
    return Section("Runs", "runs", [table])


def _groups(records: list[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in records:
        if r.performance is not None:
            groups.setdefault((r.target.name, r.scenario), []).append(r)
    return dict(sorted(groups.items()))


def _spread(records: list[RunRecord], count: int) -> list[RunRecord]:
    """At most ``count`` runs spanning the range of their medians: the fastest, the slowest and
    evenly spaced ranks between, so that a chart of a few shows the whole field."""
    ranked = sorted(records, key=lambda r: r.performance.latency_ms.p50 if r.performance else 0)
    if len(ranked) <= count:
        return ranked
    picks = sorted({round(i * (len(ranked) - 1) / (count - 1)) for i in range(count)})
    return [ranked[i] for i in picks]


def _latency_section(records: list[RunRecord]) -> Section:
    from reef.report.document import Figure, Paragraph, Section

    blocks: list[Block] = []
    groups = _groups(records)
    if not groups:
        blocks.append(Paragraph("No run measured latency.", "note"))
        return Section("Latency", "latency", blocks)
    for (model, scenario), members in groups.items():
        shown = _spread(members, SERIES_PER_CHART)
        raw = _latencies(shown)
        name = _slug(f"latency-{model}-{scenario}")
        chart = _cdf_chart(f"{model}, {scenario}: latency CDF", shown, raw)
        caption = _shown(len(shown), len(members))
        if any(r.id not in raw for r in shown):
            caption += " Runs without raw latencies are drawn from their recorded percentiles."
        blocks.append(Figure(name + "-cdf", chart, caption))
        histogram = _histogram_chart(f"{model}, {scenario}: latency histogram", shown, raw)
        if histogram is not None:
            blocks.append(Figure(name + "-histogram", *histogram))
    return Section("Latency", "latency", blocks)


def _shown(shown: int, total: int) -> str:
    if shown == total:
        return f"All {total} run{'s' if total != 1 else ''}."
    return (
        f"{shown} of {total} runs: the fastest, the slowest and evenly spaced ranks between, "
        "by median latency."
    )


def _cdf_chart(title: str, runs: list[RunRecord], raw: dict[str, list[float]]) -> Chart:
    from reef.report.charts import LineChart, Series, cdf

    series = []
    with_model = not _one_model(runs)
    for r in runs:
        if r.id in raw:
            xs, ys = cdf(raw[r.id])
            series.append(Series(_label(r, with_model), xs, ys, run_id=r.id))
        elif r.performance is not None:
            lat = r.performance.latency_ms
            xs = [lat.min, lat.p50, lat.p90, lat.p95, lat.p99, lat.max]
            ys = [0.0, 0.5, 0.9, 0.95, 0.99, 1.0]
            label = _label(r, with_model) + " (percentiles)"
            series.append(Series(label, xs, ys, run_id=r.id))
    # Steps for measured distributions; straight lines between recorded percentiles, since
    # nothing is known of the queries between them.
    step = all(r.id in raw for r in runs)
    return LineChart(
        title, "latency (ms)", "fraction of queries", series, x_log=_wide(series), step=step
    )


def _wide(series: Sequence[Any]) -> bool:
    """A log axis when the values span more than two decades."""
    values = [x for s in series for x in s.x if x > 0]
    return bool(values) and max(values) / min(values) > 100


def _histogram_chart(
    title: str, runs: list[RunRecord], raw: dict[str, list[float]]
) -> tuple[Chart, str | None] | None:
    """The histogram of up to 4 runs' raw latencies, and a note of the tail left out: when
    the slowest queries reach past ``TAIL_FACTOR`` times the 99.5th percentile, bins spread
    over the whole range would squeeze every other query into a few of them."""
    from reef.report.charts import Histogram, HistSeries

    with_model = not _one_model(runs)
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
        HistSeries(_label(r, with_model), [v for v in raw[r.id] if v <= cut], run_id=r.id)
        for r in kept
    ]
    shown = [v for s in series for v in s.values if v > 0]
    wide = bool(shown) and max(shown) / min(shown) > 100
    return Histogram(title, "latency (ms)", series, x_log=wide), note


def _throughput_section(records: list[RunRecord]) -> Section:
    from reef.report.charts import BarChart
    from reef.report.document import Figure, Paragraph, Section

    blocks: list[Block] = []
    by_scenario: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.performance is not None:
            by_scenario.setdefault(r.scenario, []).append(r)
    for scenario, members in sorted(by_scenario.items()):
        best = sorted(members, key=lambda r: -_throughput(r))[:BARS_PER_CHART]
        chart = BarChart(f"{scenario}: throughput", "samples per second", _bars(best))
        caption = (
            f"The {len(best)} fastest of {len(members)} runs."
            if len(best) < len(members)
            else _shown(len(best), len(members))
        )
        blocks.append(Figure(_slug(f"throughput-{scenario}"), chart, caption))
    if not blocks:
        blocks.append(Paragraph("No run measured throughput.", "note"))
    return Section("Throughput", "throughput", blocks)


def _throughput(record: RunRecord) -> float:
    return record.performance.throughput_qps if record.performance else 0.0


def _pareto_section(
    records: list[RunRecord], objectives: list[Objective] | None, notes: list[str]
) -> Section:
    from reef.report.document import Column, Figure, Paragraph, Section, Table

    chosen = objectives or _default_objectives(records)
    x_obj, y_obj = chosen
    points = [(r, _metric(r, x_obj), _metric(r, y_obj)) for r in records]
    complete = [(r, x, y) for r, x, y in points if math.isfinite(x) and math.isfinite(y)]
    blocks: list[Block] = []
    if len(complete) < len(points):
        blocks.append(
            Paragraph(
                f"{len(points) - len(complete)} of {len(points)} runs lack "
                f"{x_obj.name} or {y_obj.name} and are left out.",
                "note",
            )
        )
    if not complete:
        if objectives:
            notes.append(f"no selected run has both {x_obj.name} and {y_obj.name}")
        blocks.append(Paragraph("No run has both metrics.", "note"))
        return Section("Pareto frontier", "pareto", blocks)
    front = _front(complete, chosen)
    chart = _scatter(complete, front, chosen)
    blocks.append(Figure("pareto", chart, f"{x_obj} against {y_obj}; the frontier is drawn."))
    sign = 1.0 if x_obj.direction == "min" else -1.0
    on_front = sorted(
        (p for p, on in zip(complete, front, strict=True) if on), key=lambda p: sign * p[1]
    )
    rows: list[list[Any]] = [
        [r.id[:12], _model(r), r.scenario, r.predictor.name if r.predictor else None, x, y]
        for r, x, y in on_front
    ]
    columns = [
        Column("run"),
        Column("model"),
        Column("scenario"),
        Column("backend"),
        Column(_axis(x_obj), numeric=True),
        Column(_axis(y_obj), numeric=True),
    ]
    ordered_ids = [r.id for r, _, _ in on_front]
    caption = f"The frontier: {len(rows)} of {len(complete)} runs"
    blocks.append(Table(columns, rows, caption=caption, run_ids=ordered_ids))
    return Section("Pareto frontier", "pareto", blocks)


def _default_objectives(records: list[RunRecord]) -> list[Objective]:
    has_accuracy = any(r.accuracy is not None and r.accuracy.value is not None for r in records)
    second = Objective("accuracy", "max") if has_accuracy else Objective("throughput", "max")
    return [Objective("latency_p90", "min"), second]


def _axis(objective: Objective) -> str:
    unit = f" ({objective.unit})" if objective.unit else ""
    return f"{objective.name}{unit}"


def _front(points: list[tuple[RunRecord, float, float]], objectives: list[Objective]) -> list[bool]:
    from reef.api.pareto import front_mask

    return front_mask([(x, y) for _, x, y in points], [o.direction for o in objectives])


def _scatter(
    points: list[tuple[RunRecord, float, float]], front: list[bool], objectives: list[Objective]
) -> Chart:
    from reef.report.charts import Point, ScatterChart

    x_obj, y_obj = objectives
    marks = [
        Point(x, y, _label(r), group=r.target.name, on_frontier=on, run_id=r.id)
        for (r, x, y), on in zip(points, front, strict=True)
    ]
    line = sorted((x, y) for (_, x, y), on in zip(points, front, strict=True) if on)
    xs = [x for _, x, _ in points]
    return ScatterChart(
        "Pareto frontier",
        _axis(x_obj),
        _axis(y_obj),
        marks,
        x_log=min(xs) > 0 and max(xs) / min(xs) > 100,
        frontier=line,
        directions=(x_obj.direction, y_obj.direction),
    )


def _verdict_section(records: list[RunRecord]) -> Section:
    from reef.report.document import Column, Paragraph, Section, Table

    verdicts: Counter[tuple[str, str]] = Counter()
    rows: list[list[Any]] = []
    ids: list[str] = []
    for r in records:
        result = (r.loadgen.result if r.loadgen else None) or "none"
        reasons = (r.loadgen.reasons if r.loadgen else []) or r.reasons
        for reason in reasons or ["-"]:
            verdicts[(result, reason)] += 1
        if r.loadgen is not None:
            early = "; ".join(r.performance.early_stopping) if r.performance else ""
            rows.append(
                [
                    r.id[:12],
                    _model(r),
                    r.scenario,
                    result,
                    "; ".join(reasons) or None,
                    early or None,
                ]
            )
            ids.append(r.id)
    blocks: list[Block] = []
    if not rows:
        blocks.append(Paragraph("No run went through LoadGen.", "note"))
        return Section("LoadGen verdicts", "loadgen", blocks)
    count_rows: list[list[Any]] = [
        [result, reason, n] for (result, reason), n in verdicts.most_common()
    ]
    blocks.append(
        Table([Column("result"), Column("reason"), Column("runs", numeric=True)], count_rows)
    )
    columns = [
        Column("run"),
        Column("model"),
        Column("scenario"),
        Column("result"),
        Column("reasons"),
        Column("early stopping"),
    ]
    blocks.append(Table(columns, rows, caption="Each run's verdict", run_ids=ids, collapsed=True))
    return Section("LoadGen verdicts", "loadgen", blocks)


def _environment_section(records: list[RunRecord]) -> Section:
    from reef.report.document import Column, Paragraph, Section, Table

    seen: dict[str, tuple[RunRecord, int]] = {}
    for r in records:
        key = str(r.environment.get("hash") or "") if r.environment else ""
        first, count = seen.get(key, (r, 0))
        seen[key] = (first, count + 1)
    rows = [_environment_row(key, first, count) for key, (first, count) in seen.items()]
    if not rows:
        return Section("Environments", "environments", [Paragraph("No environment.", "note")])
    columns = [
        Column("fingerprint"),
        Column("hardware"),
        Column("cores", numeric=True),
        Column("memory GiB", numeric=True),
        Column("OS"),
        Column("kernel"),
        Column("Python"),
        Column("frameworks"),
        Column("runs", numeric=True),
    ]
    caption = f"{len(rows)} distinct environment{'s' if len(rows) != 1 else ''}"
    return Section("Environments", "environments", [Table(columns, rows, caption=caption)])


def _environment_row(key: str, record: RunRecord, count: int) -> list[Any]:
    env = record.environment or {}
    hardware = env.get("hardware") or {}
    cpu = hardware.get("cpu") or {}
    memory = (hardware.get("memory") or {}).get("total_bytes")
    system = (env.get("os") or {}).get("system") or {}
    distribution = (system.get("distribution") or {}).get("name")
    software = env.get("software") or {}
    python = (software.get("python") or env.get("python") or {}).get("version")
    frameworks = software.get("frameworks") or {}
    names = ", ".join(
        f"{name} {info.get('version', '')}".strip()
        for name, info in sorted(frameworks.items())
        if isinstance(info, dict)
    )
    return [
        key[:12] or "-",
        _hardware(record),
        cpu.get("logical_cores"),
        round(memory / 2**30, 1) if isinstance(memory, int | float) else None,
        distribution or system.get("name"),
        system.get("kernel"),
        python,
        names or None,
        count,
    ]


# Slugs name figure files: past this, a name from the store (runs recorded before names were
# capped) could exceed what a file system takes and fail the whole report.
_SLUG_MAX = 80


def _slug(text: str) -> str:
    cleaned = "".join(c.lower() if c.isalnum() else "-" for c in text)
    slug = "-".join(part for part in cleaned.split("-") if part)
    if len(slug) <= _SLUG_MAX:
        return slug
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug[: _SLUG_MAX - 13].rstrip('-')}-{digest}"


# -- one plot --------------------------------------------------------------------------------


def _one_chart(
    kind: str, records: list[RunRecord], objectives: list[Objective] | None, max_series: int
) -> tuple[Chart, int, list[str]]:
    from reef.report.charts import BarChart

    notes: list[str] = []
    measured = [r for r in records if r.performance is not None]
    if kind == "pareto":
        chosen = objectives or _default_objectives(records)
        points = [(r, _metric(r, chosen[0]), _metric(r, chosen[1])) for r in records]
        complete = [(r, x, y) for r, x, y in points if math.isfinite(x) and math.isfinite(y)]
        if not complete:
            raise ReportError(
                f"none of the {len(records)} selected runs has both {chosen[0].name} and "
                f"{chosen[1].name}",
                hint="choose other metrics with --objective",
            )
        if len(complete) < len(points):
            notes.append(f"{len(points) - len(complete)} runs lacking a metric are left out")
        return _scatter(complete, _front(complete, chosen), chosen), len(complete), notes
    if not measured:
        raise ReportError(
            f"none of the {len(records)} selected runs measured performance",
            hint="failed and interrupted runs have no latencies; add --status valid",
        )
    if kind == "throughput":
        best = sorted(measured, key=lambda r: -_throughput(r))[:max_series]
        if len(best) < len(measured):
            notes.append(f"showing the {len(best)} fastest of {len(measured)} runs")
        return BarChart("Throughput", "samples per second", _bars(best)), len(best), notes
    shown = _spread(measured, max_series)
    if len(shown) < len(measured):
        notes.append(f"showing {len(shown)} of {len(measured)} runs, spread by median latency")
    if len({(r.target.name, r.scenario) for r in shown}) > 1:
        notes.append("the runs are of different models or scenarios")
    raw = _latencies(shown)
    if kind == "cdf":
        return _cdf_chart("Latency CDF", shown, raw), len(shown), notes
    histogram = _histogram_chart("Latency histogram", shown, raw)
    if histogram is None:
        raise ReportError(
            "none of the selected runs kept raw latencies, which a histogram needs",
            hint="`reef plot cdf` draws runs from their recorded percentiles",
        )
    chart, tail = histogram
    if tail is not None:
        notes.append(tail)
    return chart, min(len(shown), 4), notes
