"""The run verbs: benchmark and store, list and show recorded runs, their latencies as numpy
arrays and the runs as a pandas DataFrame, import record files, export to MLflow.

Verbs that read one run take its id (a unique prefix is enough) or the ``RunRecord`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from reef.errors import ResultsError, SettingsError
from reef.meta.summary import COLUMNS as SUMMARY_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from reef.bench.job import PredictorSettings, TraceSettings
    from reef.bench.progress import Reporter
    from reef.meta.run import RunRecord
    from reef.meta.settings import BenchSettings
    from reef.meta.summary import RunSummary
    from reef.results import Store
    from reef.results.imports import ImportReport
    from reef.results.query import RunFilter, Sort

_Run = TypeVar("_Run")
DEMO_MODEL = "digits-classifier"
DEMO_DURATION_S = 2.0

# The columns of ``runs_frame``: those of ``reef runs list --format csv``, in its order.
FRAME_COLUMNS = SUMMARY_COLUMNS
_FLOAT_COLUMNS = ("p50_ms", "p90_ms", "p99_ms", "throughput_qps", "accuracy_value")
PANDAS_HINT = "pip install 'reef-bench[pandas]'"

LatencyUnit = Literal["ns", "us", "ms", "s"]
_PER_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class NoLatencies(ResultsError):
    """The run kept no raw per-query latencies."""


# PredictorSettings' fields as ``reef bench`` names them, for messages.
OPTION_NAMES = {
    "graph_optimization": "--graph-optimization",
    "providers": "--provider",
    "provider_options": "--provider-option",
    "session_config": "--session-config",
    "inter_op_threads": "--inter-op-threads",
    "execution_mode": "--execution-mode",
}


def predictor_settings(
    graph_optimization: str | None = None,
    providers: list[str] | None = None,
    *,
    provider_options: dict[str, dict[str, str]] | None = None,
    session_config: dict[str, str] | None = None,
    inter_op_threads: int | None = None,
    execution_mode: str | None = None,
) -> PredictorSettings:
    """Validated backend settings for ``bench``: ONNX Runtime's graph optimisation level,
    execution providers (None: the best available), options per provider
    (``{"CUDAExecutionProvider": {"device_id": "1"}}``), session config entries
    (``{"session.intra_op.allow_spinning": "0"}``), inter-op threads and execution mode
    (``"sequential"`` or ``"parallel"``). A model manifest's ``framework.options`` fill in
    what is not given here."""
    from pydantic import ValidationError

    from reef.bench.job import PredictorSettings

    values: dict[str, Any] = {
        "providers": providers or None,
        "provider_options": provider_options or {},
        "session_config": session_config or {},
        "inter_op_threads": inter_op_threads,
        "execution_mode": execution_mode,
    }
    if graph_optimization is not None:
        values["graph_optimization"] = graph_optimization
    unused = [p for p in values["provider_options"] if providers and p not in providers]
    if unused:
        # Without --provider, which providers run is known once ONNX Runtime says which it has.
        raise SettingsError(
            f"--provider-option {unused[0]}: not among the providers asked for "
            f"(--provider {' --provider '.join(providers or [])})",
            hint=f"add --provider {unused[0]}, or drop its options",
        )
    try:
        return PredictorSettings(**values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field, *rest = [str(p) for p in err["loc"] if p not in ("[key]", "")]
        where = OPTION_NAMES.get(field, field)
        if field == "graph_optimization":
            raise SettingsError(
                f"--graph-optimization: unknown level {graph_optimization!r}",
                hint="choose none, basic, extended or all",
            ) from exc
        value = values.get(field)
        shown = f" {value}" if field in ("inter_op_threads", "execution_mode") else ""
        inside = f" {'.'.join(rest)}" if rest else ""
        message = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{where}{shown}{inside}: {message}") from exc


def bench(
    target: str,
    settings: BenchSettings | Sequence[BenchSettings] | None = None,
    *,
    scenarios: Sequence[str] | None = None,
    shapes: dict[str, list[int]] | None = None,
    in_process: bool = False,
    reporter: Reporter | None = None,
    store: bool = True,
    predictor: PredictorSettings | None = None,
    trace: TraceSettings | str | None = None,
    backends: Sequence[str] | None = None,
    like: str | None = None,
    **options: Any,
) -> list[RunRecord]:
    """Benchmark ``target`` (a manifest, an ONNX file, a component ``name[@version]``, a lock
    file, a solution, or a served model's URL ``http://HOST:PORT/v2/models/NAME``) once per
    settings; every finished run is stored (unless ``store`` is False) and returned.

    The settings are either ``settings`` (``BenchSettings``, one or a list, as
    ``bench_settings`` makes them) or ``scenarios`` with keyword settings, validated as
    ``reef bench`` validates its options::

        bench("digits-classifier", scenarios=["SingleStream", "Offline"], duration_s=2)

    Without either, one SingleStream run with the default settings. A solution is measured as
    ``bench_solution`` does, with these settings in place of its own. ``trace`` (a level such
    as ``"model"``, or ``trace_settings(...)``) records a trace with each run.

    ``backends`` (``["onnxruntime", "openvino"]``) runs the target on each backend in turn,
    one run per backend and settings, all with the same settings and seed, so with the same
    inputs; without it, the manifest's framework runs it (a bare file: the backend its suffix
    names). ``predictor`` holds ONNX Runtime's options, refused for another backend.

    ``like`` (``--like``) names the Reef model (``name[@version]`` or a manifest) whose
    inputs, dataset and accuracy metric describe a served model that does not name one
    (Triton, KServe, MLServer): real samples and accuracy instead of synthetic inputs. Its
    inputs must match the served model's; it is refused for any other target.

    Bad input raises before anything is recorded. Ctrl-C or SIGTERM records the current run
    as ``interrupted`` and raises ``Interrupted``.
    """
    from reef.bench import backends as multi
    from reef.bench import session
    from reef.bench.progress import NullReporter
    from reef.bench.target import resolve
    from reef.solutions.load import is_solution

    chosen = _settings(settings, scenarios, options)
    names = multi.check_backends(backends) if backends else []
    if isinstance(trace, str):
        from reef.api.trace import trace_settings

        trace = trace_settings(trace)
    if is_solution(target):
        if like is not None:
            raise SettingsError(
                f"--like {like}: {target} is a solution, not a served model's URL",
                hint="--like describes a model served over the Open Inference Protocol",
            )
        from reef.solutions.bench import bench_solution

        return bench_solution(
            target,
            settings=chosen,
            in_process=in_process,
            reporter=reporter,
            store=store,
            predictor=predictor,
            trace=trace,
            backends=names,
        )
    reporter = reporter or NullReporter()
    resolved = resolve(target, like)
    if resolved.target.kind == "component" and resolved.target.version:
        from reef.components.lookup import shadowing

        for shadow in shadowing("model", resolved.target.name, resolved.target.version):
            reporter.note(f"warning: {shadow.message}")
    if resolved.manifest is not None and shapes:
        raise SettingsError("--shape applies to a bare ONNX file; a manifest declares its shapes")
    if names:
        # Every job is checked before the first runs: a bad backend records nothing.
        jobs = multi.jobs_for(resolved, chosen, names, shapes=shapes, predictor=predictor)
        with session.open_store(store) as db:
            if resolved.provisioned is None:
                return session.run(
                    jobs,
                    db,
                    reporter,
                    in_process=in_process,
                    trace=trace,
                    annotate=lambda record: multi.keep_lock(resolved, record),
                )
            # The environment `reef init` built runs them: jobs made from the resolved
            # target, backend by backend, carry its interpreter.
            records: list[RunRecord] = []
            for name in names:
                records += session.run(
                    [(resolved, s) for s in chosen],
                    db,
                    reporter,
                    shapes=shapes,
                    in_process=in_process,
                    predictor=predictor,
                    trace=trace,
                    backend=name,
                )
            return records
    multi.check_options(predictor, [multi.default_backend(resolved)])
    with session.open_store(store) as db:
        return session.run(
            [(resolved, s) for s in chosen],
            db,
            reporter,
            shapes=shapes,
            in_process=in_process,
            predictor=predictor,
            trace=trace,
        )


def _settings(
    given: BenchSettings | Sequence[BenchSettings] | None,
    scenarios: Sequence[str] | None,
    options: dict[str, Any],
) -> list[BenchSettings]:
    from reef.bench.settings import bench_settings
    from reef.meta.settings import BenchSettings

    if given is None:
        return bench_settings(list(scenarios) if scenarios else None, **options)
    if scenarios is not None or options:
        named = ", ".join(["scenarios", *options] if scenarios is not None else list(options))
        raise SettingsError(
            f"bench: give settings or scenarios with keyword settings, not both (got {named})",
            hint='bench(target, scenarios=["SingleStream"], duration_s=2), or '
            "bench(target, bench_settings([...], duration_s=2))",
        )
    chosen = [given] if isinstance(given, BenchSettings) else list(given)
    wrong = [type(s).__name__ for s in chosen if not isinstance(s, BenchSettings)]
    if wrong:
        raise SettingsError(
            f"bench: settings must be BenchSettings, not {wrong[0]}",
            hint="bench_settings([...]) makes them; or pass scenarios=[...] and keywords",
        )
    return chosen


def demo(reporter: Reporter | None = None) -> list[RunRecord]:
    """The built-in digits classifier in SingleStream and Offline, with accuracy."""
    from reef.bench.settings import bench_settings

    settings = bench_settings(["SingleStream", "Offline"], duration_s=DEMO_DURATION_S, mode="both")
    settings = [
        s.model_copy(update={"batch_size": 32}) if s.scenario == "Offline" else s for s in settings
    ]
    return bench(DEMO_MODEL, settings, reporter=reporter)


def runs_list(
    run_filter: RunFilter | None = None,
    *,
    limit: int | None = None,
    sort: Sort | str | None = None,
    allow_empty: bool = True,
) -> list[RunRecord]:
    """Recorded runs passing ``run_filter`` (``RunFilter``: every field given must hold), in
    ``sort`` order (default ``-created_at``: newest first; ``p90`` ascending, ``-throughput``
    descending), at most ``limit``.

    Bad input raises ``QueryError`` before the store is opened. With ``allow_empty=False``, a
    filter that selects nothing raises ``NoRunsMatch`` naming the field that left none.
    """
    return _select(
        run_filter, limit, sort, allow_empty, lambda s, f, o, n: s.list(f, sort=o, limit=n)
    )


def runs_summaries(
    run_filter: RunFilter | None = None,
    *,
    limit: int | None = None,
    sort: Sort | str | None = None,
    allow_empty: bool = True,
) -> list[RunSummary]:
    """The runs ``runs_list`` gives, as ``RunSummary``s (id, model, scenario, status, the
    headline figures): several times faster to read than whole records."""
    return _select(
        run_filter, limit, sort, allow_empty, lambda s, f, o, n: s.summaries(f, sort=o, limit=n)
    )


def _select(
    run_filter: RunFilter | None,
    limit: int | None,
    sort: Sort | str | None,
    allow_empty: bool,
    read: Callable[[Store, RunFilter, Sort | None, int | None], list[_Run]],
) -> list[_Run]:
    from reef.results import Store
    from reef.results.query import RunFilter, Sort

    wanted = run_filter or RunFilter()
    order = Sort.parse(sort) if isinstance(sort, str) else sort
    if limit is not None and limit < 0:
        raise SettingsError(f"--limit: must be 0 or more, not {limit}")
    with Store() as s:
        found = read(s, wanted, order, limit)
        if not found and not allow_empty:
            problem = s.explain_empty(wanted)
            if problem is not None:
                raise problem
        return found


def runs_show(run: str | RunRecord, *, with_latencies: bool = False) -> RunRecord:
    """One recorded run, by id or unique prefix (``RunNotFound`` otherwise); with its raw
    per-query latencies when ``with_latencies``. A ``RunRecord`` is returned as it is, read
    again only for latencies it does not hold."""
    from reef.meta.run import RunRecord

    if isinstance(run, RunRecord) and (not with_latencies or run.latencies_ns is not None):
        return run
    from reef.results import Store

    with Store() as s:
        return s.get(run.id if isinstance(run, RunRecord) else run, with_latencies=with_latencies)


def run_latencies(run: str | RunRecord) -> NDArray[np.int64] | None:
    """The run's raw per-query latencies in nanoseconds, in the order they were measured;
    None when the run kept none."""
    import numpy as np

    found = runs_show(run, with_latencies=True).latencies_ns
    return None if found is None else np.asarray(found, dtype=np.int64)


def latencies(run: str | RunRecord, *, unit: LatencyUnit = "ms") -> NDArray[np.float64]:
    """The run's raw per-query latencies in ``unit`` (ms by default), as a float array in the
    order they were measured. A run that kept none raises ``NoLatencies``."""
    import numpy as np

    if unit not in _PER_NS:
        raise SettingsError(f"unknown latency unit {unit!r}", hint="ns, us, ms or s")
    record = runs_show(run, with_latencies=True)
    if record.latencies_ns is None:
        raise NoLatencies(
            f"run {record.id[:12]} kept no raw latencies",
            hint="benchmark with raw latencies kept (BenchSettings.raw_latencies)",
        )
    return np.asarray(record.latencies_ns, dtype=np.float64) / _PER_NS[unit]


def runs_frame(
    run_filter: RunFilter | None = None,
    *,
    limit: int | None = None,
    sort: Sort | str | None = None,
) -> pd.DataFrame:
    """The runs ``runs_list`` gives, as a pandas DataFrame: one row per run, the columns of
    ``reef runs list --format csv`` (``FRAME_COLUMNS``). ``created_at`` is ``datetime64`` in
    UTC, the figures are ``float64`` (NaN where a run has none), the rest are strings (NA where
    a run has none). Needs pandas (``pip install 'reef-bench[pandas]'``)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise SettingsError(
            "runs_frame needs pandas, which is not installed", hint=PANDAS_HINT
        ) from exc
    rows = runs_summaries(run_filter, limit=limit, sort=sort)
    columns: dict[str, Any] = {c: [getattr(row, c) for row in rows] for c in FRAME_COLUMNS}
    frame = pd.DataFrame(
        {
            c: (
                pd.to_datetime(values, utc=True)
                if c == "created_at"
                else pd.Series(values, dtype="float64" if c in _FLOAT_COLUMNS else "string")
            )
            for c, values in columns.items()
        },
        columns=list(FRAME_COLUMNS),
    )
    return frame


def runs_import(path: Path | str) -> ImportReport:
    """Store the run records at ``path``: a ``record.json``, a run's folder holding one, or a
    folder of run folders (``REEF_HOME/runs``, or ``reef.bench.session.unsaved_dir()`` where
    a failed save kept them).

    Idempotent: a run already stored is reported as such and left as it is. Every file is
    read and checked (``reef.meta.run.load_record``) before anything is stored: a file that is
    not a run record is a ``ManifestError`` (exit 2) naming it, and nothing is imported.
    """
    from reef.bench.session import signals_held
    from reef.results import Store
    from reef.results.imports import new_records, read_records

    loaded = read_records(Path(path))
    with Store() as db:
        db.require_writable("import runs")
        new, report = new_records(db, loaded)
        with signals_held():
            db.add_many(new)
    return report


def mlflow_check(uri: str) -> None:
    """Refuse, before any work, an MLflow tracking URI that runs could not be logged to."""
    from reef.results.mlflow_export import check_uri

    check_uri(uri)


def mlflow_export(
    runs: Sequence[str | RunRecord], uri: str, *, parent_name: str | None = None
) -> list[str]:
    """Log stored runs (ids or records) to the MLflow tracking server at ``uri``, under a
    parent run named ``parent_name`` when given; returns the MLflow run ids."""
    from reef.results.mlflow_export import export_records

    return export_records([runs_show(r) for r in runs], uri, parent_name=parent_name)
