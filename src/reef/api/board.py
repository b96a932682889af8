"""Scoreboards: ``reef board`` shows the best valid run per (model, scenario, hardware).

The metric is chosen once for the whole board (``latency_p50``, ``throughput:max``, ...) or,
by default, per scenario as MLPerf ranks it (``SCENARIO_METRICS``): the 90th-percentile
latency in SingleStream, the 99th in MultiStream, and throughput in Server and Offline. Only
valid runs compete; a group's cell names the winning run, its version and backend, how many
runs competed and their median, so that one lucky run stands out as such.

Hardware is a label made from the run's recorded environment: the CPU model, and the GPUs
when the run saw any. Values are read from the store's columns, or straight out of the stored
record by the database, so that a board over 100,000 runs builds no ``RunRecord``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reef.api.pareto import METRICS, Objective, ParetoError
from reef.results.query import UNKNOWN_HARDWARE, hardware_label

if TYPE_CHECKING:
    from reef.results.query import RunFilter

__all__ = ["SCENARIO_METRICS", "Board", "BoardError", "BoardRow", "board", "hardware_label"]

# MLPerf's metric for each scenario.
SCENARIO_METRICS: dict[str, Objective] = {
    "SingleStream": Objective("latency_p90", "min"),
    "MultiStream": Objective("latency_p99", "min"),
    "Server": Objective("throughput", "max"),
    "Offline": Objective("throughput", "max"),
}
# The direction a metric is ranked in when none is given.
_NATURAL: dict[str, str] = {"throughput": "max", "accuracy": "max", "samples": "max"}


class BoardError(ParetoError):
    """The board cannot be built as asked (exit 2): nothing was computed or written."""


@dataclass(frozen=True)
class BoardRow:
    """The best run of one (model, scenario, hardware) group under ``metric``."""

    model: str
    scenario: str
    hardware: str
    metric: str
    direction: str
    unit: str
    value: float
    run_id: str
    version: str | None
    backend: str | None
    created_at: str  # ISO 8601
    runs: int  # valid runs in the group that have the metric
    median: float  # their median value

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Board:
    """Rows sorted by model, scenario and hardware; ``metric`` is ``auto`` or one metric."""

    metric: str
    rows: list[BoardRow]
    considered: int  # valid runs selected
    missing: int  # of those, lacking the metric
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "considered": self.considered,
            "missing": self.missing,
            "rows": [r.to_json() for r in self.rows],
            "warnings": self.warnings,
        }


def parse_metric(text: str) -> Objective | None:
    """``auto`` (None), ``latency_p50``, ``throughput:max``, ``accuracy.top1``: a metric of
    ``reef.api.pareto.METRICS`` with an optional direction (latencies are minimised and
    throughput, accuracy and samples maximised when none is given)."""
    given = text.strip()
    if given.lower() == "auto":
        return None
    text = given
    if ":" not in text:
        base = text.partition(".")[0].lower()
        text = f"{text}:{_NATURAL.get(base, 'min')}"
    try:
        return Objective.parse(text)
    except ParetoError as e:
        raise BoardError(
            e.message.replace(f"--objective {text}", f"--metric {given}").replace(
                "--objective", "--metric"
            ),
            hint=(e.hint or "").replace("--objective", "--metric")
            + "; or auto, MLPerf's metric for each scenario",
        ) from None


def board(
    metric: str | Objective | None = "auto",
    *,
    run_filter: RunFilter | None = None,
    model: str | None = None,
    version: str | None = None,
    scenario: str | None = None,
    backend: str | None = None,
    tag: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    text: str | None = None,
    hardware: str | None = None,
) -> Board:
    """The best valid run per (model, scenario, hardware) among the runs the filters select
    (as ``runs_list`` takes them; the status is always ``valid``), ranked by ``metric``.

    ``hardware`` keeps the groups whose hardware label contains it (any case). Raises
    ``BoardError`` for an unknown metric or one no selected run has, ``QueryError`` for bad
    filters and ``NoRunsMatch`` when the filters select no valid run.
    """
    from reef.results.query import RunFilter

    chosen = parse_metric(metric) if isinstance(metric, str) else metric
    selection = (run_filter or RunFilter()).merged(
        model=model,
        version=version,
        scenario=scenario,
        backend=backend,
        status="valid",
        tag=tag,
        since=since,
        until=until,
        text=text,
    )
    rows = _read(chosen, selection)
    return _rank(chosen, rows, hardware)


# -- reading ---------------------------------------------------------------------------------

_INFO = ("id", "target_name", "target_version", "scenario", "backend", "created_at", "hardware")


@dataclass(slots=True)
class _Row:
    id: str
    model: str
    version: str | None
    scenario: str
    backend: str | None
    created_at: Any
    hardware: str
    value: float  # the ranking metric for this run's scenario (NaN: missing)


def _read(chosen: Objective | None, selection: RunFilter) -> list[_Row]:
    """The selected runs, each with the one value it is ranked by, computed by the database
    where it can be (``CASE`` over the scenario for ``auto``)."""
    from reef.results import Store
    from reef.results.models import RunRow

    table = RunRow.__table__
    with Store() as store:
        sqlite = store.dialect == "sqlite"
        value, from_json = _value_column(chosen, table, sqlite)
        columns: list[Any] = [table.c[n] for n in _INFO]
        columns.append(table.c.record_json if from_json else value)
        found = store.select_rows(columns, selection)
        if not found:
            problem = store.explain_empty(selection)
            if problem is not None:
                raise problem
            raise BoardError("no valid runs recorded yet", hint="try `reef demo`")
    path = METRICS[chosen.metric].path if chosen is not None else ()
    rows = []
    for run_id, name, version, scenario, backend, created, hardware, cell in found:
        if from_json:
            cell = _dig(json.loads(cell), path)
        # Runs stored before the column existed are labelled by revision 0003; NULL is a guard.
        label = hardware or UNKNOWN_HARDWARE
        rows.append(
            _Row(str(run_id), name, version, scenario, backend, created, label, _number(cell))
        )
    return rows


def _value_column(chosen: Objective | None, table: Any, sqlite: bool) -> tuple[Any, bool]:
    """The SQL expression of the ranking value, and whether it must instead be read from the
    record (a metric without a column, on a database without ``json_extract``)."""
    from sqlalchemy import case, func

    if chosen is None:
        whens = {
            scenario: table.c[METRICS[o.metric].column] for scenario, o in SCENARIO_METRICS.items()
        }
        return case(whens, value=table.c.scenario, else_=None), False
    metric = METRICS[chosen.metric]
    if metric.column is not None:
        column = table.c[metric.column]
        if chosen.accuracy_metric is not None:
            wanted = func.lower(table.c.accuracy_metric) == chosen.accuracy_metric.lower()
            return case((wanted, column), else_=None), False
        return column, False
    if sqlite:
        return func.json_extract(table.c.record_json, "$." + ".".join(metric.path)), False
    return None, True


def _dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _number(cell: Any) -> float:
    if cell is None or isinstance(cell, bool) or not isinstance(cell, int | float):
        return math.nan
    return float(cell)


# -- ranking ---------------------------------------------------------------------------------


def _rank(chosen: Objective | None, rows: list[_Row], hardware: str | None) -> Board:
    considered = len(rows)
    if hardware is not None:
        needle = hardware.strip().lower()
        kept = [r for r in rows if needle in r.hardware.lower()]
        if not kept:
            labels = sorted({r.hardware for r in rows})
            raise BoardError(
                f"--hardware {hardware}: no valid run's hardware matches",
                hint="hardware of the selected runs: " + "; ".join(labels),
            )
        rows = kept
    groups: dict[tuple[str, str, str], list[tuple[float, _Row]]] = {}
    missing = 0
    for row in rows:
        if not math.isfinite(row.value):
            missing += 1
            continue
        groups.setdefault((row.model, row.scenario, row.hardware), []).append((row.value, row))
    if not groups:
        name = chosen.name if chosen else "their scenario's metric"
        raise BoardError(
            f"--metric: none of the {len(rows)} selected valid runs has {name}",
            hint="try another --metric; `reef board --help` lists them",
        )
    board_rows = [_best(key, members, chosen) for key, members in sorted(groups.items())]
    warnings = []
    if missing:
        run = "run" if missing == 1 else "runs"
        warnings.append(f"{missing} valid {run} left out for lacking the metric")
    return Board(chosen.name if chosen else "auto", board_rows, considered, missing, warnings)


def _best(
    key: tuple[str, str, str], members: list[tuple[float, _Row]], chosen: Objective | None
) -> BoardRow:
    model, scenario, hardware = key
    objective = chosen or SCENARIO_METRICS[scenario]
    values = [v for v, _ in members]
    best = min(values) if objective.direction == "min" else max(values)
    # Ties go to the newest run, then the smallest id, so the board is stable.
    tied = [row for v, row in members if v == best]
    row = min(tied, key=lambda r: (-_timestamp(r.created_at), r.id))
    value = best
    return BoardRow(
        model=model,
        scenario=scenario,
        hardware=hardware,
        metric=objective.name,
        direction=objective.direction,
        unit=objective.unit,
        value=value,
        run_id=row.id,
        version=row.version,
        backend=row.backend,
        created_at=_iso(row.created_at),
        runs=len(members),
        median=statistics.median(values),
    )


def _timestamp(moment: Any) -> float:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return 0.0


def _iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    return str(moment)
