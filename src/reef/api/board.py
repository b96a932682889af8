"""``reef board``: the best valid run per (model, scenario, hardware) (``reef.results.board``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reef.results.board import SCENARIO_METRICS, Board, BoardError, BoardRow, hardware_label
from reef.results.pareto import Objective

if TYPE_CHECKING:
    from reef.results.query import RunFilter

__all__ = ["SCENARIO_METRICS", "Board", "BoardError", "BoardRow", "board", "hardware_label"]


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
