"""Reef's Python API: the verbs, with typed, JSON-serialisable results.

The CLI is a thin face over these functions; so will the server and cluster agents be.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from reef import config
from reef.api.components import (
    InitReport,
    RepoInfo,
    fetch,
    init,
    install,
    lock_for,
    new,
    pack,
    repo_add,
    repo_list,
    repo_remove,
    repo_trust,
    repo_update,
    resolve,
    search,
    show,
)
from reef.bench.progress import NullReporter, Reporter
from reef.errors import Interrupted, ManifestError, Problem, ReefError, SettingsError, Terminated
from reef.meta.run import RunRecord, Status
from reef.meta.settings import SCENARIOS, BenchSettings

if TYPE_CHECKING:
    from datetime import datetime

    from reef.bench.job import PredictorSettings, TraceSettings
    from reef.results.query import RunFilter, Sort


def __getattr__(name: str) -> Any:
    # The job's schema (and the model manifest's in it) is built only when it is used.
    if name == "PredictorSettings":
        from reef.bench.job import PredictorSettings

        return PredictorSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEMO_DURATION_S",
    "DEMO_MODEL",
    "CheckResult",
    "InitReport",
    "PredictorSettings",
    "RepoInfo",
    "bench",
    "bench_settings",
    "check",
    "demo",
    "detect",
    "fetch",
    "init",
    "install",
    "lock_for",
    "new",
    "pack",
    "predictor_settings",
    "repo_add",
    "repo_list",
    "repo_remove",
    "repo_trust",
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

_OPTION_NAMES = {
    "duration_s": "--duration",
    "queries": "--queries",
    "target_qps": "--target-qps",
    "latency_bound_ms": "--latency-bound-ms",
    "samples_per_query": "--samples-per-query",
    "batch_size": "--batch-size",
    "threads": "--threads",
    "warmup_queries": "--warmup",
    "sample_count": "--samples",
    "scenario": "--scenario",
    "mode": "--mode",
    "seed": "--seed",
}


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


def bench_settings(scenarios: list[str] | None = None, **options: Any) -> list[BenchSettings]:
    """One validated settings object per scenario; a nonsensical value is a SettingsError."""
    from reef.bench.job import loadgen_problem
    from reef.meta.settings import machine_problems

    chosen = scenarios or ["SingleStream"]
    by_lower = {s.lower(): s for s in SCENARIOS}
    result = []
    for name in chosen:
        scenario = by_lower.get(name.lower())
        if scenario is None:
            raise SettingsError(
                f"unknown scenario {name!r}", hint=f"choose from {', '.join(SCENARIOS)}"
            )
        values = {k: v for k, v in options.items() if v is not None}
        if scenario != "Server" and len(chosen) > 1:
            # Given for the Server run among several scenarios.
            values.pop("target_qps", None)
            values.pop("latency_bound_ms", None)
        try:
            settings = BenchSettings(scenario=scenario, **values)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = str(err["loc"][0]) if err["loc"] else ""
            option = _OPTION_NAMES.get(field, field)
            raise SettingsError(
                f"{option}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})"
            ) from None
        # Values this machine (or LoadGen anywhere) cannot run, refused before any worker.
        problems = machine_problems(settings)
        if problems:
            field, message = problems[0]
            option, value = _OPTION_NAMES.get(field, field), getattr(settings, field)
            shown = f"{value:g}" if isinstance(value, float) else value
            raise SettingsError(f"{option} {shown}: {message}")
        problem = loadgen_problem(settings)
        if problem:
            raise SettingsError(problem, hint="ask for fewer samples per query")
        result.append(settings)
    return result


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
    from reef.api import solutions
    from reef.bench.target import resolve

    if solutions.is_solution(target):
        return solutions.bench_solution(
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
    return bench_resolved(
        [(resolved, s) for s in settings],
        shapes=shapes,
        in_process=in_process,
        reporter=reporter,
        store=store,
        predictor=predictor,
        trace=trace,
    )


def bench_resolved(
    jobs: list[tuple[Any, BenchSettings]],
    *,
    shapes: dict[str, list[int]] | None = None,
    in_process: bool = False,
    reporter: Reporter,
    store: bool = True,
    predictor: PredictorSettings | None = None,
    annotate: Any = None,
    trace: TraceSettings | None = None,
) -> list[RunRecord]:
    """Run each (resolved target, settings) pair; ``annotate(record)`` adds to each record
    before it is stored."""
    from reef.bench.target import job_for

    records: list[RunRecord] = []
    # Opened before anything is measured: a database that cannot be used fails now, not
    # after minutes of benchmarking.
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(_open_store()) if store else None
        for resolved, s in jobs:
            job = job_for(resolved, s, shapes=shapes, predictor=predictor)
            if trace is not None:
                job.trace = trace

            def decorate(record: RunRecord, resolved: Any = resolved) -> None:
                if resolved.lock is not None:
                    lock = resolved.lock
                    if resolved.provisioned is not None and lock.environment is None:
                        # What the environment held, so that `reef reproduce` rebuilds it.
                        lock = lock.model_copy(
                            update={"environment": resolved.provisioned.locked()}
                        )
                    record.lock = lock.model_dump(mode="json")
                if annotate is not None:
                    annotate(record)

            records.append(
                _bench_one(job, in_process, reporter, db, resolved.provisioned, decorate)
            )
    return records


def _bench_one(
    job: Any,
    in_process: bool,
    reporter: Reporter,
    db: Any,
    provisioned: Any = None,
    decorate: Any = None,
) -> RunRecord:
    from datetime import UTC, datetime

    from reef.bench.launch import WorkerCrashed

    started = datetime.now(UTC)
    reporter.run(job.settings.scenario)
    record: RunRecord | None = None
    saved = False
    try:
        try:
            record = _run_job(job, in_process, reporter, provisioned)
        except WorkerCrashed as exc:
            record = _partial_record(job, "failed", [exc.message], started, provisioned)
            record.artifacts["worker_stderr"] = exc.stderr_tail
        if decorate is not None:
            decorate(record)
        # A signal that comes while the record is saved is delivered when this block ends:
        # by then ``saved`` says the run was stored as what it is.
        with _signals_held():
            if db is not None:
                _save(db, record, reporter)
            saved = True
        return record
    except (KeyboardInterrupt, Terminated) as exc:
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        if not saved:
            # Describing the machine takes a moment (detectors run); a second signal
            # meanwhile must not lose the record of the first.
            with _signals_held():
                if record is None:
                    reasons = [f"interrupted by {name}"]
                    record = _partial_record(job, "interrupted", reasons, started, provisioned)
                    if decorate is not None:
                        decorate(record)
                if db is not None:
                    _save(db, record, reporter)
        assert record is not None  # saved, or made just above
        if db is None:
            raise Interrupted(name) from None
        if record.status == "interrupted":
            raise Interrupted(name, [record.id]) from None
        # The run had finished when the signal came: it was stored as valid (or invalid,
        # failed), and the message must not call it interrupted.
        raise Interrupted(name, finished={record.id: record.status}) from None


def _run_job(job: Any, in_process: bool, reporter: Reporter, provisioned: Any = None) -> RunRecord:
    """Run ``job`` here or in a worker; in the provisioned environment's interpreter when the
    target has one, which the record then names under ``environment.provisioned``."""
    if in_process:
        from reef.bench.runner import run_job

        if provisioned is not None:
            reporter.note(
                f"--in-process runs in this Python, not in the environment provisioned for "
                f"the target ({provisioned.path})"
            )
        return run_job(job, reporter)
    from reef.bench.launch import run_in_worker

    if provisioned is None:
        return run_in_worker(job, reporter)
    record = run_in_worker(job, reporter, python=str(provisioned.python))
    record.environment["provisioned"] = provisioned.record_entry()
    return record


def _partial_record(
    job: Any, status: Status, reasons: list[str], started: Any, provisioned: Any = None
) -> RunRecord:
    """The record of a run that did not finish: what was asked, where, and why it stopped."""
    import copy
    from datetime import UTC, datetime

    from reef.bench.fingerprint import run_fingerprint
    from reef.environment.fingerprint import fingerprint_hash

    environment = copy.deepcopy(run_fingerprint())
    if provisioned is not None:
        # The worker died in the provisioned environment before describing it; this process
        # knows the machine, not that environment's software, so it records none.
        environment["software"] = {}
        environment["hash"] = fingerprint_hash(environment)
        environment["provisioned"] = provisioned.record_entry()
    return RunRecord(
        id=job.run_id,
        created_at=started,
        finished_at=datetime.now(UTC),
        status=status,
        reasons=reasons,
        target=job.target,
        components=job.components,
        settings=job.settings,
        environment=environment,
        artifacts={"run_dir": job.run_dir},
    )


@contextlib.contextmanager
def _open_store() -> Iterator[Any]:
    from reef.results import Store

    with Store() as db:
        # A store that can only be read fails now, not after the measurement.
        db.require_writable()
        yield db


def unsaved_dir() -> Path:
    """Where a record goes when its run's folder cannot take it (a full ``REEF_HOME``): a
    folder of run folders, one per user, in the system's temporary folder, which
    ``reef runs import`` reads."""
    import os
    import tempfile

    return Path(tempfile.gettempdir()) / f"reef-unsaved-runs-{os.getuid()}"


def _save(db: Any, record: RunRecord, reporter: Reporter | None = None) -> None:
    """Write the record where it survives whatever happens next.

    The record's JSON goes to the run's folder first, atomically (never a half-written
    file), then into the database. Where the folder cannot take it (disk full), it goes to
    ``unsaved_dir()``; where the database then fails, ``RecordNotStored`` (exit 3) names the
    file that holds it, for ``reef runs import``. Where no file could be written at all, the
    record is printed on stderr and carried by the error. Signals are held meanwhile, so that
    Ctrl-C or SIGTERM cannot cut this short; they are delivered once the record is safe.
    """
    import sys

    from reef.errors import RecordNotStored
    from reef.results.store import StoreError

    with _signals_held():
        data = record.model_dump_json().encode("utf-8")
        kept, failures = _keep_record(record.id, data)
        try:
            db.add(record)
        except (StoreError, OSError) as exc:
            failures.append(exc.message if isinstance(exc, StoreError) else _os_reason(exc))
            if kept is None:
                # The last place left: the user can save it from there.
                sys.stderr.write(data.decode("utf-8") + "\n")
                sys.stderr.flush()
            raise RecordNotStored(
                record.id,
                record.status,
                "; ".join(failures),
                None if kept is None else str(kept),
                None if kept is not None else record.model_dump(mode="json"),
            ) from exc
        if failures:
            if kept is not None:
                kept.unlink(missing_ok=True)  # the database has it: no stray copy elsewhere
            (reporter or NullReporter()).note(
                f"run {record.id} is stored, but its record.json could not be written: "
                + "; ".join(failures)
            )


def _keep_record(run_id: str, data: bytes) -> tuple[Path | None, list[str]]:
    """Write the record's JSON to the run's folder, else to the fallback folder: the file
    written (None: neither) and why each place failed."""
    from reef.files import write_atomic

    failures: list[str] = []
    for fallback in (False, True):
        path: Path | None = None
        try:
            if fallback:
                folder = _private_dir(unsaved_dir()) / run_id
            else:
                folder = config.runs_dir() / run_id
            path = folder / "record.json"
            write_atomic(path, data)
            return path, failures
        except OSError as exc:
            where = path or exc.filename or "?"
            failures.append(f"{where}: {_os_reason(exc)}")
    return None, failures


def _private_dir(folder: Path) -> Path:
    """``folder``, made if missing, refused unless it is a real folder of this user's: the
    system's temporary folder is shared, and another user could have put a link there."""
    import errno
    import os
    import stat

    folder.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise OSError(errno.EPERM, "not a folder of this user's", str(folder))
    return folder


def _os_reason(exc: OSError) -> str:
    from reef.files import reason

    return reason(exc)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done; threads started inside inherit it.

    Blocking the signals in this thread is not enough: the kernel hands a process's signal
    to any thread that does not block it (a progress or relay thread), and Python then runs
    the handler in the main thread at once, mid-block. So, in the main thread, the handlers
    are also swapped for ones that only note the signal, and what was noted is raised again
    once the block is done and the handlers are back.
    """
    import threading

    held = (signal.SIGINT, signal.SIGTERM)
    noted: list[int] = []
    handlers: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in held:
            if signal.getsignal(sig) is not None:  # None: not Python's to swap
                handlers[sig] = signal.signal(sig, lambda signum, _frame: noted.append(signum))
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(held))
    try:
        yield
    finally:
        # Unblocking runs the noting handlers for whatever was pending in this thread.
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for signum in dict.fromkeys(noted):
            signal.raise_signal(signum)


def runs_list(
    run_filter: RunFilter | None = None,
    *,
    limit: int | None = None,
    sort: Sort | str | None = None,
    scenario: str | None = None,
    status: str | None = None,
    model: str | None = None,
    version: str | None = None,
    backend: str | None = None,
    tag: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    text: str | None = None,
    allow_empty: bool = True,
) -> list[RunRecord]:
    """Recorded runs passing every filter given, in ``sort`` order (default ``-created_at``:
    newest first; ``p90`` ascending, ``-throughput`` descending), at most ``limit``.

    The keyword filters are added to ``run_filter`` (see ``reef.results.query.RunFilter``);
    ``since``/``until`` also take ``2025-03-01``, ISO times and ages (``7d``, ``12h``). Bad
    input raises ``QueryError`` before the store is opened. With ``allow_empty=False``, filters
    that select nothing raise ``NoRunsMatch`` naming the filter that left none.
    """
    from reef.results import Store
    from reef.results.query import RunFilter, Sort

    base = run_filter or RunFilter()
    wanted = base.merged(
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
        from reef.api.solutions import solution_problems

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


# The file a run's folder holds its record in (see ``_save``).
RECORD_FILE = "record.json"
# A record holds every query's latency (at most a million or so); far below this.
RECORD_MAX_BYTES = 256 << 20


class ImportedRun(BaseModel):
    id: str
    status: str
    path: str
    result: str  # "imported" or "already stored"


class ImportReport(BaseModel):
    imported: int
    already_stored: int
    runs: list[ImportedRun]


def runs_import(path: Path | str) -> ImportReport:
    """Store the run records at ``path``: a ``record.json``, a run's folder holding one, or a
    folder of run folders (``REEF_HOME/runs``, or ``unsaved_dir()`` where a failed save kept
    them).

    Idempotent: a run already stored is reported as such and left as it is. Every file is
    read and checked (``reef.meta.run.load_record``) before anything is stored: a file that is
    not a run record is a ``ManifestError`` (exit 2) naming it, and nothing is imported.
    """
    from reef.results import Store

    loaded: list[tuple[Path, RunRecord]] = []
    problems: list[Problem] = []
    for file in _record_files(Path(path)):
        try:
            loaded.append((file, _read_record(file)))
        except ManifestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ManifestError(
            problems,
            hint="nothing was imported; a run record is the record.json Reef writes in each "
            "run's folder",
        )
    with Store() as db:
        db.require_writable("import runs")
        present = db.stored(record.id for _, record in loaded)
        runs: list[ImportedRun] = []
        new: list[RunRecord] = []
        for file, record in loaded:
            fresh = record.id not in present
            present.add(record.id)  # the same run found twice is imported once
            if fresh:
                new.append(record)
            result = "imported" if fresh else "already stored"
            runs.append(
                ImportedRun(id=record.id, status=record.status, path=str(file), result=result)
            )
        with _signals_held():
            db.add_many(new)
    return ImportReport(imported=len(new), already_stored=len(runs) - len(new), runs=runs)


def _record_files(path: Path) -> list[Path]:
    """The record files ``path`` names: itself, its ``record.json``, or those of the folders
    in it."""
    from reef.errors import FileRefused
    from reef.files import reason

    try:
        if not path.is_dir():
            if not path.exists():
                raise FileRefused(path, "not found")
            return [path]
        if (path / RECORD_FILE).exists():
            return [path / RECORD_FILE]
        found = sorted(
            sub / RECORD_FILE
            for sub in path.iterdir()
            if sub.is_dir() and (sub / RECORD_FILE).exists()
        )
    except OSError as exc:
        raise FileRefused(path, f"cannot read it: {reason(exc)}") from exc
    if not found:
        raise FileRefused(
            path,
            f"no {RECORD_FILE} in this folder or in the folders in it",
            hint="name a record.json, a run's folder (REEF_HOME/runs/ID) or a folder of them",
        )
    return found


def _read_record(file: Path) -> RunRecord:
    """The run record in ``file``; a ``ManifestError`` naming the file if it is not one."""
    import json

    from reef.files import read_regular
    from reef.meta.run import load_record

    raw = read_regular(file, "run record", RECORD_MAX_BYTES)
    source = str(file)
    if not raw.strip():
        # What a save cut short by a full disk used to leave.
        raise ManifestError([Problem(source, "", "is empty: not a run record")])
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise ManifestError([Problem(source, "", "not a run record: not UTF-8 text")]) from None
    except json.JSONDecodeError as exc:
        raise ManifestError(
            [Problem(source, "", f"not a run record: not JSON ({exc.msg}, line {exc.lineno})")]
        ) from None
    if not isinstance(data, dict):
        raise ManifestError([Problem(source, "", "not a run record: expected a JSON object")])
    if "id" not in data:
        raise ManifestError([Problem(source, "id", "missing: a run record names its run")])
    return load_record(data, source)
