"""The Pareto frontier of recorded runs: what ``reef pareto --objective latency_p90:min ...``
computes.

Two or three objectives, each a metric (``METRICS``) and a direction (``min`` or ``max``), over
the runs a filter selects. A run dominates another when it is no worse in every objective and
strictly better in at least one; the frontier is the runs nothing dominates. Runs lacking an
objective's metric are left out, counted, and warned about. Every dominated run is dominated by
some frontier run, so its ``dominated_by`` lists (a few of) those.

Values are read with ``Store.field_rows`` (the store's columns, or the stored record), without
building ``RunRecord`` objects, and the frontier is found by ``reef.results.skyline``, so that
100,000 runs take well under a second. The cyclic garbage collector is paused meanwhile: the
hundreds of thousands of objects made (rows, values, the dominated runs) hold no cycles, and
its passes over them took a third of the time.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    computed_field,
    model_serializer,
)

from reef.errors import ResultsError
from reef.results.skyline import MAX_DOMINATORS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from reef.results.query import RunFilter
    from reef.results.store import Store

__all__ = [
    "MAX_DOMINATORS",
    "METRICS",
    "DominatedRun",
    "Frontier",
    "Metric",
    "Objective",
    "ParetoError",
    "ParetoRun",
    "frontier",
    "objectives_of",
]

Direction = Literal["min", "max"]


@dataclass(frozen=True)
class Metric:
    """A metric runs can be ranked by: its unit and its path in the stored record."""

    unit: str
    path: tuple[str, ...]


# The metrics an objective may name, in the order they are listed to the user.
METRICS: dict[str, Metric] = {
    **{
        f"latency_{stat}": Metric("ms", ("performance", "latency_ms", stat))
        for stat in ("min", "mean", "p50", "p90", "p95", "p99", "max")
    },
    "throughput": Metric("qps", ("performance", "throughput_qps")),
    "accuracy": Metric("", ("accuracy", "value")),
    "samples": Metric("", ("performance", "samples")),
    "queries": Metric("", ("performance", "queries")),
    "duration": Metric("s", ("performance", "duration_s")),
    # Read from the record (no column keeps it): runs measured without energy counters lack it.
    "energy_per_sample": Metric("J", ("energy", "joules_per_sample")),
    "power": Metric("W", ("energy", "watts")),
}
DIRECTIONS = ("min", "max")
ACCURACY_METRIC = ("accuracy", "metric")  # the path of an accuracy's metric name


class ParetoError(ResultsError):
    """The frontier cannot be computed as asked (exit 2): nothing was computed or written."""


class Objective(BaseModel):
    """``metric`` (a key of ``METRICS``) to ``direction``; ``accuracy_metric`` (from
    ``accuracy.top1``) keeps only runs whose accuracy is that metric.

    Its JSON is what a user writes and reads: ``metric`` is the ``name``
    (``accuracy.top1``), then ``direction`` and ``unit``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    metric: str = Field(exclude=True)  # in JSON, within ``name``
    direction: Direction
    accuracy_metric: str | None = Field(default=None, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        if self.accuracy_metric is not None:
            return f"{self.metric}.{self.accuracy_metric}"
        return self.metric

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit

    @model_serializer(mode="wrap")
    def _name_as_metric(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)  # direction, name, unit
        first = {"metric": data.pop("name")} if "name" in data else {}
        return first | data

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
        return cls.model_construct(
            metric=base,
            direction="min" if direction == "min" else "max",
            accuracy_metric=qualifier or None,
        )

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"


class ParetoRun(BaseModel):
    """A run on the frontier; ``values`` in objective order."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    model: str  # name@version
    scenario: str
    backend: str | None
    status: str
    created_at: str  # ISO 8601
    values: list[float]


# A plain dataclass, not a model: there may be 100,000, and building one costs a fraction of
# a model's ``model_construct``; pydantic serialises it as the field of ``Frontier`` it is.
@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build
class DominatedRun:
    """A run off the frontier, kept lean (there may be 100,000): its id, ``values`` in
    objective order, up to ``MAX_DOMINATORS`` frontier runs (in frontier order) dominating it
    in ``dominated_by``, and how many frontier runs do in ``dominated_by_count``."""

    id: str
    values: list[float]
    dominated_by: list[str]
    dominated_by_count: int


class Frontier(BaseModel):
    """The frontier sorted by the first objective (best first, then the next objectives);
    the dominated runs in the same order; how many selected runs lacked a metric.

    ``considered`` (the selected runs with every metric: ``len(frontier) + len(dominated)``)
    is a field, not a computed one, so that it comes after ``selected`` in JSON with no
    serializer wrapped around the model: a wrapping one takes twice as long over 100,000
    dominated runs."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    objectives: list[Objective]
    selected: int
    considered: int
    missing: dict[str, int]  # objective name -> runs lacking it
    frontier: list[ParetoRun]
    dominated: list[DominatedRun]
    warnings: list[str]


def objectives_of(given: Sequence[str | Objective]) -> list[Objective]:
    """The objectives of a frontier, parsed: 2 or 3 of them, each metric once."""
    wanted = [o if isinstance(o, Objective) else Objective.parse(o) for o in given]
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
    return wanted


def frontier(store: Store, objectives: list[Objective], selection: RunFilter) -> Frontier:
    """The Pareto frontier over ``objectives`` (see ``objectives_of``) of the runs in
    ``store`` that ``selection`` selects.

    Raises ``ParetoError`` for a metric none of the selected runs has and ``NoRunsMatch``
    when the filter selects no run.
    """
    with _collector_paused():
        ids, values = _read(store, objectives, selection)
        return _frontier(store, objectives, ids, values)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off (reference counting still frees everything), as it
    was before afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- reading ---------------------------------------------------------------------------------

_INFO = ("id", "target_name", "target_version", "scenario", "backend", "status", "created_at")


def _read(
    store: Store, objectives: list[Objective], selection: RunFilter
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The selected runs' ids, and their objective values (NaN: missing)."""
    import numpy as np

    fields: list[str | tuple[str, ...]] = ["id"]
    for o in objectives:
        fields.append(METRICS[o.metric].path)
        if o.accuracy_metric is not None:
            fields.append(ACCURACY_METRIC)
    rows = store.field_rows(fields, selection)
    if not rows:
        problem = store.explain_empty(selection)
        if problem is not None:
            raise problem
        raise ParetoError("no runs recorded yet", hint="try `reef demo`")
    cells = list(zip(*rows, strict=True))
    ids = list(map(str, cells[0]))
    values = np.full((len(rows), len(objectives)), np.nan)
    at = 1
    for j, o in enumerate(objectives):
        try:
            values[:, j] = np.array(cells[at], dtype=float)  # None: NaN
        except (TypeError, ValueError):
            try:
                values[:, j] = [math.nan if c is None else c for c in cells[at]]
            except (TypeError, ValueError):  # something other than a number stored
                values[:, j] = [_plain(c) for c in cells[at]]
        at += 1
        if o.accuracy_metric is not None:
            wanted = o.accuracy_metric.lower()
            other = [not isinstance(c, str) or c.lower() != wanted for c in cells[at]]
            values[np.array(other, dtype=bool), j] = np.nan
            at += 1
    _check_present(store, objectives, values, selection)
    return ids, values


def _plain(cell: Any) -> float:
    if cell is None or isinstance(cell, bool) or not isinstance(cell, int | float):
        return float("nan")
    return float(cell)


def _check_present(
    store: Store,
    objectives: list[Objective],
    values: npt.NDArray[np.float64],
    selection: RunFilter,
) -> None:
    """Refuse an objective whose metric no selected run has, listing the metrics they have."""
    import numpy as np

    absent = [o for j, o in enumerate(objectives) if not np.isfinite(values[:, j]).any()]
    if not absent:
        return
    have = _metrics_present(store, selection)
    names = ", ".join(o.name for o in absent)
    verb = "has" if len(absent) == 1 else "have"
    raise ParetoError(
        f"--objective: none of the {len(values)} selected runs {verb} {names}",
        hint=("they have: " + ", ".join(have)) if have else "the selected runs have no metrics",
    )


def _metrics_present(store: Store, selection: RunFilter) -> list[str]:
    """The metrics (``accuracy.NAME`` included) that some selected run has."""
    seen: dict[str, None] = {}
    accuracy: dict[str, None] = {}
    paths = [m.path for m in METRICS.values()]
    for *cells, accuracy_metric in store.field_rows([*paths, ACCURACY_METRIC], selection):
        for name, value in zip(METRICS, cells, strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                seen[name] = None
                if name == "accuracy":
                    accuracy[f"accuracy.{accuracy_metric}"] = None
    return [n for n in METRICS if n in seen] + sorted(accuracy)


# -- the frontier ----------------------------------------------------------------------------


def _frontier(
    store: Store, objectives: list[Objective], ids: list[str], values: npt.NDArray[np.float64]
) -> Frontier:
    import numpy as np

    from reef.results.skyline import dominators, skyline

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
    on_front = skyline(cost)
    front_ids = [ids[i] for i in index[on_front]]
    info = {str(row[0]): row for row in store.field_rows(_INFO, ids=front_ids)}
    front = [_run(info[ids[i]], values[i]) for i in index[on_front]]
    picks, counts = dominators(cost[~on_front], cost[on_front], front_ids)
    off = index[~on_front]
    off_ids = np.array(ids, dtype=object)[off].tolist()
    dominated = list(map(DominatedRun, off_ids, values[off].tolist(), picks, counts))
    return Frontier.model_construct(
        objectives=objectives,
        selected=len(ids),
        considered=len(front) + len(dominated),
        missing=missing,
        frontier=front,
        dominated=dominated,
        warnings=warnings,
    )


def _run(row: tuple[Any, ...], values: npt.NDArray[np.float64]) -> ParetoRun:
    run_id, name, version, scenario, backend, status, created = row[: len(_INFO)]
    if isinstance(created, datetime):
        created_at = (created if created.tzinfo else created.replace(tzinfo=UTC)).isoformat()
    else:
        created_at = str(created)
    return ParetoRun.model_construct(
        id=run_id,
        model=f"{name}@{version}" if version else name,
        scenario=scenario,
        backend=backend,
        status=status,
        created_at=created_at,
        values=[float(v) for v in values],
    )
