"""The analysis verbs over recorded runs: ``compare`` (``reef.results.compare``), ``pareto``
(``reef.results.pareto``) and ``board`` (``reef.results.board``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reef.results.board import SCENARIO_METRICS, Board, BoardError, BoardRow, hardware_label
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
from reef.results.pareto import (
    METRICS,
    DominatedRun,
    Frontier,
    Objective,
    ParetoError,
    ParetoRun,
)

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.query import RunFilter

__all__ = [
    "LATENCY_METRICS",
    "METRICS",
    "SCENARIO_METRICS",
    "Board",
    "BoardError",
    "BoardRow",
    "CompareError",
    "Comparison",
    "DominatedRun",
    "EnvironmentBrief",
    "Frontier",
    "LatencyVerdict",
    "MetricRow",
    "Objective",
    "ParetoError",
    "ParetoRun",
    "RunInfo",
    "SettingRow",
    "Versus",
    "board",
    "compare",
    "hardware_label",
    "pareto",
]


def compare(
    runs: Sequence[str | RunRecord],
    *,
    baseline: int = 0,
    metric: str = "p50",
    alpha: float = 0.05,
    tolerance: float = 0.05,
) -> Comparison:
    """Compare runs (ids, unique prefixes or ``RunRecord``s) with the one at index
    ``baseline``.

    ``metric`` is the latency statistic the headline ratio uses when a pair lacks raw
    latencies; with them it is always the ratio of medians. Latency differences within
    ``tolerance`` (a fraction) are never called a difference; ``alpha`` is the rank test's
    significance level. Bad input raises ``CompareError`` (or ``RunNotFound``) before anything
    is compared; nothing is ever written.
    """
    from reef.environment.diff import diff
    from reef.meta.run import RunRecord
    from reef.results.compare import check_request, compare_records

    given = list(runs)
    refs = [r.id if isinstance(r, RunRecord) else r for r in given]
    check_request(refs, baseline, alpha, tolerance)
    records: list[RunRecord | None] = [r if isinstance(r, RunRecord) else None for r in given]
    if any(r is None for r in records):
        from reef.results import Store

        with Store() as store:
            records = [
                r if r is not None else store.find(ref)
                for r, ref in zip(records, refs, strict=True)
            ]
    return compare_records(
        refs,
        [r for r in records if r is not None],
        diff,
        baseline=baseline,
        metric=metric,
        alpha=alpha,
        tolerance=tolerance,
    )


def pareto(
    objectives: Sequence[str | Objective], *, run_filter: RunFilter | None = None
) -> Frontier:
    """The Pareto frontier of the runs ``run_filter`` selects (all runs without one) over
    two or three ``objectives`` (``latency_p90:min``, ``accuracy:max``, ...).

    Raises ``ParetoError`` for bad objectives or a metric none of the selected runs has, and
    ``NoRunsMatch`` when the filter selects no run, all before anything is computed.
    """
    from reef.results import Store
    from reef.results.pareto import frontier, objectives_of
    from reef.results.query import RunFilter

    wanted = objectives_of(objectives)
    with Store() as store:
        return frontier(store, wanted, run_filter or RunFilter())


def board(
    metric: str | Objective | None = "auto",
    *,
    run_filter: RunFilter | None = None,
    hardware: str | None = None,
) -> Board:
    """The best valid run per (model, scenario, hardware) among the runs ``run_filter``
    selects (its status is always ``valid``), ranked by ``metric`` (``auto``: MLPerf's metric
    for each scenario).

    ``hardware`` keeps the groups whose hardware label contains it (any case). Raises
    ``BoardError`` for an unknown metric or one no selected run has, and ``NoRunsMatch`` when
    the filter selects no valid run.
    """
    from reef.results import Store
    from reef.results.board import parse_metric, scoreboard
    from reef.results.query import RunFilter

    chosen = parse_metric(metric) if isinstance(metric, str) else metric
    with Store() as store:
        return scoreboard(store, chosen, run_filter or RunFilter(), hardware)
