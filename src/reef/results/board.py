"""Scoreboards: what ``reef board`` shows, the best valid run per (model, scenario, hardware).

The metric is chosen once for the whole board (``latency_p50``, ``throughput:max``, ...) or,
by default, per scenario as MLPerf ranks it (``SCENARIO_METRICS``): the 90th-percentile
latency in SingleStream, the 99th in MultiStream, and throughput in Server and Offline. Only
valid runs compete; a group's cell names the winning run, its version and backend, how many
runs competed and their median, so that one lucky run stands out as such.

Hardware is a label made from the run's recorded environment: the CPU model, and the GPUs
when the run saw any. The database ranks the runs where it can (``Store.best_in_groups``:
SQLite), so that a board over 100,000 runs reads one row per group; elsewhere the values are
read with ``Store.field_rows`` and ranked here, with the same result. Neither builds a
``RunRecord``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from reef.results.pareto import ACCURACY_METRIC, METRICS, Objective, ParetoError
from reef.results.query import UNKNOWN_HARDWARE, hardware_label

if TYPE_CHECKING:
    from reef.results.query import RunFilter
    from reef.results.store import GroupBest, Store

__all__ = [
    "SCENARIO_METRICS",
    "Board",
    "BoardError",
    "BoardRow",
    "hardware_label",
    "parse_metric",
    "scoreboard",
]

# MLPerf's metric for each scenario.
SCENARIO_METRICS: dict[str, Objective] = {
    "SingleStream": Objective.model_construct(metric="latency_p90", direction="min"),
    "MultiStream": Objective.model_construct(metric="latency_p99", direction="min"),
    "Server": Objective.model_construct(metric="throughput", direction="max"),
    "Offline": Objective.model_construct(metric="throughput", direction="max"),
}
# The direction a metric is ranked in when none is given.
_NATURAL: dict[str, str] = {"throughput": "max", "accuracy": "max", "samples": "max"}


class BoardError(ParetoError):
    """The board cannot be built as asked (exit 2): nothing was computed or written."""


class BoardRow(BaseModel):
    """The best run of one (model, scenario, hardware) group under ``metric``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

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


class Board(BaseModel):
    """Rows sorted by model, scenario and hardware; ``metric`` is ``auto`` or one metric."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    metric: str
    considered: int  # valid runs selected
    missing: int  # of those, lacking the metric
    rows: list[BoardRow]
    warnings: list[str]


def parse_metric(text: str) -> Objective | None:
    """``auto`` (None), ``latency_p50``, ``throughput:max``, ``accuracy.top1``: a metric of
    ``reef.results.pareto.METRICS`` with an optional direction (latencies are minimised and
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
        ) from e


def scoreboard(
    store: Store, chosen: Objective | None, selection: RunFilter, hardware: str | None = None
) -> Board:
    """The best valid run per (model, scenario, hardware) among the runs in ``store`` that
    ``selection`` selects (its status is always ``valid``), ranked by ``chosen`` (None:
    ``SCENARIO_METRICS``).

    ``hardware`` keeps the groups whose hardware label contains it (any case). Raises
    ``BoardError`` for a metric no selected run has and ``NoRunsMatch`` when the filter
    selects no valid run.
    """
    valid = selection.merged(status="valid")
    groups = _ranked_by_database(store, chosen, valid)
    if groups is None:
        return _rank(chosen, _read(store, chosen, valid), hardware)
    if not groups:
        _nothing_selected(store, valid)
    return _board(chosen, groups, hardware)


def _nothing_selected(store: Store, selection: RunFilter) -> None:
    problem = store.explain_empty(selection)
    if problem is not None:
        raise problem
    raise BoardError("no valid runs recorded yet", hint="try `reef demo`")


# -- ranked by the database --------------------------------------------------------------------


def _ranked_by_database(
    store: Store, chosen: Objective | None, selection: RunFilter
) -> list[GroupBest] | None:
    """Each group's best run as the database finds it; None where it cannot."""
    if chosen is None:
        ranks: dict[str | None, tuple[tuple[str, ...], bool]] = {
            scenario: (METRICS[o.metric].path, o.direction == "max")
            for scenario, o in SCENARIO_METRICS.items()
        }
        return store.best_in_groups(ranks, selection)
    among = None
    if chosen.accuracy_metric is not None:
        # Compared as Python compares them (str.lower), over the few stored metric names.
        wanted = chosen.accuracy_metric.lower()
        stored = store.distinct(ACCURACY_METRIC, selection)
        among = [m for m in stored if isinstance(m, str) and m.lower() == wanted]
    rank: dict[str | None, tuple[tuple[str, ...], bool]] = {
        None: (METRICS[chosen.metric].path, chosen.direction == "max")
    }
    return store.best_in_groups(rank, selection, accuracy_metrics=among)


def _board(chosen: Objective | None, groups: list[GroupBest], hardware: str | None) -> Board:
    """The board of the database's groups, as ``_rank`` makes it of runs read one by one."""
    needle = hardware.strip().lower() if hardware is not None else None
    kept = missing = 0
    ranked = []
    for group in groups:
        if needle is not None and needle not in group.label.lower():
            continue
        kept += group.runs
        missing += group.runs - group.finite
        if group.finite:
            ranked.append(group)
    considered = sum(group.runs for group in groups)
    _refuse_empty(hardware, kept, lambda: {group.label for group in groups}, bool(ranked), chosen)
    ranked.sort(key=lambda g: (g.model, g.scenario, g.label))
    rows = []
    for group in ranked:
        objective = chosen or SCENARIO_METRICS[group.scenario]
        assert group.value is not None and group.run_id is not None
        rows.append(
            BoardRow.model_construct(
                model=group.model,
                scenario=group.scenario,
                hardware=group.label,
                metric=objective.name,
                direction=objective.direction,
                unit=objective.unit,
                value=float(group.value),
                run_id=str(group.run_id),
                version=group.version,
                backend=group.backend,
                created_at=_iso(group.created_at),
                runs=group.finite,
                median=group.median,
            )
        )
    warnings = []
    if missing:
        run = "run" if missing == 1 else "runs"
        warnings.append(f"{missing} valid {run} left out for lacking the metric")
    return Board.model_construct(
        metric=chosen.name if chosen else "auto",
        considered=considered,
        missing=missing,
        rows=rows,
        warnings=warnings,
    )


# -- read and ranked here (a database that cannot rank) --------------------------------------

# What is read of each run, then the values it may be ranked by.
_INFO = ("id", "target_name", "target_version", "scenario", "backend", "created_at", "hardware")
_ID, _NAME, _VERSION, _SCENARIO, _BACKEND, _CREATED, _HARDWARE = range(len(_INFO))
# In ``auto``, the metric of each scenario, in the order they are read.
_AUTO = list(dict.fromkeys(o.metric for o in SCENARIO_METRICS.values()))


def _read(store: Store, chosen: Objective | None, selection: RunFilter) -> list[tuple[Any, ...]]:
    """The selected runs' ``_INFO``, then the values they may be ranked by: each scenario's
    metric for ``auto``, else the chosen one (and the accuracy's metric for ``accuracy.NAME``).
    Runs are kept as plain tuples: a board may rank 100,000 of them."""
    if chosen is None:
        values = [METRICS[m].path for m in _AUTO]
    else:
        values = [METRICS[chosen.metric].path]
        if chosen.accuracy_metric is not None:
            values.append(ACCURACY_METRIC)
    found = store.field_rows([*_INFO, *values], selection)
    if not found:
        _nothing_selected(store, selection)
    return found


def _values(chosen: Objective | None, found: list[tuple[Any, ...]]) -> Iterator[float]:
    """Each run's value it is ranked by, in order (NaN: missing)."""
    first = len(_INFO)
    if chosen is None:
        # Where the scenario's metric was read; a scenario without one has no value.
        slot = {s: first + _AUTO.index(o.metric) for s, o in SCENARIO_METRICS.items()}
        for cells in found:
            at = slot.get(cells[_SCENARIO])
            yield math.nan if at is None else _number(cells[at])
    elif chosen.accuracy_metric is not None:
        wanted = chosen.accuracy_metric.lower()
        for cells in found:
            metric = cells[first + 1]
            same = isinstance(metric, str) and metric.lower() == wanted
            yield _number(cells[first]) if same else math.nan
    else:
        for cells in found:
            yield _number(cells[first])


def _number(cell: Any) -> float:
    if type(cell) is float:  # the common case, first
        return cell
    if cell is None or isinstance(cell, bool) or not isinstance(cell, int | float):
        return math.nan
    return float(cell)


def _label(cells: tuple[Any, ...]) -> str:
    # Runs stored before the column existed are labelled by revision 0003; NULL is a guard.
    return cells[_HARDWARE] or UNKNOWN_HARDWARE


# -- ranking ---------------------------------------------------------------------------------

Member = tuple[float, tuple[Any, ...]]  # a run's value and what was read of it


def _rank(chosen: Objective | None, found: list[tuple[Any, ...]], hardware: str | None) -> Board:
    needle = hardware.strip().lower() if hardware is not None else None
    groups: dict[tuple[str, str, str], list[Member]] = {}
    kept = missing = 0
    for cells, value in zip(found, _values(chosen, found), strict=True):
        label = _label(cells)
        if needle is not None and needle not in label.lower():
            continue
        kept += 1
        if not math.isfinite(value):
            missing += 1
            continue
        groups.setdefault((cells[_NAME], cells[_SCENARIO], label), []).append((value, cells))
    _refuse_empty(hardware, kept, lambda: {_label(cells) for cells in found}, bool(groups), chosen)
    board_rows = [_best(key, members, chosen) for key, members in sorted(groups.items())]
    warnings = []
    if missing:
        run = "run" if missing == 1 else "runs"
        warnings.append(f"{missing} valid {run} left out for lacking the metric")
    return Board.model_construct(
        metric=chosen.name if chosen else "auto",
        considered=len(found),
        missing=missing,
        rows=board_rows,
        warnings=warnings,
    )


def _best(key: tuple[str, str, str], members: list[Member], chosen: Objective | None) -> BoardRow:
    model, scenario, hardware = key
    objective = chosen or SCENARIO_METRICS[scenario]
    values = [v for v, _ in members]
    best = min(values) if objective.direction == "min" else max(values)
    # Ties go to the newest run, then the smallest id, so the board is stable.
    tied = [cells for v, cells in members if v == best]
    cells = min(tied, key=lambda c: (-_timestamp(c[_CREATED]), str(c[_ID])))
    return BoardRow.model_construct(
        model=model,
        scenario=scenario,
        hardware=hardware,
        metric=objective.name,
        direction=objective.direction,
        unit=objective.unit,
        value=best,
        run_id=str(cells[_ID]),
        version=cells[_VERSION],
        backend=cells[_BACKEND],
        created_at=_iso(cells[_CREATED]),
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


def _refuse_empty(
    hardware: str | None,
    kept: int,
    labels: Callable[[], set[str]],
    ranked: bool,
    chosen: Objective | None,
) -> None:
    """The two ways a board can come out empty, in the words both rankings use: ``--hardware``
    matched no valid run (``labels()``: the hardware there is), or none has the metric."""
    if not kept:
        raise BoardError(
            f"--hardware {hardware}: no valid run's hardware matches",
            hint="hardware of the selected runs: " + "; ".join(sorted(labels())),
        )
    if not ranked:
        name = chosen.name if chosen else "their scenario's metric"
        raise BoardError(
            f"--metric: none of the {kept} selected valid runs has {name}",
            hint="try another --metric; `reef board --help` lists them",
        )
