"""The Pareto frontier of recorded runs: ``reef pareto --objective latency_p90:min ...``.

Two or three objectives, each a metric (``METRICS``) and a direction (``min`` or ``max``), over
the runs a filter selects. A run dominates another when it is no worse in every objective and
strictly better in at least one; the frontier is the runs nothing dominates. Runs lacking an
objective's metric are left out, counted, and warned about. Every dominated run is dominated by
some frontier run, so its ``dominated_by`` lists (a few of) those.

Two objectives take a sort and one sweep; three take a sort and a blockwise skyline in numpy
(a run can only be dominated by runs before it in lexicographic order). Values are read from
the store's columns where it keeps them, else from the stored record, without building
``RunRecord`` objects, so that 100,000 runs take well under a second.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from reef.errors import ReefError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from reef.results.query import RunFilter

__all__ = [
    "METRICS",
    "DominatedRun",
    "Frontier",
    "Objective",
    "ParetoError",
    "ParetoRun",
    "front_mask",
    "pareto",
]

Direction = Literal["min", "max"]


@dataclass(frozen=True)
class Metric:
    """A metric runs can be ranked by: its unit, the store column holding it (if any), and
    its path in the stored record."""

    unit: str
    column: str | None
    path: tuple[str, ...]


# The metrics an objective may name, in the order they are listed to the user.
METRICS: dict[str, Metric] = {
    **{
        f"latency_{stat}": Metric(
            "ms",
            f"{stat}_ms" if stat in ("p50", "p90", "p99") else None,
            ("performance", "latency_ms", stat),
        )
        for stat in ("min", "mean", "p50", "p90", "p95", "p99", "max")
    },
    "throughput": Metric("qps", "throughput_qps", ("performance", "throughput_qps")),
    "accuracy": Metric("", "accuracy_value", ("accuracy", "value")),
    "samples": Metric("", None, ("performance", "samples")),
    "queries": Metric("", None, ("performance", "queries")),
    "duration": Metric("s", None, ("performance", "duration_s")),
}
DIRECTIONS = ("min", "max")
MAX_DOMINATORS = 3  # frontier runs named per dominated run
_BLOCK = 1024  # runs compared at once by the three-objective skyline


class ParetoError(ReefError):
    """The frontier cannot be computed as asked (exit 2): nothing was computed or written."""


@dataclass(frozen=True)
class Objective:
    """``metric`` (a key of ``METRICS``) to ``direction``; ``accuracy_metric`` (from
    ``accuracy.top1``) keeps only runs whose accuracy is that metric."""

    metric: str
    direction: Direction
    accuracy_metric: str | None = None

    @property
    def name(self) -> str:
        if self.accuracy_metric is not None:
            return f"{self.metric}.{self.accuracy_metric}"
        return self.metric

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    @classmethod
    def parse(cls, text: str) -> Objective:
        """``latency_p90:min``, ``throughput:max``, ``accuracy.top1:max``."""
        metric, sep, direction = text.strip().rpartition(":")
        direction = direction.strip().lower()
        metric = metric.strip()
        if not sep or not metric:
            raise ParetoError(
                f"--objective: {text!r} is not METRIC:DIRECTION",
                hint="write for example --objective latency_p90:min --objective accuracy:max",
            )
        if direction not in DIRECTIONS:
            raise ParetoError(
                f"--objective {text}: unknown direction {direction!r}",
                hint="the direction is min or max",
            )
        base, dot, qualifier = metric.partition(".")
        base = base.lower()
        if base not in METRICS or (dot and (base != "accuracy" or not qualifier)):
            raise ParetoError(
                f"--objective {text}: unknown metric {metric!r}",
                hint="known metrics: " + ", ".join(METRICS) + " (accuracy.NAME for one metric)",
            )
        return cls(base, "min" if direction == "min" else "max", qualifier or None)

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.name, "direction": self.direction, "unit": self.unit}


@dataclass(frozen=True)
class ParetoRun:
    """A run on the frontier; ``values`` in objective order."""

    id: str
    model: str  # name@version
    scenario: str
    backend: str | None
    status: str
    created_at: str  # ISO 8601
    values: list[float]

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build
class DominatedRun:
    """A run off the frontier, kept lean (there may be 100,000): its id, ``values`` in
    objective order, up to ``MAX_DOMINATORS`` frontier runs (in frontier order) dominating it
    in ``dominated_by``, and how many frontier runs do in ``dominated_by_count``."""

    id: str
    values: list[float]
    dominated_by: list[str]
    dominated_by_count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "values": self.values,
            "dominated_by": self.dominated_by,
            "dominated_by_count": self.dominated_by_count,
        }


@dataclass(frozen=True)
class Frontier:
    """The frontier sorted by the first objective (best first, then the next objectives);
    the dominated runs in the same order; how many selected runs lacked a metric."""

    objectives: list[Objective]
    frontier: list[ParetoRun]
    dominated: list[DominatedRun]
    selected: int
    missing: dict[str, int]  # objective name -> runs lacking it
    warnings: list[str]

    @property
    def considered(self) -> int:
        return len(self.frontier) + len(self.dominated)

    def to_json(self) -> dict[str, Any]:
        return {
            "objectives": [o.to_json() for o in self.objectives],
            "selected": self.selected,
            "considered": self.considered,
            "missing": self.missing,
            "frontier": [r.to_json() for r in self.frontier],
            "dominated": [r.to_json() for r in self.dominated],
            "warnings": self.warnings,
        }


def pareto(
    objectives: Sequence[str | Objective],
    *,
    run_filter: RunFilter | None = None,
    model: str | None = None,
    version: str | None = None,
    scenario: str | None = None,
    backend: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    text: str | None = None,
) -> Frontier:
    """The Pareto frontier of the runs passing the filters (as ``runs_list`` takes them) over
    two or three ``objectives`` (``latency_p90:min``, ``accuracy:max``, ...).

    Raises ``ParetoError`` for bad objectives or a metric none of the selected runs has,
    ``QueryError`` for bad filters and ``NoRunsMatch`` when the filters select no run, all
    before anything is computed.
    """
    from reef.results.query import RunFilter

    wanted = [o if isinstance(o, Objective) else Objective.parse(o) for o in objectives]
    if not 2 <= len(wanted) <= 3:
        raise ParetoError(
            f"--objective: give 2 or 3 objectives, not {len(wanted)}",
            hint="for example --objective latency_p90:min --objective accuracy:max",
        )
    names = [o.name for o in wanted]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParetoError(
            f"--objective: {', '.join(repeated)} given more than once",
            hint="give each metric once, with one direction",
        )
    selection = (run_filter or RunFilter()).merged(
        model=model,
        version=version,
        scenario=scenario,
        backend=backend,
        status=status,
        tag=tag,
        since=since,
        until=until,
        text=text,
    )
    rows, values = _read(wanted, selection)
    return _frontier(wanted, rows, values)


# -- reading ---------------------------------------------------------------------------------

_INFO = ("id", "target_name", "target_version", "scenario", "backend", "status", "created_at")


def _read(
    objectives: list[Objective], selection: RunFilter
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The selected runs' ids, and their objective values (NaN: missing)."""
    import numpy as np
    from sqlalchemy import func

    from reef.results import Store
    from reef.results.models import RunRow

    table = RunRow.__table__
    with Store() as store:
        sqlite = store.dialect == "sqlite"
        columns: list[Any] = [table.c.id]
        for o in objectives:
            metric = METRICS[o.metric]
            if metric.column is not None:
                columns.append(table.c[metric.column])
            elif sqlite:
                path = "$." + ".".join(metric.path)
                columns.append(func.json_extract(table.c.record_json, path))
            else:
                columns.append(table.c.record_json)
            if o.accuracy_metric is not None:
                columns.append(func.lower(table.c.accuracy_metric))
        rows = store.select_rows(columns, selection)
        if not rows:
            problem = store.explain_empty(selection)
            if problem is not None:
                raise problem
            raise ParetoError("no runs recorded yet", hint="try `reef demo`")
    cells = list(zip(*rows, strict=True))
    ids = [str(i) for i in cells[0]]
    values = np.full((len(rows), len(objectives)), np.nan)
    at = 1
    for j, o in enumerate(objectives):
        if METRICS[o.metric].column is None and not sqlite:
            values[:, j] = [_number(c, o) for c in cells[at]]
        else:
            try:
                values[:, j] = [math.nan if c is None else c for c in cells[at]]
            except (TypeError, ValueError):  # something other than a number stored
                values[:, j] = [_plain(c) for c in cells[at]]
        at += 1
        if o.accuracy_metric is not None:
            wanted = o.accuracy_metric.lower()
            values[np.array([c != wanted for c in cells[at]], dtype=bool), j] = np.nan
            at += 1
    _check_present(objectives, values, selection)
    return ids, values


def _info(ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """Identifying columns of the runs with these ids."""

    from reef.results import Store
    from reef.results.models import RunRow

    table = RunRow.__table__
    with Store() as store:
        rows = store.select_rows([table.c[n] for n in _INFO], ids=ids)
    return {str(row[0]): row for row in rows}


def _plain(cell: Any) -> float:
    if cell is None or isinstance(cell, bool) or not isinstance(cell, int | float):
        return float("nan")
    return float(cell)


def _number(text: Any, objective: Objective) -> float:
    """The objective's value in a stored record (JSON text)."""
    data: Any = json.loads(text) if text is not None else None
    for key in METRICS[objective.metric].path:
        data = data.get(key) if isinstance(data, dict) else None
    return _plain(data)


def _check_present(
    objectives: list[Objective], values: npt.NDArray[np.float64], selection: RunFilter
) -> None:
    """Refuse an objective whose metric no selected run has, listing the metrics they have."""
    import numpy as np

    absent = [o for j, o in enumerate(objectives) if not np.isfinite(values[:, j]).any()]
    if not absent:
        return
    have = _metrics_present(selection)
    names = ", ".join(o.name for o in absent)
    verb = "has" if len(absent) == 1 else "have"
    raise ParetoError(
        f"--objective: none of the {len(values)} selected runs {verb} {names}",
        hint=("they have: " + ", ".join(have)) if have else "the selected runs have no metrics",
    )


def _metrics_present(selection: RunFilter) -> list[str]:
    """The metrics (``accuracy.NAME`` included) that some selected run has."""

    from reef.results import Store
    from reef.results.models import RunRow

    seen: dict[str, None] = {}
    accuracy: dict[str, None] = {}
    with Store() as store:
        rows = store.select_rows([RunRow.record_json], selection)
        for (text,) in rows:
            data = json.loads(text)
            for name, metric in METRICS.items():
                value: Any = data
                for key in metric.path:
                    value = value.get(key) if isinstance(value, dict) else None
                if isinstance(value, int | float) and not isinstance(value, bool):
                    seen[name] = None
                    if name == "accuracy":
                        accuracy[f"accuracy.{data['accuracy'].get('metric')}"] = None
    return [n for n in METRICS if n in seen] + sorted(accuracy)


# -- the frontier ----------------------------------------------------------------------------


def _frontier(
    objectives: list[Objective], ids: list[str], values: npt.NDArray[np.float64]
) -> Frontier:
    import numpy as np

    finite = np.isfinite(values)
    complete = finite.all(axis=1)
    missing = {
        o.name: int((~finite[:, j]).sum())
        for j, o in enumerate(objectives)
        if not finite[:, j].all()
    }
    warnings = []
    left_out = int((~complete).sum())
    if left_out:
        of = ", ".join(f"{n} ({count})" for n, count in missing.items())
        run = "run" if left_out == 1 else "runs"
        warnings.append(f"{left_out} selected {run} left out for lacking a metric: {of}")
    index = np.flatnonzero(complete)
    # Every objective as one to minimise.
    signs = np.array([1.0 if o.direction == "min" else -1.0 for o in objectives])
    cost = values[index] * signs
    order = np.lexsort(cost.T[::-1])  # by the first objective, then the next
    cost, index = cost[order], index[order]
    on_front = _skyline_2d(cost) if len(objectives) == 2 else _skyline(cost)
    front_ids = [ids[i] for i in index[on_front]]
    info = _info(front_ids)
    frontier = [_run(info[ids[i]], values[i]) for i in index[on_front]]
    picks, counts = _dominators(cost[~on_front], cost[on_front], front_ids)
    off = index[~on_front]
    off_values = values[off].tolist()
    dominated = [
        DominatedRun(ids[i], vals, taken, count)
        for i, vals, taken, count in zip(off.tolist(), off_values, picks, counts, strict=True)
    ]
    return Frontier(objectives, frontier, dominated, len(ids), missing, warnings)


def front_mask(
    values: Sequence[Sequence[float]], directions: Sequence[Direction | str]
) -> list[bool]:
    """Which of ``values`` (one row per run, finite, one column per objective, 2 or 3 of
    them) nothing dominates, given each column's direction: the frontier of runs already in
    memory."""
    import numpy as np

    if not values:
        return []
    signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
    cost = np.asarray(values, dtype=float) * signs
    order = np.lexsort(cost.T[::-1])
    sorted_cost = cost[order]
    on_front = _skyline_2d(sorted_cost) if cost.shape[1] == 2 else _skyline(sorted_cost)
    mask = np.zeros(len(values), dtype=bool)
    mask[order[on_front]] = True
    return [bool(v) for v in mask]


def _skyline_2d(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Non-dominated rows of ``cost`` (sorted lexicographically, minimised): a row is dominated
    exactly when some row strictly before it in that order has a second value no greater,
    so one running minimum over the groups of identical rows decides every row."""
    import numpy as np

    n = len(cost)
    if n == 0:
        return np.zeros(0, dtype=bool)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (cost[1:] != cost[:-1]).any(axis=1)
    starts = np.flatnonzero(new_group)
    group_start = starts[np.cumsum(new_group) - 1]
    best = np.minimum.accumulate(cost[:, 1])
    # The smallest second value among rows in earlier groups; none before the first group.
    before = np.where(group_start > 0, best[np.maximum(group_start - 1, 0)], np.inf)
    result: npt.NDArray[np.bool_] = before > cost[:, 1]
    return result


def _skyline(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Non-dominated rows of ``cost`` (sorted lexicographically, minimised), block by block:
    rows only ever dominate rows after them, so the frontier found so far only grows."""
    import numpy as np

    n = len(cost)
    on_front = np.zeros(n, dtype=bool)
    front = cost[:0]
    for start in range(0, n, _BLOCK):
        block = cost[start : start + _BLOCK]
        alive = ~_dominated_by_any(block, front)
        candidates = block[alive]
        # Within the block, against each other (identical rows never dominate each other).
        inside = _dominates(candidates[:, None, :], candidates[None, :, :]).any(axis=0)
        keep = np.flatnonzero(alive)[~inside]
        on_front[start + keep] = True
        front = np.concatenate([front, block[keep]])
    return on_front


def _dominates(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Whether ``a`` dominates ``b`` (last axis: objectives), over the broadcast other axes."""
    import numpy as np

    no_worse = a[..., 0] <= b[..., 0]
    better = a[..., 0] < b[..., 0]
    for j in range(1, a.shape[-1]):
        no_worse &= a[..., j] <= b[..., j]
        better |= a[..., j] < b[..., j]
    return np.asarray(no_worse & better, dtype=bool)


def _dominated_by_any(
    rows: npt.NDArray[np.float64], front: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    import numpy as np

    if len(front) == 0 or len(rows) == 0:
        return np.zeros(len(rows), dtype=bool)
    return np.asarray(_dominates(front[None, :, :], rows[:, None, :]).any(axis=1), dtype=bool)


def _dominators(
    rows: npt.NDArray[np.float64], front: npt.NDArray[np.float64], front_ids: list[str]
) -> tuple[list[list[str]], list[int]]:
    """For each row, the ids of the first ``MAX_DOMINATORS`` frontier runs dominating it, and
    how many do; compared in chunks to bound memory."""
    import numpy as np

    names = np.array(front_ids, dtype=object)
    picks: list[list[str]] = []
    counts: list[int] = []
    chunk = max(1, 4_000_000 // max(1, len(front)))
    for start in range(0, len(rows), chunk):
        mask = _dominates(front[None, :, :], rows[start : start + chunk, None, :])
        total = mask.sum(axis=1)
        counts.extend(total.tolist())
        # Each row's first few dominating frontier indices, in frontier order.
        taken = np.zeros((len(mask), MAX_DOMINATORS), dtype=int)
        left = mask.copy()
        every = np.arange(len(left))
        for slot in range(MAX_DOMINATORS):
            first = left.argmax(axis=1)
            taken[:, slot] = first
            left[every, first] = False
        # Every row has at least one (a dominated run is dominated by a frontier run).
        shown = np.minimum(total, MAX_DOMINATORS)
        part: list[list[str]] = [[] for _ in range(len(mask))]
        for width in range(1, MAX_DOMINATORS + 1):
            chosen = np.flatnonzero(shown == width)
            for at, ids in zip(chosen.tolist(), names[taken[chosen, :width]].tolist(), strict=True):
                part[at] = ids
        picks.extend(part)
    return picks, counts


def _run(row: tuple[Any, ...], values: npt.NDArray[np.float64]) -> ParetoRun:
    run_id, name, version, scenario, backend, status, created = row[: len(_INFO)]
    if isinstance(created, datetime):
        created_at = (created if created.tzinfo else created.replace(tzinfo=UTC)).isoformat()
    else:
        created_at = str(created)
    return ParetoRun(
        id=run_id,
        model=f"{name}@{version}" if version else name,
        scenario=scenario,
        backend=backend,
        status=status,
        created_at=created_at,
        values=[float(v) for v in values],
    )
