"""``reef compare A B [C ...]``: recorded runs side by side (``reef.results.compare``)."""

from __future__ import annotations

from collections.abc import Sequence

from reef.results.compare import (
    LATENCY_METRICS,
    CompareError,
    Comparison,
    EnvironmentBrief,
    LatencyVerdict,
    MetricRow,
    RunInfo,
    SettingRow,
    Versus,
)

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
    from reef.environment.diff import diff
    from reef.results import Store
    from reef.results.compare import check_request, compare_records

    refs = list(run_ids)
    check_request(refs, baseline, alpha, tolerance)
    with Store() as store:
        records = [store.find(ref) for ref in refs]
    return compare_records(
        refs, records, diff, baseline=baseline, metric=metric, alpha=alpha, tolerance=tolerance
    )
