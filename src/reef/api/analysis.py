"""Recorded runs side by side: ``reef compare A B [C ...]``.

The first run (or the one ``baseline`` names) is the baseline; every other run is compared
with it. Settings and metrics are laid side by side, environment differences are counted, and
latency is judged by ``reef.results.stats``: from the raw per-query latencies when both runs
kept them (ratio of medians, bootstrap interval, Mann-Whitney U, Cliff's delta), else from
their summary percentiles, which allow no significance test. Runs that measure different
things (another scenario, model, batch size, ...) are still compared, with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from reef.errors import ReefError, RunNotFound

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results import Store
    from reef.results.stats import LatencyComparison, SummaryComparison

__all__ = [
    "LATENCY_METRICS",
    "CompareError",
    "Comparison",
    "EnvironmentBrief",
    "LatencyVerdict",
    "MetricRow",
    "RunInfo",
    "SettingRow",
    "Versus",
    "compare",
]

LATENCY_METRICS = ("min", "mean", "p50", "p90", "p95", "p99", "max")
# Environment keys named per group; the rest are counted.
ENV_KEYS_SHOWN = 3
# Settings whose difference changes what a latency figure means, with the words for them.
_MEANING = {"batch_size": "batch size", "threads": "threads", "backend": "backend"}
_DASH = "\u2013"  # an en dash between the bounds of an interval

LatencyMethod = Literal["raw", "summary", "none"]
Outcome = Literal["same", "slower", "faster", "not compared"]


class CompareError(ReefError):
    """The runs cannot be compared as asked (exit 2): nothing was compared or written."""


@dataclass(frozen=True)
class RunInfo:
    label: str  # A, B, C, ... in the order given
    id: str
    model: str  # name@version
    scenario: str
    status: str
    created_at: str  # ISO 8601
    reasons: list[str]
    raw_latencies: int | None  # how many were kept; None when none were

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class SettingRow:
    """One setting of every run, in run order; ``differs`` when any differs from another."""

    name: str
    values: list[Any]
    differs: bool

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class MetricRow:
    """One figure of every run, and each run's ratio to the baseline's (None: not comparable)."""

    name: str  # a latency statistic (p50, ...), "throughput" or "accuracy"
    unit: str  # ms, samples/s, or the accuracy metric's name
    better: Literal["lower", "higher"]
    values: list[float | None]
    ratios: list[float | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "better": self.better,
            "values": [_number(v) for v in self.values],
            "ratios": [_number(r) for r in self.ratios],
        }


@dataclass(frozen=True)
class EnvironmentBrief:
    """What differs between a run's environment and the baseline's, in brief: a count per
    group (hardware, os, software, ...) and the first few keys of each."""

    differences: int
    counts: dict[str, int]
    keys: dict[str, list[str]]

    @property
    def identical(self) -> bool:
        return self.differences == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "differences": self.differences,
            "groups": {g: {"count": n, "keys": self.keys[g]} for g, n in self.counts.items()},
        }


@dataclass(frozen=True)
class LatencyVerdict:
    """Latency of one run against the baseline's.

    ``sentence`` is the plain verdict ("B is 1.23x faster (1.19-1.27)", "no significant
    difference"); ``detail`` says what it rests on. Ratios are run / baseline: above 1 is
    slower. ``method`` says what was compared: ``raw`` latencies, ``summary`` percentiles, or
    ``none`` (a run has no latency figures).
    """

    method: LatencyMethod
    statistic: str  # "median" for raw latencies, else the percentile the ratio is of
    verdict: Outcome
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    sentence: str
    detail: str
    result: LatencyComparison | SummaryComparison | None = None

    def to_json(self) -> dict[str, Any]:
        stats: dict[str, Any] | None = None
        if self.result is not None:
            stats = self.result.to_json()
            # Its description always calls the compared run "B": ``sentence`` says it here.
            stats.pop("description", None)
        return {
            "method": self.method,
            "statistic": self.statistic,
            "verdict": self.verdict,
            "ratio": _number(self.ratio),
            "ci_low": _number(self.ci_low),
            "ci_high": _number(self.ci_high),
            "sentence": self.sentence,
            "detail": self.detail,
            "stats": stats,
        }


@dataclass(frozen=True)
class Versus:
    """One run compared with the baseline."""

    label: str
    id: str
    latency: LatencyVerdict
    environment: EnvironmentBrief

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "id": self.id,
            "latency": self.latency.to_json(),
            "environment": self.environment.to_json(),
        }


@dataclass(frozen=True)
class Comparison:
    runs: list[RunInfo]
    baseline: int  # index into ``runs``
    metric: str
    alpha: float
    tolerance: float
    settings: list[SettingRow]
    metrics: list[MetricRow]
    versus: list[Versus]  # every run but the baseline, in run order
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.runs[self.baseline].label,
            "metric": self.metric,
            "alpha": self.alpha,
            "tolerance": self.tolerance,
            "runs": [r.to_json() for r in self.runs],
            "settings": [s.to_json() for s in self.settings],
            "metrics": [m.to_json() for m in self.metrics],
            "versus": [v.to_json() for v in self.versus],
            "warnings": list(self.warnings),
        }


def compare(
    run_ids: Sequence[str],
    *,
    baseline: int = 0,
    metric: str = "p50",
    alpha: float = 0.05,
    tolerance: float = 0.05,
) -> Comparison:
    """Compare recorded runs (ids or unique prefixes) with the one at index ``baseline``.

    ``metric`` is the latency statistic the headline ratio uses when a pair lacks raw
    latencies; with them it is always the ratio of medians. Latency differences within
    ``tolerance`` (a fraction) are never called a difference; ``alpha`` is the rank test's
    significance level. Bad input raises ``CompareError`` (or ``RunNotFound``) before anything
    is compared; nothing is ever written.
    """
    from reef.results import Store

    ids = list(run_ids)
    if len(ids) < 2:
        got = "none" if not ids else f"only {ids[0]!r}"
        raise CompareError(
            f"compare needs at least two runs, got {got}",
            hint="reef compare A B [C ...]; `reef runs list` shows the recorded runs",
        )
    if not 0 <= baseline < len(ids):
        raise CompareError(f"baseline must be a run index from 0 to {len(ids) - 1}, not {baseline}")
    if not 0 < alpha < 1:
        raise CompareError(f"--alpha must be between 0 and 1, got {alpha:g}")
    if not 0 <= tolerance < 1:
        raise CompareError(f"--tolerance must be a fraction from 0 to 1, got {tolerance:g}")
    with Store() as store:
        records = [get_run(store, ref) for ref in ids]
    _refuse_duplicates(ids, records)
    _check_metric(metric, records)

    labels = [_label(i) for i in range(len(records))]
    base = records[baseline]
    versus = [
        Versus(
            label=labels[i],
            id=r.id,
            latency=_latency(base, r, labels[i], metric, alpha, tolerance),
            environment=_environment(base, r),
        )
        for i, r in enumerate(records)
        if i != baseline
    ]
    return Comparison(
        runs=[_info(label, r) for label, r in zip(labels, records, strict=True)],
        baseline=baseline,
        metric=metric,
        alpha=alpha,
        tolerance=tolerance,
        settings=_settings(records),
        metrics=_metrics(records, baseline),
        versus=versus,
        warnings=_warnings(records, labels),
    )


# --- resolving the runs -----------------------------------------------------------------------


def get_run(store: Store, ref: str, *, with_latencies: bool = True) -> RunRecord:
    """The run ``ref`` (an id or unique prefix) names; an unknown or ambiguous one is a
    ``RunNotFound`` whose hint lists the candidates with their model, scenario and date."""
    try:
        return store.get(ref, with_latencies=with_latencies)
    except RunNotFound as exc:
        if not exc.candidates:
            exc.hint = "`reef runs list` shows the recorded runs"
            raise
        described = []
        for run_id in exc.candidates:
            try:
                described.append(_describe(store.get(run_id)))
            except ReefError:  # a record this Reef cannot read is still a candidate
                described.append(run_id)
        exc.hint = "candidates: " + "; ".join(described)
        raise


def _describe(record: RunRecord) -> str:
    return f"{record.id} ({_model(record)}, {record.scenario}, {record.created_at:%Y-%m-%d %H:%M})"


def _refuse_duplicates(refs: list[str], records: list[RunRecord]) -> None:
    seen: dict[str, str] = {}
    for ref, record in zip(refs, records, strict=True):
        if record.id in seen:
            first = seen[record.id]
            given = f"{first!r}" if first == ref else f"{first!r} and {ref!r}"
            raise CompareError(
                f"run {record.id} is given twice ({given})",
                hint="compare distinct runs; `reef runs list` shows the recorded runs",
            )
        seen[record.id] = ref


def _check_metric(metric: str, records: list[RunRecord]) -> None:
    have = _latency_keys(records)
    if metric not in have:
        raise CompareError(
            f"--metric: the runs have no latency statistic {metric!r}",
            hint="they have: " + ", ".join(have),
        )


def _latency_keys(records: list[RunRecord]) -> list[str]:
    """The latency statistics every run with latency figures has, in the usual order."""
    tables = [_latency_table(r) for r in records]
    present = [t for t in tables if t is not None]
    if not present:
        return list(LATENCY_METRICS)
    common = set.intersection(*(set(t) for t in present))
    ordered = [k for k in LATENCY_METRICS if k in common]
    return ordered + sorted(common - set(LATENCY_METRICS))


def _latency_table(record: RunRecord) -> dict[str, float] | None:
    if record.performance is None:
        return None
    data = record.performance.latency_ms.model_dump()
    return {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


# --- side by side -------------------------------------------------------------------------------


def _label(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"R{index + 1}"


def _model(record: RunRecord) -> str:
    t = record.target
    return f"{t.name}@{t.version}" if t.version else t.name


def _info(label: str, r: RunRecord) -> RunInfo:
    return RunInfo(
        label=label,
        id=r.id,
        model=_model(r),
        scenario=r.scenario,
        status=r.status,
        created_at=r.created_at.isoformat(),
        reasons=list(r.reasons),
        raw_latencies=len(r.latencies_ns) if r.latencies_ns else None,
    )


def _setting_values(r: RunRecord) -> dict[str, Any]:
    p = r.predictor
    values: dict[str, Any] = {
        "model": _model(r),
        "model sha256": r.target.sha256[:16],
        "backend": f"{p.name} {p.version}" if p else None,
        "providers": ", ".join(p.providers) if p and p.providers else None,
        "predictor options": dict(p.options) if p and p.options else None,
    }
    values.update(r.settings.model_dump(mode="json"))
    return values


def _settings(records: list[RunRecord]) -> list[SettingRow]:
    per_run = [_setting_values(r) for r in records]
    names = list(per_run[0])
    for values in per_run[1:]:
        names.extend(n for n in values if n not in names)
    rows = []
    for name in names:
        row = [v.get(name) for v in per_run]
        rows.append(SettingRow(name, row, any(v != row[0] for v in row)))
    return rows


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or not base > 0:
        return None
    return value / base


def _metrics(records: list[RunRecord], baseline: int) -> list[MetricRow]:
    tables = [_latency_table(r) for r in records]
    rows = []
    for key in _latency_keys(records):
        values = [t.get(key) if t is not None else None for t in tables]
        rows.append(_row(key, "ms", "lower", values, baseline))
    throughput = [r.performance.throughput_qps if r.performance else None for r in records]
    rows.append(_row("throughput", "samples/s", "higher", throughput, baseline))
    base_acc = records[baseline].accuracy
    if any(r.accuracy is not None and r.accuracy.value is not None for r in records):
        names = sorted({r.accuracy.metric for r in records if r.accuracy is not None})
        accuracy = [r.accuracy.value if r.accuracy else None for r in records]
        row = _row("accuracy", "/".join(names), "higher", accuracy, baseline)
        # An accuracy is a ratio of another one only when it is the same metric.
        same = [
            r.accuracy is not None and base_acc is not None and r.accuracy.metric == base_acc.metric
            for r in records
        ]
        rows.append(
            MetricRow(
                row.name,
                row.unit,
                row.better,
                row.values,
                [x if ok else None for x, ok in zip(row.ratios, same, strict=True)],
            )
        )
    return rows


def _row(
    name: str,
    unit: str,
    better: Literal["lower", "higher"],
    values: list[float | None],
    baseline: int,
) -> MetricRow:
    base = values[baseline]
    return MetricRow(name, unit, better, values, [_ratio(v, base) for v in values])


def _environment(base: RunRecord, other: RunRecord) -> EnvironmentBrief:
    from reef.environment.diff import diff

    counts: dict[str, int] = {}
    keys: dict[str, list[str]] = {}
    found = diff(base.environment, other.environment)
    for d in found:
        counts[d.group] = counts.get(d.group, 0) + 1
        shown = keys.setdefault(d.group, [])
        if len(shown) < ENV_KEYS_SHOWN:
            shown.append(d.key)
    return EnvironmentBrief(len(found), counts, keys)


# --- warnings -----------------------------------------------------------------------------------


def _warnings(records: list[RunRecord], labels: list[str]) -> list[str]:
    out = []

    def differing(what: str, values: list[Any], why: str) -> None:
        if any(v != values[0] for v in values):
            listed = ", ".join(
                f"{label} {'default' if v is None else v}"
                for label, v in zip(labels, values, strict=True)
            )
            out.append(f"runs differ in {what} ({listed}): {why}")

    differing(
        "scenario",
        [r.scenario for r in records],
        "latencies of different scenarios measure different things",
    )
    differing("model", [_model(r) for r in records], "they measure different models")
    if len({_model(r) for r in records}) == 1:
        differing(
            "model file",
            [r.target.sha256[:12] for r in records],
            "the same model name was run from different files",
        )
    settings = [_setting_values(r) for r in records]
    for key, words in _MEANING.items():
        values = [s.get(key) for s in settings]
        if key == "backend":
            values = [r.predictor.name if r.predictor else None for r in records]
        differing(words, values, "that changes what a latency means")
    differing(
        "trace level",
        [r.trace.level if r.trace is not None else "none" for r in records],
        "tracing adds its own cost to each query",
    )
    for label, r in zip(labels, records, strict=True):
        if r.status != "valid":
            why = f": {'; '.join(r.reasons)}" if r.reasons else ""
            out.append(f"{label} ({r.id[:8]}) is {r.status}{why}")
    return out


# --- latency --------------------------------------------------------------------------------------


def _latency(
    base: RunRecord, other: RunRecord, label: str, metric: str, alpha: float, tolerance: float
) -> LatencyVerdict:
    from reef.results.stats import compare_latencies

    note = ""
    if base.latencies_ns and other.latencies_ns:
        result = compare_latencies(
            base.latencies_ns, other.latencies_ns, alpha=alpha, tolerance=tolerance
        )
        if not result.insufficient:
            return _raw_verdict(result, label)
        note = f"{result.note}; "
    else:
        missing = [lbl for lbl, r in (("the baseline", base), (label, other)) if not r.latencies_ns]
        note = f"{' and '.join(missing)} kept no raw latencies; "
    return _summary_verdict(base, other, label, metric, tolerance, note)


def _raw_verdict(result: LatencyComparison, label: str) -> LatencyVerdict:
    stats = (
        f"median {result.median_a_ms:.3g} -> {result.median_b_ms:.3g} ms; Mann-Whitney "
        f"{_p(result.p_value)}; Cliff's delta {result.effect_size:+.2f} ({result.effect_label}); "
        f"{result.n_a:,} vs {result.n_b:,} latencies"
    )
    interval = f"{result.ci_low:.2f}{_DASH}{result.ci_high:.2f}"
    if result.verdict == "same":
        sentence = "no significant difference"
        detail = f"ratio {result.ratio:.2f} ({interval}); {stats}; not a difference: {result.note}"
    else:
        factor, low, high = _factor(result.ratio, result.ci_low, result.ci_high)
        sentence = f"{label} is {factor:.2f}x {result.verdict} ({low:.2f}{_DASH}{high:.2f})"
        detail = f"ratio {result.ratio:.2f} ({interval}); {stats}"
    return LatencyVerdict(
        method="raw",
        statistic="median",
        verdict=result.verdict,
        ratio=result.ratio,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        sentence=sentence,
        detail=detail,
        result=result,
    )


def _summary_verdict(
    base: RunRecord, other: RunRecord, label: str, metric: str, tolerance: float, note: str
) -> LatencyVerdict:
    from reef.results.stats import compare_summaries

    a, b = _latency_table(base), _latency_table(other)
    if a is None or b is None:
        who = "the baseline" if a is None else label
        return LatencyVerdict(
            method="none",
            statistic=metric,
            verdict="not compared",
            ratio=None,
            ci_low=None,
            ci_high=None,
            sentence="not compared",
            detail=f"{who} has no latency figures (status {(base if a is None else other).status})",
        )
    result = compare_summaries(a, b, tolerance=tolerance)
    ratio = _ratio(b.get(metric), a.get(metric))
    ratios = ", ".join(f"{k} {v:.2f}" for k, v in result.ratios.items())
    basis = f"{note}percentiles only, so no significance test"
    verdict: Outcome = result.verdict
    agrees = ratio is not None and (ratio > 1) == (verdict == "slower")
    if verdict != "same" and agrees and ratio is not None:
        factor, _, _ = _factor(ratio, ratio, ratio)
        sentence = f"{label} is {factor:.2f}x {verdict} at {metric}"
        detail = f"ratios {ratios}: all beyond {tolerance:.0%} the same way; {basis}"
    else:
        verdict = "same"
        sentence = "no clear difference"
        shown = f"{metric} ratio {ratio:.2f}; " if ratio is not None else ""
        detail = f"{shown}ratios {ratios or 'none'}: not all beyond {tolerance:.0%} the same way; "
        detail += basis
    return LatencyVerdict(
        method="summary",
        statistic=metric,
        verdict=verdict,
        ratio=ratio,
        ci_low=None,
        ci_high=None,
        sentence=sentence,
        detail=detail,
        result=result,
    )


def _factor(ratio: float, low: float, high: float) -> tuple[float, float, float]:
    """How many times slower or faster, with its interval, as numbers above 1."""
    if ratio >= 1:
        return ratio, low, high
    return 1 / ratio, 1 / high, 1 / low


def _p(p_value: float) -> str:
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def _number(value: float | None) -> float | None:
    """NaN and infinities are not JSON: unknown figures become null."""
    if value is None or not math.isfinite(value):
        return None
    return value
