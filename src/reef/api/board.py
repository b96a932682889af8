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
UNKNOWN_HARDWARE = "unknown hardware"


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

_INFO = ("id", "target_name", "target_version", "scenario", "backend", "created_at")
_CPU = ("environment", "hardware", "cpu", "model")
_GPUS = ("environment", "hardware", "gpu", "devices")


@dataclass(slots=True)
class _Row:
    id: str
    model: str
    version: str | None
    scenario: str
    backend: str | None
    created_at: Any
    hardware: str
    values: dict[str, float]  # metric name -> value (NaN: missing)


def _objectives(chosen: Objective | None) -> list[Objective]:
    if chosen is not None:
        return [chosen]
    unique: dict[str, Objective] = {}
    for objective in SCENARIO_METRICS.values():
        unique.setdefault(objective.name, objective)
    return list(unique.values())


def _read(chosen: Objective | None, selection: RunFilter) -> list[_Row]:
    from sqlalchemy import func

    from reef.results import Store
    from reef.results.models import RunRow

    table = RunRow.__table__
    wanted = _objectives(chosen)
    with Store() as store:
        sqlite = store.dialect == "sqlite"
        columns: list[Any] = [table.c[n] for n in _INFO]
        if sqlite:
            columns.append(func.json_extract(table.c.record_json, "$." + ".".join(_CPU)))
            columns.append(func.json_extract(table.c.record_json, "$." + ".".join(_GPUS)))
        for o in wanted:
            column = METRICS[o.metric].column
            if column is not None:
                columns.append(table.c[column])
            elif sqlite:
                path = "$." + ".".join(METRICS[o.metric].path)
                columns.append(func.json_extract(table.c.record_json, path))
            if o.accuracy_metric is not None:
                columns.append(func.lower(table.c.accuracy_metric))
        if not sqlite:
            columns.append(table.c.record_json)
        found = store.select_rows(columns, selection)
        if not found:
            problem = store.explain_empty(selection)
            if problem is not None:
                raise problem
            raise BoardError("no valid runs recorded yet", hint="try `reef demo`")
    return [_row(cells, wanted, sqlite) for cells in found]


def _row(cells: tuple[Any, ...], wanted: list[Objective], sqlite: bool) -> _Row:
    run_id, name, version, scenario, backend, created = cells[: len(_INFO)]
    at = len(_INFO)
    record: dict[str, Any] | None = None
    if sqlite:
        cpu, gpus = cells[at], cells[at + 1]
        gpus = json.loads(gpus) if isinstance(gpus, str) else gpus
        at += 2
    else:
        record = json.loads(cells[-1])
        cpu, gpus = _dig(record, _CPU), _dig(record, _GPUS)
    values: dict[str, float] = {}
    for o in wanted:
        metric = METRICS[o.metric]
        if metric.column is not None or sqlite:
            value = _number(cells[at])
            at += 1
        else:
            value = _number(_dig(record, metric.path))
        if o.accuracy_metric is not None:
            if cells[at] != o.accuracy_metric.lower():
                value = math.nan
            at += 1
        values[o.name] = value
    return _Row(
        str(run_id), name, version, scenario, backend, created, hardware_label(cpu, gpus), values
    )


def _dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _number(cell: Any) -> float:
    if cell is None or isinstance(cell, bool) or not isinstance(cell, int | float):
        return math.nan
    return float(cell)


def hardware_label(cpu: Any, gpus: Any = None) -> str:
    """``AMD EPYC 7763 64-Core Processor``, or ``... + 2x NVIDIA H100`` with GPUs: the
    hardware a run's environment (``environment.hardware``) recorded."""
    label = cpu.strip() if isinstance(cpu, str) and cpu.strip() else UNKNOWN_HARDWARE
    if isinstance(gpus, list):
        names: dict[str, int] = {}
        for device in gpus:
            name = device.get("name") if isinstance(device, dict) else None
            if isinstance(name, str) and name:
                names[name] = names.get(name, 0) + 1
        parts = [name if n == 1 else f"{n}x {name}" for name, n in names.items()]
        if parts:
            label = f"{label} + {', '.join(parts)}"
    return label


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
        objective = chosen or SCENARIO_METRICS.get(row.scenario)
        value = row.values.get(objective.name, math.nan) if objective else math.nan
        if not math.isfinite(value):
            missing += 1
            continue
        groups.setdefault((row.model, row.scenario, row.hardware), []).append((value, row))
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
    sign = 1.0 if objective.direction == "min" else -1.0
    # Ties go to the newest run, then the smallest id, so the board is stable.
    value, row = min(members, key=lambda m: (sign * m[0], -_timestamp(m[1].created_at), m[1].id))
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
        median=statistics.median(v for v, _ in members),
    )


def _timestamp(moment: Any) -> float:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return 0.0


def _iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    return str(moment)
