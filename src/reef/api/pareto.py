"""``reef pareto``: the Pareto frontier of recorded runs (``reef.results.pareto``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reef.results.pareto import (
    METRICS,
    DominatedRun,
    Frontier,
    Objective,
    ParetoError,
    ParetoRun,
)

if TYPE_CHECKING:
    from reef.results.query import RunFilter

__all__ = [
    "METRICS",
    "DominatedRun",
    "Frontier",
    "Objective",
    "ParetoError",
    "ParetoRun",
    "pareto",
]


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
