"""The bench session: jobs in, stored records out.

``run`` is the one way Reef benchmarks and stores: the CLI (through ``reef.api``), the
solutions' bench steps, ``reef reproduce`` and, later, the server and cluster agents call it.
Each job runs in a worker (or in this process), and its record is saved where it survives
whatever happens next: the record's JSON first, atomically, then the database. Ctrl-C or
SIGTERM records the run in progress as ``interrupted`` and raises ``Interrupted``; a signal
that comes while a record is saved waits until it is safe.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef import config
from reef.bench.progress import NullReporter, Reporter
from reef.errors import Interrupted, Terminated
from reef.meta.run import RunRecord, Status

if TYPE_CHECKING:
    from reef.bench.job import BenchJob, PredictorSettings, TraceSettings
    from reef.bench.target import ResolvedTarget
    from reef.environment.provision import Provisioned
    from reef.meta.settings import BenchSettings
    from reef.results import Store

    # A job built already, or a resolved target and the settings to build one with.
    Job = BenchJob | tuple[ResolvedTarget, BenchSettings]

Annotate = Callable[[RunRecord], None]


@contextlib.contextmanager
def open_store(wanted: bool = True) -> Iterator[Store | None]:
    """The store records are saved in, refused now unless it can be written (not after
    minutes of benchmarking); None when nothing is to be stored."""
    if not wanted:
        yield None
        return
    from reef.results import Store

    with Store() as db:
        db.require_writable()
        yield db


def run(
    jobs: Iterable[Job],
    store: Store | None,
    reporter: Reporter | None = None,
    *,
    in_process: bool = False,
    shapes: dict[str, list[int]] | None = None,
    predictor: PredictorSettings | None = None,
    trace: TraceSettings | None = None,
    annotate: Annotate | None = None,
    backend: str | None = None,
) -> list[RunRecord]:
    """Run each job and save its record in ``store`` (None: nothing is stored).

    A job is a ``BenchJob``, or a resolved target and the settings to make one of, with
    ``shapes``, ``predictor`` and ``backend`` (None: the manifest's framework or the file's
    suffix's); each is made just before it runs. ``trace`` replaces each
    job's trace settings, and ``annotate(record)`` adds to each record before it is saved.
    """
    from reef.bench.job import BenchJob
    from reef.bench.target import job_for

    reporter = reporter or NullReporter()
    records: list[RunRecord] = []
    for item in jobs:
        if isinstance(item, BenchJob):
            job, resolved = item, None
        else:
            resolved, settings = item
            job = job_for(resolved, settings, shapes=shapes, predictor=predictor, backend=backend)
        if trace is not None:
            job.trace = trace
        provisioned = resolved.provisioned if resolved is not None else None

        def decorate(record: RunRecord, resolved: ResolvedTarget | None = resolved) -> None:
            if resolved is not None and resolved.lock is not None:
                lock = resolved.lock
                if resolved.provisioned is not None and lock.environment is None:
                    # What the environment held, so that `reef reproduce` rebuilds it.
                    lock = lock.model_copy(update={"environment": resolved.provisioned.locked()})
                record.lock = lock.model_dump(mode="json")
            if annotate is not None:
                annotate(record)

        records.append(_bench_one(job, in_process, reporter, store, provisioned, decorate))
    return records


def _bench_one(
    job: BenchJob,
    in_process: bool,
    reporter: Reporter,
    db: Store | None,
    provisioned: Provisioned | None = None,
    decorate: Annotate | None = None,
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
        with signals_held():
            if db is not None:
                save(db, record, reporter)
            saved = True
        return record
    except (KeyboardInterrupt, Terminated) as exc:
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        if not saved:
            # Describing the machine takes a moment (detectors run); a second signal
            # meanwhile must not lose the record of the first.
            with signals_held():
                if record is None:
                    reasons = [f"interrupted by {name}"]
                    record = _partial_record(job, "interrupted", reasons, started, provisioned)
                    if decorate is not None:
                        decorate(record)
                if db is not None:
                    save(db, record, reporter)
        assert record is not None  # saved, or made just above
        if db is None:
            raise Interrupted(name) from exc
        if record.status == "interrupted":
            raise Interrupted(name, [record.id]) from exc
        # The run had finished when the signal came: it was stored as valid (or invalid,
        # failed), and the message must not call it interrupted.
        raise Interrupted(name, finished={record.id: record.status}) from exc


def _run_job(
    job: BenchJob, in_process: bool, reporter: Reporter, provisioned: Provisioned | None = None
) -> RunRecord:
    """Run ``job`` here or in a worker; in the provisioned environment's interpreter when the
    target has one, which the record then names under ``environment.provisioned``. With
    ``settings.repeat`` N, in N workers one after another (``reef.bench.repeat``)."""
    settings = job.settings
    if in_process and (settings.repeat > 1 or settings.cpus is not None):
        from reef.bench.settings import worker_only

        raise worker_only("--repeat" if settings.repeat > 1 else "--cpus")
    if settings.repeat > 1:
        from reef.bench.launch import WorkerCrashed
        from reef.bench.repeat import run_repeated

        def crashed(one: BenchJob, exc: Exception) -> RunRecord | None:
            if not isinstance(exc, WorkerCrashed):
                return None
            from datetime import UTC, datetime

            record = _partial_record(one, "failed", [exc.message], datetime.now(UTC), provisioned)
            record.artifacts["worker_stderr"] = exc.stderr_tail
            return record

        return run_repeated(
            job, reporter, lambda one: _run_job(one, False, reporter, provisioned), crashed
        )
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
    job: BenchJob,
    status: Status,
    reasons: list[str],
    started: Any,
    provisioned: Provisioned | None = None,
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


# --- saving --------------------------------------------------------------------------------


def unsaved_dir() -> Path:
    """Where a record goes when its run's folder cannot take it (a full ``REEF_HOME``): a
    folder of run folders, one per user, in the system's temporary folder, which
    ``reef runs import`` reads."""
    import os
    import tempfile

    return Path(tempfile.gettempdir()) / f"reef-unsaved-runs-{os.getuid()}"


def save(db: Store, record: RunRecord, reporter: Reporter | None = None) -> None:
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

    with signals_held():
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
    from reef.results.imports import RECORD_FILE

    failures: list[str] = []
    for fallback in (False, True):
        path: Path | None = None
        try:
            if fallback:
                folder = _private_dir(unsaved_dir()) / run_id
            else:
                folder = config.runs_dir() / run_id
            path = folder / RECORD_FILE
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
def signals_held() -> Iterator[None]:
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
