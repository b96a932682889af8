"""The latency verdict of one run against a baseline, in words: "B is 1.23x faster
(1.19-1.27)", "no significant difference", "no clear difference".

The statistics are ``reef.results.stats``'s: from the raw per-query latencies when both runs
kept them (ratio of medians, bootstrap interval, Mann-Whitney U, Cliff's delta), else from
their summary percentiles, which allow no significance test.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from reef.results.stats import (
    JsonFloat,
    LatencyComparison,
    SummaryComparison,
    factor,
    format_p,
)

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

__all__ = ["LATENCY_METRICS", "LatencyVerdict", "latency_table", "latency_verdict", "ratio_to"]

LATENCY_METRICS = ("min", "mean", "p50", "p90", "p95", "p99", "max")
_DASH = "\u2013"  # an en dash between the bounds of an interval

LatencyMethod = Literal["raw", "summary", "none"]
Outcome = Literal["same", "slower", "faster", "not compared"]


class LatencyVerdict(BaseModel):
    """Latency of one run against the baseline's.

    ``sentence`` is the plain verdict ("B is 1.23x faster (1.19-1.27)", "no significant
    difference"); ``detail`` says what it rests on. Ratios are run / baseline: above 1 is
    slower. ``method`` says what was compared: ``raw`` latencies, ``summary`` percentiles, or
    ``none`` (a run has no latency figures). ``result``, the statistics, is ``stats`` in JSON.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    method: LatencyMethod
    statistic: str  # "median" for raw latencies, else the percentile the ratio is of
    verdict: Outcome
    ratio: JsonFloat | None
    ci_low: JsonFloat | None
    ci_high: JsonFloat | None
    sentence: str
    detail: str
    result: LatencyComparison | SummaryComparison | None = None

    @model_serializer(mode="wrap")
    def _result_as_stats(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if "result" in data:  # not left out by ``exclude``
            stats = data.pop("result")
            if isinstance(stats, dict):
                # Its description always calls the compared run "B": ``sentence`` says it here.
                stats.pop("description", None)
            data["stats"] = stats
        return data


def latency_table(record: RunRecord) -> dict[str, float] | None:
    """The run's finite latency figures in ms by statistic; None when it measured none."""
    if record.performance is None:
        return None
    data = record.performance.latency_ms.model_dump()
    return {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def latency_verdict(
    base: RunRecord, other: RunRecord, label: str, metric: str, alpha: float, tolerance: float
) -> LatencyVerdict:
    """``other`` (called ``label``) against ``base``: from raw latencies when both kept
    enough, else from the summary percentiles, with ``metric`` as the headline ratio."""
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
        f"{format_p(result.p_value)}; Cliff's delta {result.effect_size:+.2f} "
        f"({result.effect_label}); {result.n_a:,} vs {result.n_b:,} latencies"
    )
    interval = f"{result.ci_low:.2f}{_DASH}{result.ci_high:.2f}"
    if result.verdict == "same":
        sentence = "no significant difference"
        detail = f"ratio {result.ratio:.2f} ({interval}); {stats}; not a difference: {result.note}"
    else:
        times, low, high = factor(result.ratio, result.ci_low, result.ci_high)
        sentence = f"{label} is {times:.2f}x {result.verdict} ({low:.2f}{_DASH}{high:.2f})"
        detail = f"ratio {result.ratio:.2f} ({interval}); {stats}"
    return LatencyVerdict.model_construct(
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

    a, b = latency_table(base), latency_table(other)
    if a is None or b is None:
        who = "the baseline" if a is None else label
        return LatencyVerdict.model_construct(
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
    ratio = ratio_to(b.get(metric), a.get(metric))
    ratios = ", ".join(f"{k} {v:.2f}" for k, v in result.ratios.items())
    basis = f"{note}percentiles only, so no significance test"
    verdict: Outcome = result.verdict
    agrees = ratio is not None and (ratio > 1) == (verdict == "slower")
    if verdict != "same" and agrees and ratio is not None:
        times, _, _ = factor(ratio, ratio, ratio)
        sentence = f"{label} is {times:.2f}x {verdict} at {metric}"
        detail = f"ratios {ratios}: all beyond {tolerance:.0%} the same way; {basis}"
    else:
        verdict = "same"
        sentence = "no clear difference"
        shown = f"{metric} ratio {ratio:.2f}; " if ratio is not None else ""
        detail = f"{shown}ratios {ratios or 'none'}: not all beyond {tolerance:.0%} the same way; "
        detail += basis
    return LatencyVerdict.model_construct(
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


def ratio_to(value: float | None, base: float | None) -> float | None:
    """``value / base``; None where either is unknown or ``base`` is not positive."""
    if value is None or base is None or not base > 0:
        return None
    return value / base
