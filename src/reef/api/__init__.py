"""Reef's Python API: the verbs, with typed, JSON-serialisable results.

The CLI is a thin face over these functions; so will the server and cluster agents be.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from reef.api.components import (
    RepoInfo,
    fetch,
    install,
    lock_for,
    new,
    pack,
    repo_add,
    repo_list,
    repo_remove,
    repo_trust,
    repo_trusted,
    repo_update,
    resolve,
    search,
    show,
)
from reef.bench.progress import NullReporter, Reporter
from reef.bench.settings import bench_settings
from reef.errors import ManifestError, Problem, ReefError, SettingsError
from reef.meta.run import RunRecord
from reef.meta.settings import BenchSettings
from reef.solutions.init import InitReport, init

if TYPE_CHECKING:
    from reef.bench.job import PredictorSettings, TraceSettings
    from reef.results.imports import ImportReport
    from reef.results.query import RunFilter, Sort


def __getattr__(name: str) -> Any:
    # The job's schema (and the model manifest's in it) is built only when it is used.
    if name == "PredictorSettings":
        from reef.bench.job import PredictorSettings

        return PredictorSettings
    if name == "RunFilter":  # what the faces select runs with
        from reef.results.query import RunFilter

        return RunFilter
    if name in ("ImportReport", "ImportedRun"):
        from reef.results import imports

        return getattr(imports, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEMO_DURATION_S",
    "DEMO_MODEL",
    "CheckResult",
    "InitReport",
    "PredictorSettings",
    "RepoInfo",
    "RunFilter",
    "bench",
    "bench_settings",
    "check",
    "demo",
    "detect",
    "fetch",
    "init",
    "install",
    "lock_for",
    "mlflow_check",
    "mlflow_export",
    "new",
    "pack",
    "predictor_settings",
    "repo_add",
    "repo_list",
    "repo_remove",
    "repo_trust",
    "repo_trusted",
    "repo_update",
    "resolve",
    "run_latencies",
    "runs_import",
    "runs_list",
    "runs_show",
    "schema",
    "search",
    "show",
]

DEMO_MODEL = "digits-classifier"
DEMO_DURATION_S = 2.0


def predictor_settings(
    graph_optimization: str | None = None, providers: list[str] | None = None
) -> PredictorSettings:
    from reef.bench.job import PredictorSettings

    values: dict[str, Any] = {"providers": providers or None}
    if graph_optimization is not None:
        values["graph_optimization"] = graph_optimization
    try:
        return PredictorSettings(**values)
    except ValidationError:
        raise SettingsError(
            f"--graph-optimization: unknown level {graph_optimization!r}",
            hint="choose none, basic, extended or all",
        ) from None


def bench(
    target: str,
    settings: list[BenchSettings],
    *,
    shapes: dict[str, list[int]] | None = None,
    in_process: bool = False,
    reporter: Reporter | None = None,
    store: bool = True,
    predictor: PredictorSettings | None = None,
    trace: TraceSettings | None = None,
) -> list[RunRecord]:
    """Benchmark ``target`` once per settings object; every finished run is stored.

    A solution is measured as ``bench_solution`` does, with ``settings`` in place of its own.
    Bad input raises before anything is recorded. Ctrl-C or SIGTERM records the current run
    as ``interrupted`` and raises ``Interrupted``. ``trace`` (see ``reef.api.trace``) records
    a trace with each run; the record's ``trace`` field says which level was used.
    """
    from reef.bench import session
    from reef.bench.target import resolve
    from reef.solutions.load import is_solution

    if is_solution(target):
        from reef.solutions.bench import bench_solution

        return bench_solution(
            target,
            settings=settings,
            in_process=in_process,
            reporter=reporter,
            store=store,
            predictor=predictor,
            trace=trace,
        )
    reporter = reporter or NullReporter()
    resolved = resolve(target)
    if resolved.target.kind == "component" and resolved.target.version:
        from reef.components.lookup import shadowing

        for shadow in shadowing("model", resolved.target.name, resolved.target.version):
            reporter.note(f"warning: {shadow.message}")
    if resolved.manifest is not None and shapes:
        raise SettingsError("--shape applies to a bare ONNX file; a manifest declares its shapes")
    with session.open_store(store) as db:
        return session.run(
            [(resolved, s) for s in settings],
            db,
            reporter,
            shapes=shapes,
            in_process=in_process,
            predictor=predictor,
            trace=trace,
        )


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
    from reef.results import Store
    from reef.results.query import RunFilter, Sort

    wanted = run_filter or RunFilter()
    order = Sort.parse(sort) if isinstance(sort, str) else sort
    if limit is not None and limit < 0:
        raise SettingsError(f"--limit: must be 0 or more, not {limit}")
    with Store() as s:
        records = s.list(wanted, sort=order, limit=limit)
        if not records and not allow_empty:
            problem = s.explain_empty(wanted)
            if problem is not None:
                raise problem
        return records


def runs_show(run_id: str, *, with_latencies: bool = False) -> RunRecord:
    from reef.results import Store

    with Store() as s:
        return s.get(run_id, with_latencies=with_latencies)


def run_latencies(run_id: str) -> list[int] | None:
    return runs_show(run_id, with_latencies=True).latencies_ns


class CheckResult(BaseModel):
    path: str
    kind: str
    name: str
    version: str
    checks: list[str]
    skipped: list[str] = []


def check(path: Path) -> CheckResult:
    """Validate a manifest: schema, steps, metric, source files and checksums, and for a model
    its declared signature against the model file itself. Every problem found is reported."""
    from reef.components.checksums import verified_source
    from reef.components.index import MANIFEST
    from reef.meta.load import load_manifest
    from reef.meta.model import ModelManifest

    if path.is_dir() and (path / MANIFEST).is_file():
        path = path / MANIFEST  # a component folder, as `reef bench` accepts it
    manifest = load_manifest(path)
    file = str(path)
    done = ["schema"]
    problems: list[Problem] = []
    base = path.parent

    from reef.meta.common import package_folder

    # A file inside a Python package is there once `reef init` installed the package; on a
    # host without it the manifest can still be checked, the file and what reads it cannot.
    missing = sorted(
        {s.package for s in manifest.sources if s.package and package_folder(s.package) is None}
    )
    skipped = [f"{p} is not installed here (`reef init` installs it)" for p in missing]
    paths: list[Path] = []
    for i, src in enumerate(manifest.sources):
        if src.package in missing:
            continue
        try:
            paths.append(verified_source(src, base, file, f"sources[{i}]"))
        except ManifestError as exc:
            problems.extend(exc.problems)
        except ReefError as exc:
            problems.append(Problem(file, f"sources[{i}].sha256", exc.message))
    done.append("sources")
    from reef.meta.solution import SolutionManifest

    if isinstance(manifest, SolutionManifest):
        from reef.solutions.load import solution_problems

        problems.extend(solution_problems(manifest, file))
        done.extend(["steps", "checks"])
    if isinstance(manifest, ModelManifest):
        from reef.bench.checks import dataset_problems, model_problems, plugin_problems

        if not missing:
            problems.extend(plugin_problems(manifest, file))
            done.extend(["steps", "metric"])
        problems.extend(dataset_problems(manifest, path))
        done.append("dataset")
        if paths and not missing:
            problems.extend(model_problems(manifest, paths[0], file))
            done.extend(["framework", "signature"])
    if problems:
        raise ManifestError(problems)
    return CheckResult(
        path=str(path.resolve()),
        kind=manifest.kind,
        name=manifest.name,
        version=manifest.version,
        checks=done,
        skipped=skipped,
    )


SCHEMA_KINDS = (
    "component",
    "model",
    "dataset",
    "solution",
    "program",
    "detector",
    "lock",
    "run",
    "settings",
)


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a manifest kind, of any component (``component``), of the lock file
    or of the run record."""
    from typing import Annotated

    from pydantic import Field, TypeAdapter

    from reef.meta.load import any_manifest, kinds
    from reef.meta.lock import Lock

    if kind not in SCHEMA_KINDS:
        raise ReefError(
            f"unknown schema kind {kind!r}", hint=f"choose from {', '.join(SCHEMA_KINDS)}"
        )
    if kind == "component":
        union: TypeAdapter[Any] = TypeAdapter(
            Annotated[any_manifest(), Field(discriminator="kind")]  # type: ignore[arg-type]
        )
        out: dict[str, Any] = union.json_schema()
        out["title"] = "Reef component (reef.yaml)"
        return out
    others: dict[str, type[BaseModel]] = {"lock": Lock, "run": RunRecord, "settings": BenchSettings}
    return (kinds().get(kind) or others[kind]).model_json_schema()


def demo(reporter: Reporter | None = None) -> list[RunRecord]:
    """The built-in digits classifier in SingleStream and Offline, with accuracy."""
    settings = bench_settings(["SingleStream", "Offline"], duration_s=DEMO_DURATION_S, mode="both")
    settings = [
        s.model_copy(update={"batch_size": 32}) if s.scenario == "Offline" else s for s in settings
    ]
    return bench(DEMO_MODEL, settings, reporter=reporter)


def detect(*, components: bool = True) -> dict[str, Any]:
    """This machine's environment fingerprint (``reef.environment.fingerprint``): the built-in
    and plugin detectors, and, unless ``components`` is False, the repositories' detector
    components (trusted ones run; untrusted ones are reported as skipped)."""
    import copy

    from reef.bench.fingerprint import run_fingerprint

    return copy.deepcopy(run_fingerprint(components=components))


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

    records = [r if isinstance(r, RunRecord) else runs_show(r) for r in runs]
    return export_records(records, uri, parent_name=parent_name)
