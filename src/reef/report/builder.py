"""A report of recorded runs as a ``reef.report.document.Document``: the summary, latency CDFs
and histograms per model and scenario, throughput bars per scenario, the Pareto scatter with
its frontier, LoadGen verdicts and the environments, for the HTML and Markdown writers."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reef.report.plots import (
    SERIES_PER_CHART,
    axis_title,
    cdf_chart,
    default_objectives,
    histogram_chart,
    metric_value,
    model_name,
    on_frontier,
    percentile_chart,
    raw_quantity,
    scatter,
    spread,
    throughput,
    throughput_bars,
    throughput_panels,
)
from reef.report.selection import raw_latencies

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.report.document import Block, Document, Section
    from reef.results.pareto import Objective

__all__ = ["build_document", "generator"]

BARS_PER_CHART = 25  # runs in one throughput chart
# Slugs name figure files: past this, a name from the store (runs recorded before names were
# capped) could exceed what a file system takes and fail the whole report.
_SLUG_MAX = 80


def generator() -> str:
    """Who made a report: ``Reef 1.2.3``."""
    from reef import __version__

    return f"Reef {__version__}"


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
    models = sorted({model_name(r) for r in records})
    facts = [
        ("Generated", f"{made} by {generator()}"),
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


def _hardware(record: RunRecord) -> str:
    from reef.results.query import run_hardware

    return run_hardware(record.environment)


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
        # LoadGen's figures: from each sample's issue to its answer (in Offline, how long each
        # sample waited), not the system under test's own timing of a predict call.
        Column("LoadGen p50 ms", numeric=True),
        Column("LoadGen p90 ms", numeric=True),
        Column("LoadGen p99 ms", numeric=True),
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
                model_name(r),
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


def _latency_section(records: list[RunRecord]) -> Section:
    from reef.report.document import Figure, Paragraph, Section

    blocks: list[Block] = []
    groups = _groups(records)
    if not groups:
        blocks.append(Paragraph("No run measured latency.", "note"))
        return Section("Latency", "latency", blocks)
    for (model, scenario), members in groups.items():
        shown = spread(members, SERIES_PER_CHART)
        raw = raw_latencies(shown)
        name = _slug(f"latency-{model}-{scenario}")
        caption = _shown(len(shown), len(members))
        # Two quantities, two figures: what the system under test timed (per query; per
        # batch in Offline) and LoadGen's latency per sample, never under one label.
        what = raw_quantity(scenario)
        if raw:
            chart = cdf_chart(f"{model}, {scenario}: {what} (raw)", shown, raw)
            without = [r for r in shown if r.id not in raw]
            note = f" {len(without)} run(s) kept no raw latencies." if without else ""
            blocks.append(Figure(name + "-cdf", chart, caption + note))
        percentiles = percentile_chart(
            f"{model}, {scenario}: LoadGen latency per sample (percentiles)", shown
        )
        blocks.append(Figure(name + "-loadgen", percentiles, caption))
        histogram = histogram_chart(f"{model}, {scenario}: {what} histogram (raw)", shown, raw)
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


def _throughput_section(records: list[RunRecord]) -> Section:
    from reef.report.charts import BarChart
    from reef.report.document import Figure, Paragraph, Section

    blocks: list[Block] = []
    by_scenario: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.performance is not None:
            by_scenario.setdefault(r.scenario, []).append(r)
    for scenario, everyone in sorted(by_scenario.items()):
        for model, members in throughput_panels(everyone):
            best = sorted(members, key=lambda r: -throughput(r))[:BARS_PER_CHART]
            where = f"{scenario}, {model}" if model else scenario
            chart = BarChart(f"{where}: throughput", "samples per second", throughput_bars(best))
            caption = (
                f"The {len(best)} fastest of {len(members)} runs."
                if len(best) < len(members)
                else _shown(len(best), len(members))
            )
            if model:
                caption += " One panel per model: their throughputs lie orders of magnitude apart."
            blocks.append(Figure(_slug(f"throughput-{where}"), chart, caption))
    if not blocks:
        blocks.append(Paragraph("No run measured throughput.", "note"))
    return Section("Throughput", "throughput", blocks)


def _pareto_section(
    records: list[RunRecord], objectives: list[Objective] | None, notes: list[str]
) -> Section:
    from reef.report.document import Column, Figure, Paragraph, Section, Table

    chosen = objectives or default_objectives(records)
    x_obj, y_obj = chosen
    points = [(r, metric_value(r, x_obj), metric_value(r, y_obj)) for r in records]
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
    front = on_frontier(complete, chosen)
    chart = scatter(complete, front, chosen)
    blocks.append(Figure("pareto", chart, f"{x_obj} against {y_obj}; the frontier is drawn."))
    sign = 1.0 if x_obj.direction == "min" else -1.0
    on_front = sorted(
        (p for p, on in zip(complete, front, strict=True) if on), key=lambda p: sign * p[1]
    )
    rows: list[list[Any]] = [
        [r.id[:12], model_name(r), r.scenario, r.predictor.name if r.predictor else None, x, y]
        for r, x, y in on_front
    ]
    columns = [
        Column("run"),
        Column("model"),
        Column("scenario"),
        Column("backend"),
        Column(axis_title(x_obj), numeric=True),
        Column(axis_title(y_obj), numeric=True),
    ]
    ordered_ids = [r.id for r, _, _ in on_front]
    caption = f"The frontier: {len(rows)} of {len(complete)} runs"
    blocks.append(Table(columns, rows, caption=caption, run_ids=ordered_ids))
    return Section("Pareto frontier", "pareto", blocks)


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
                    model_name(r),
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


def _slug(text: str) -> str:
    cleaned = "".join(c.lower() if c.isalnum() else "-" for c in text)
    slug = "-".join(part for part in cleaned.split("-") if part)
    if len(slug) <= _SLUG_MAX:
        return slug
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug[: _SLUG_MAX - 13].rstrip('-')}-{digest}"
