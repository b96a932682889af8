"""``reef reproduce RUN_ID``: run a recorded benchmark again from its record and lock alone,
then say whether the result was reproduced (``reef.solutions.reproduce`` judges)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from reef.bench.progress import NullReporter, Reporter
from reef.errors import ReefError, SettingsError, SolutionError
from reef.meta.lock import Lock
from reef.meta.run import RunRecord
from reef.solutions.reproduce import Reproduction

if TYPE_CHECKING:
    from collections.abc import Callable

    from reef.bench.job import PredictorSettings
    from reef.meta.settings import BenchSettings

# Worker processes a reproduction measures by default: enough for the process to be the unit
# of the latency verdict (benchmarks/verdicts.py calibrates it).
REPEAT = 5


class CannotReproduce(SolutionError):
    """The run cannot be run again as recorded (exit 2): nothing was measured."""


class ReproduceReport(Reproduction):
    """The verdict of ``reproduce``, with the environment rebuilt from the lock (None when
    the run had none) and both runs' records."""

    environment_rebuilt: dict[str, Any] | None = None
    original_record: RunRecord = Field(exclude=True)
    reproduction_record: RunRecord = Field(exclude=True)

    @property
    def result(self) -> Reproduction:
        """The verdict (the report is one, with more)."""
        return self


def reproduce(
    run_id: str,
    *,
    reporter: Reporter | None = None,
    in_process: bool = False,
    progress: Any = None,
    alpha: float = 0.05,
    latency_tolerance: float = 0.05,
    repeat: int | None = None,
) -> ReproduceReport:
    """Rebuild the run's environment from its lock, fetch the same checksummed components,
    run the same settings in ``repeat`` worker processes, and compare
    (``reef.solutions.reproduce.compare``). ``repeat`` None: as many as the original run had
    when that was several, else ``REPEAT`` (one ``--in-process``)."""
    from reef.bench import session
    from reef.bench.settings import worker_only
    from reef.bench.target import locked_model
    from reef.components.index import catalog
    from reef.components.lockfile import LockMismatch, locate, write_lock
    from reef.meta.settings import MAX_REPEAT
    from reef.results import Store
    from reef.solutions.init import init
    from reef.solutions.reproduce import accuracy_tolerance, compare

    if repeat is not None and not 1 <= repeat <= MAX_REPEAT:
        raise SettingsError(f"--repeat {repeat}: must be 1 to {MAX_REPEAT} processes")
    if repeat is not None and repeat > 1 and in_process:
        raise worker_only("--repeat")
    say = progress or (lambda _message: None)
    with Store() as store:
        original = store.get(run_id, with_latencies=True)
    if original.imported is not None:
        raise CannotReproduce(
            f"run {original.id[:12]} was imported from an MLPerf submission tree "
            f"({original.imported.path}): it was not measured here, and Reef holds no model "
            "to run again",
            hint="benchmark the model with reef bench, then reef compare the two runs",
        )
    if original.lock is None:
        raise CannotReproduce(
            f"run {original.id[:12]} kept no lock: it measured {original.target.path} "
            f"({original.target.kind}), not a component, a lock or a solution",
            hint="benchmark a component, a reef.lock or a solution to get a reproducible run",
        )
    lock = Lock.model_validate(original.lock)
    entries = catalog()
    missing = []
    for c in lock.components:
        try:
            locate(c, entries)
        except LockMismatch as exc:
            missing.append(exc.message)
    if missing:
        raise CannotReproduce(
            f"run {original.id[:12]} cannot be reproduced here: " + "; ".join(missing),
            hint="add the repository the components came from (`reef repo add`) or install "
            "the pack that holds them",
        )
    if original.target.name not in {c.name for c in lock.components}:
        raise CannotReproduce(f"run {original.id[:12]}: its lock holds no {original.target.name!r}")
    rebuilt = None
    if lock.environment is not None:
        say(f"rebuilding the environment ({len(lock.environment.packages)} pinned packages)")
        with tempfile.TemporaryDirectory(prefix="reef-reproduce-") as tmp:
            lock_path = Path(tmp) / "reef.lock"
            write_lock(lock, lock_path)
            report = init(str(lock_path), output=lock_path, progress=say)
        assert report.provisioned is not None
        rebuilt = report.provisioned.model_dump(mode="json")
    else:
        from reef.components.fetch import fetch_lock

        fetch_lock(lock)
    where = f"run {original.id[:12]}"
    resolved = locked_model(lock, original.target.name, where, kind=original.target.kind)
    solution = original.solution.model_copy(update={"run": None}) if original.solution else None

    def annotate(record: RunRecord) -> None:
        record.reproduces = original.id
        record.solution = solution

    had = original.settings.repeat
    processes = repeat or (1 if in_process else had if had > 1 else REPEAT)
    settings = original.settings.model_copy(update={"repeat": processes})
    if processes > 1 and settings.mode == "accuracy":
        settings = settings.model_copy(update={"repeat": 1})
    settings = _kept_configs(original, settings, say)
    if in_process and settings.cpus is not None:
        say(f"--in-process: the original's pinning to cores {settings.cpus} is not applied")
        settings = settings.model_copy(update={"cpus": None})
    shown = f" in {settings.repeat} processes" if settings.repeat > 1 else ""
    say(f"running {original.target.name} {original.scenario} with the recorded settings{shown}")
    backend, predictor = recorded_predictor(original)
    with session.open_store() as db:
        (new,) = session.run(
            [(resolved, settings)],
            db,
            reporter or NullReporter(),
            in_process=in_process,
            annotate=annotate,
            predictor=predictor,
            backend=backend,
        )
    with Store() as store:
        new = store.get(new.id, with_latencies=True)
    result = compare(
        original,
        new,
        tolerance=accuracy_tolerance(original, _check_fraction(original)),
        alpha=alpha,
        latency_tolerance=latency_tolerance,
    )
    return ReproduceReport(
        **dict(result),
        environment_rebuilt=rebuilt,
        original_record=original,
        reproduction_record=new,
    )


def recorded_predictor(record: RunRecord) -> tuple[str | None, PredictorSettings | None]:
    """The backend and its options as the run record keeps them, to run them again: another
    backend than the manifest's, a graph optimisation level, ONNX Runtime's session config
    entries, provider options, inter-op threads and execution mode."""
    from reef.bench.job import PredictorSettings

    info = record.predictor
    if info is None:
        return None, None
    if info.name != "onnxruntime":
        return info.name, None
    options = info.options or {}
    settings = PredictorSettings(
        graph_optimization=options.get("graph_optimization", "all"),
        providers=list(info.providers) or None,
        provider_options=options.get("provider_options") or {},
        session_config=options.get("session_config") or {},
        inter_op_threads=options.get("inter_op_threads"),
        execution_mode=options.get("execution_mode"),
    )
    return info.name, settings


def _check_fraction(record: RunRecord) -> float | None:
    """The fraction a solution's accuracy check demands, when the run came from one."""
    if record.solution is None:
        return None
    from reef.solutions.validate import applies, solution_of_record

    try:
        manifest, _ = solution_of_record(record)
    except ReefError:
        return None
    for check in manifest.checks:
        if check.uses == "accuracy" and "fraction" in check.with_ and applies(check.with_, record):
            return float(check.with_["fraction"])
    return None


def _kept_configs(
    original: RunRecord, settings: BenchSettings, say: Callable[[str], None]
) -> BenchSettings:
    """The settings with the MLPerf configs the original run kept in its folder
    (``RUN/mlperf/``) in place of the paths it was given: the file there is the text the run
    read, where the one at the path may have changed or be gone since."""
    update = {}
    for field, artifact in (("user_conf", "user_conf"), ("mlperf_conf", "mlperf_conf")):
        given = getattr(settings, field)
        kept = original.artifacts.get(artifact)
        if given is not None and kept is not None and Path(kept).is_file():
            update[field] = kept
            say(f"--{field.replace('_', '-')}: the copy the run kept, {kept}")
    return settings.model_copy(update=update) if update else settings
