"""The reads the server's web dashboard makes of its database and files: runs a page at a
time (keyset pages in SQL, so that a page of 100,000 runs costs what a page of 100 does), the
values its filters offer, a run's latency distribution, and the files kept with a submitted
run. (The scoreboard, Pareto frontier and comparison of the server's runs are
``server_board``, ``server_pareto`` and ``server_compare``.)

Every verb takes ``db``, the server's open database (``server_open``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reef.api.server import CursorError, ServerDatabase, server_files_root
from reef.errors import ServerError

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.query import RunFilter, Sort

MAX_ROWS = 500
MAX_FILES = 200
# Points of a latency CDF as the dashboard draws it, and bars of its histogram.
CDF_POINTS = 200
HISTOGRAM_BINS = 40
HISTOGRAM_TOP = 99.5  # the percentile a histogram ends at
BUNDLE_FILE = "bundle.json"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# The runs table's columns a row of the dashboard's runs table shows, in ``RunRow`` order.
_ROW_COLUMNS = (
    "id",
    "created_at",
    "target_name",
    "target_version",
    "scenario",
    "backend",
    "status",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "throughput_qps",
    "accuracy_metric",
    "accuracy_value",
    "tags",
    "hardware",
)


class RunFileNotFound(ServerError):
    """No file of that name is kept with the run (HTTP 404)."""

    http_status = 404


class RunRow(BaseModel):
    """One run as the dashboard's tables show it: its identity, verdict, headline figures
    (latencies in ms), tags and hardware label. Read from the runs table's columns alone."""

    id: str
    created_at: datetime
    model: str
    version: str | None = None
    scenario: str
    backend: str | None = None
    status: str
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    throughput_qps: float | None = None
    accuracy_metric: str | None = None
    accuracy_value: float | None = None
    tags: list[str] = []
    hardware: str | None = None


class RunRows(BaseModel):
    """A page of runs, how many runs the filter selects in all, and the cursor of the next
    page (None on the last). The cursor is ``runs_page``'s: opaque, bound to the sort and
    filter, holding the position after the page's last run."""

    runs: list[RunRow]
    total: int  # -1 where it was not asked for (count=False)
    next_cursor: str | None


def dashboard_runs(
    run_filter: RunFilter | None = None,
    *,
    sort: Sort | str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    db: ServerDatabase,
    count: bool = True,
) -> RunRows:
    """A page of at most ``limit`` runs passing ``run_filter``, in ``sort`` order (``reef
    runs list --sort``; newest first by default), after ``cursor`` (``Store.page``: the
    database finds the page, never the runs before it). ``count``: also count the runs the
    filter selects (``total``); without it ``total`` is -1."""
    from reef.results.query import NEWEST_FIRST, RunFilter, Sort

    wanted = run_filter or RunFilter()
    order = (Sort.parse(sort) if isinstance(sort, str) else sort) or NEWEST_FIRST
    if not 1 <= limit <= MAX_ROWS:
        raise ServerError(f"limit: must be 1 to {MAX_ROWS}, not {limit}")
    after = _decode(cursor, order, wanted) if cursor else None
    rows, total = db.store.page(
        wanted, order, _ROW_COLUMNS, after=after, limit=limit + 1, count=count
    )
    found = [_row(row) for row in rows]
    more = len(found) > limit
    found = found[:limit]
    next_cursor = None
    if more and found:
        last = found[-1]
        field = {
            "created_at": last.created_at,
            "p50_ms": last.p50_ms,
            "p90_ms": last.p90_ms,
            "p99_ms": last.p99_ms,
            "throughput_qps": last.throughput_qps,
            "accuracy_value": last.accuracy_value,
            "target_name": last.model,
            "scenario": last.scenario,
            "status": last.status,
        }[order.column]
        next_cursor = _encode(order, wanted, field, last.created_at, last.id)
    return RunRows(runs=found, total=total, next_cursor=next_cursor)


def _row(row: Sequence[Any]) -> RunRow:
    tags = row[13]
    return RunRow.model_construct(
        id=row[0],
        created_at=row[1],
        model=row[2],
        version=row[3],
        scenario=row[4],
        backend=row[5],
        status=row[6],
        p50_ms=row[7],
        p90_ms=row[8],
        p99_ms=row[9],
        throughput_qps=row[10],
        accuracy_metric=row[11],
        accuracy_value=row[12],
        tags=[t for t in tags.split("|") if t] if isinstance(tags, str) else [],
        hardware=row[14],
    )


def _encode(order: Sort, run_filter: RunFilter, value: Any, created: datetime, run_id: str) -> str:
    from reef.api.server import _fingerprint

    shown = value.isoformat() if isinstance(value, datetime) else value
    data = {"f": _fingerprint(order, run_filter), "v": shown, "c": created.isoformat(), "i": run_id}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, order: Sort, run_filter: RunFilter) -> tuple[Any, datetime, str]:
    """(sort value, created_at, id) of the run a cursor points after."""
    from reef.api.server import _fingerprint

    bad = CursorError(
        "cursor: not a cursor this server gave",
        hint="follow the page's links as they are, or start again from the first page",
    )
    if len(cursor) > 2048:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        fingerprint, value, created, run_id = data["f"], data["v"], data["c"], data["i"]
        created_at = datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise bad from exc
    if not isinstance(run_id, str) or isinstance(value, bool):
        raise bad
    if not isinstance(value, str | int | float | None):
        raise bad
    if fingerprint != _fingerprint(order, run_filter):
        raise CursorError(
            "cursor: it was given for another sort or filter",
            hint="page with the sort and filters the first page had, or start again",
        )
    if order.column == "created_at":
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise bad from exc
    return value, created_at, run_id


# --- choices for the dashboard's forms --------------------------------------------------------

_SOLUTIONS: dict[str, tuple[tuple[Any, ...], list[str]]] = {}
_SOLUTIONS_LOCK = threading.Lock()


def dashboard_choices(db: ServerDatabase) -> dict[str, list[str]]:
    """The values the dashboard's filters offer, each sorted: the models, backends,
    scenarios and hardware labels of the server's runs, and their tags (solution names and
    targets' tags; target kinds left out)."""
    from reef.results.query import RunFilter

    store = db.store
    choices = {
        name: sorted(str(v) for v in store.distinct(column) if v is not None)
        for name, column in (
            ("models", "target_name"),
            ("backends", "backend"),
            ("scenarios", "scenario"),
            ("hardware", "hardware"),
        )
    }
    kinds = {"manifest", "onnx", "file", "lock", "component", "solution"}
    tags: set[str] = set()
    for text in store.distinct("tags", RunFilter()):
        if isinstance(text, str):
            tags.update(t for t in text.split("|") if t and t not in kinds)
    choices["tags"] = sorted(tags)
    return choices


def dashboard_solutions(db: ServerDatabase) -> list[str]:
    """The names of the solutions the server's runs were made for, sorted. Read out of the
    records (half a second at 100,000 runs), then kept until a run is added."""
    store = db.store
    stamp = store.stamp()
    with _SOLUTIONS_LOCK:
        kept = _SOLUTIONS.get(db.url)
    if kept is None or kept[0] != stamp:
        names = sorted(str(v) for v in store.distinct(("solution", "name")) if v is not None)
        kept = (stamp, names)
        with _SOLUTIONS_LOCK:
            _SOLUTIONS[db.url] = kept
    return list(kept[1])


# --- a run's latencies ------------------------------------------------------------------------


class LatencyDistribution(BaseModel):
    """A run's raw latencies (ms) as the dashboard draws them: ``cdf`` as (latency, share of
    queries at or below it) points, a histogram of ``counts`` between ``edges`` (up to the
    99.5th percentile, so that a long tail does not squash it: ``above`` queries are slower
    than its last edge), and the percentiles of the raw latencies."""

    count: int
    cdf: list[tuple[float, float]]
    edges: list[float]
    counts: list[int]
    percentiles: dict[str, float]
    above: int = 0


def dashboard_latencies(
    run_id: str,
    *,
    db: ServerDatabase,
    points: int = CDF_POINTS,
    bins: int = HISTOGRAM_BINS,
) -> LatencyDistribution | None:
    """The distribution of the raw latencies of the run with exactly this id; None when
    it kept none."""
    import numpy as np

    raw = db.store.latencies(run_id)
    if not raw:
        return None
    ms = np.sort(np.asarray(raw, dtype=np.float64) / 1e6)
    n = len(ms)
    at = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(np.int64))
    cdf = [(float(ms[i]), float((i + 1) / n)) for i in at]
    top = float(np.percentile(ms, HISTOGRAM_TOP))
    if top <= ms[0]:
        top = float(ms[-1])
    shown = ms[ms <= top]
    counts, edges = np.histogram(shown, bins=max(1, min(bins, n)), range=(float(ms[0]), top))
    percentiles = {f"p{q:g}": float(np.percentile(ms, q)) for q in (50, 90, 95, 99, 99.9)} | {
        "min": float(ms[0]),
        "max": float(ms[-1]),
        "mean": float(ms.mean()),
    }
    return LatencyDistribution(
        count=n,
        cdf=cdf,
        edges=[float(e) for e in edges],
        counts=[int(c) for c in counts],
        above=int(n - len(shown)),
        percentiles=percentiles,
    )


# --- files kept with submitted runs ------------------------------------------------------------


class RunFile(BaseModel):
    """A file kept with a submitted run: its path in the run's folder and size in bytes."""

    path: str
    size: int


class RunFiles(BaseModel):
    """What the server keeps with a run: LoadGen's logs and the rest of its bundle, who
    submitted it and when (from ``bundle.json``; None for a run stored another way), and
    the path of its trace file where the server has it."""

    run_id: str
    files: list[RunFile]
    submitter: str | None = None
    received_at: str | None = None
    trace: str | None = None


def _folder(run_id: str, files_root: Path | None) -> Path:
    if not _RUN_ID.fullmatch(run_id):
        raise RunFileNotFound(f"no run has id {run_id[:80]!r}")
    return (files_root or server_files_root()) / run_id


def dashboard_run_files(
    run: str | RunRecord, *, files_root: Path | None = None, limit: int = MAX_FILES
) -> RunFiles:
    """The files kept with a run (id or record) under ``files_root/<id>/`` (the server's
    ``REEF_HOME/server/runs`` by default), at most ``limit``, by path; links and special
    files are left out."""
    run_id = run if isinstance(run, str) else run.id
    folder = _folder(run_id, files_root)
    found: list[RunFile] = []
    if folder.is_dir() and not folder.is_symlink():
        for top, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(top, d)))
            for name in sorted(names):
                path = Path(top) / name
                if path.is_symlink() or not path.is_file():
                    continue
                found.append(
                    RunFile(path=path.relative_to(folder).as_posix(), size=path.stat().st_size)
                )
                if len(found) >= limit:
                    break
            if len(found) >= limit:
                break
    found.sort(key=lambda f: f.path)
    submitter = received = None
    bundle = folder / BUNDLE_FILE
    if any(f.path == BUNDLE_FILE for f in found):
        try:
            data = json.loads(bundle.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            submitter = data.get("submitter") if isinstance(data.get("submitter"), str) else None
            at = data.get("received_at")
            received = at if isinstance(at, str) else None
    trace = None
    if not isinstance(run, str):
        from reef.bench.bundle import trace_name

        inside = trace_name(run)  # where a bundle puts it
        trace = inside if inside in {f.path for f in found} else None
    return RunFiles(
        run_id=run_id, files=found, submitter=submitter, received_at=received, trace=trace
    )


def dashboard_run_file(run_id: str, path: str, *, files_root: Path | None = None) -> Path:
    """The file ``path`` (relative, POSIX) kept with the run ``run_id``: a regular file
    inside the run's folder, reached through no link; ``RunFileNotFound`` otherwise."""
    folder = _folder(run_id, files_root)
    missing = RunFileNotFound(f"run {run_id[:12]} keeps no file {path[:200]!r}")
    parts = path.split("/")
    if not path or len(path) > 1024 or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise missing
    current = folder
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise missing
    if not current.is_file():
        raise missing
    base = folder.resolve()
    if not current.resolve().is_relative_to(base):
        raise missing
    return current
