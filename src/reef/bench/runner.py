"""Runs one benchmark job, in this process, and returns its run record.

``prepare`` does everything that can fail because of bad input (opening the model, checking
the manifest against it, loading samples) before anything is measured, so that bad input
raises a ReefError and no run is recorded. ``execute`` then measures and always returns a
record, whose status says how it went.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reef.bench import accuracy as acc
from reef.bench import calibrate, loadgen, logs, mlperf_conf
from reef.bench.checks import check_plugins
from reef.bench.fingerprint import run_fingerprint
from reef.bench.inputs import assumptions
from reef.bench.interference import Sampler, sampling_wanted
from reef.bench.job import BenchJob, backend_settings, preflight
from reef.bench.progress import NullReporter, Reporter, Ticker
from reef.bench.samples import SampleSet, describe, load_dataset, synthetic, with_state
from reef.bench.sut import Predict, SystemUnderTest
from reef.environment.energy import EnergyMeter, with_samples
from reef.errors import InputProblem, SettingsError
from reef.meta.run import Accuracy, Calibration, LoadGenInfo, PredictorInfo, RunRecord
from reef.meta.settings import BenchSettings
from reef.predictors import registry
from reef.predictors.base import Predictor, PredictorOptions, Signature
from reef.predictors.compat import check_framework_version
from reef.predictors.signature import check_signature

if TYPE_CHECKING:
    from reef.bench.audit import Audit
    from reef.bench.tracing import Tracing

# A run that ran out of pre-generated queries is re-run once with larger expectations.
_OUT_OF_QUERIES = ("minimum duration not met", "minimum query count not met")
RETRY_SCALE = 4.0


@dataclass
class Prepared:
    job: BenchJob
    predictor: Predictor
    signature: Signature
    samples: SampleSet
    tracing: Tracing | None = None

    @property
    def predict(self) -> Predict:
        """The predictor's predict, feeding state inputs back (from zeros on each phase)."""
        outputs = [o.name for o in self.signature.outputs]
        return with_state(self.predictor.predict, self.samples, outputs)


def _check_software(job: BenchJob) -> None:
    """Each component's ``requires_software`` against this process's environment: inside a
    provisioned environment, that environment's packages."""
    from reef.environment.fingerprint import ensure_requirements

    for component in (job.manifest, job.dataset):
        if component is not None and component.requires_software:
            ensure_requirements(
                component.requires_software,
                run_fingerprint(),
                component=f"{component.kind} {component.name!r}",
            )


def prepare(job: BenchJob, reporter: Reporter | None = None) -> Prepared:
    reporter = reporter or NullReporter()
    reporter.phase("loading")
    manifest, settings = job.manifest, job.settings
    remote = job.target.kind == "endpoint"  # a served model: its server runs it
    framework = (
        "oip" if remote else job.backend or (manifest.framework.name if manifest else "onnxruntime")
    )
    chosen = backend_settings(job, framework)  # ONNX Runtime's options for another: refused
    predictor = _endpoint(job.target.path) if remote else registry.create(framework)
    file = job.manifest_path or job.model_path
    _check_software(job)
    preflight(job)  # a job from elsewhere is refused here, before the model is opened
    if manifest:
        check_plugins(manifest, file)
        if framework == manifest.framework.name:  # its version is not another backend's
            check_framework_version(manifest, predictor.version(), file)
    tracing = None
    if job.trace.level != "none":
        from reef.bench.tracing import Tracing

        tracing = Tracing(job.trace)
    options = PredictorOptions(
        # Pinned to N cores, N intra-op threads unless told: ONNX Runtime would start one per
        # physical core of the machine, and they would queue for the few allowed.
        threads=settings.threads or (len(settings.cpus) if settings.cpus else None),
        graph_optimization=chosen.graph_optimization,
        providers=chosen.providers,
        provider_options=chosen.provider_options,
        session_config=chosen.session_config,
        inter_op_threads=chosen.inter_op_threads,
        execution_mode=chosen.execution_mode,
        profile_dir=tracing.profile_dir if tracing else None,
    )
    t_open = time.perf_counter_ns()
    try:
        signature = predictor.open(Path(job.model_path), options)
    except BaseException:
        if tracing is not None:
            tracing.discard()
        raise
    t_load = time.perf_counter_ns()
    try:
        if manifest:
            check_signature(manifest, signature, file)
        bounds = _index_bounds(job, signature)
        if manifest and job.dataset and job.dataset_path:
            samples = load_dataset(
                manifest,
                file,
                job.dataset,
                Path(job.dataset_path),
                signature,
                settings.sample_count,
                sources_dir=next(
                    (Path(c.path).parent for c in job.components if c.kind == "dataset" and c.path),
                    None,
                ),
                index_bounds=bounds,
            )
        else:
            samples = synthetic(
                signature,
                job.shapes,
                settings.sample_count,
                settings.seed or 0,  # synthetic data: seed 0 unless --seed
                specs=manifest.inputs if manifest else None,
                file=file,
                index_bounds=bounds,
            )
        for line in assumptions(samples.plans):
            reporter.note(f"input {line}")
        _check_batching(settings, samples)
        if samples.synthetic:
            outputs = [o.name for o in signature.outputs]
            probe(with_state(predictor.predict, samples, outputs), samples, file)
        if tracing is not None:
            tracing.recorder.span("open model", "reef", t_open, t_load)
            tracing.recorder.span(
                "load samples (pre-processing)", "reef", t_load, time.perf_counter_ns()
            )
            tracing.attach(predictor, reporter)
    except BaseException:
        if tracing is not None:
            tracing.discard()
        predictor.close()
        raise
    return Prepared(job, predictor, signature, samples, tracing)


def _endpoint(url: str) -> Predictor:
    from reef.predictors.oip import OipPredictor

    return OipPredictor(url)


def _index_bounds(job: BenchJob, signature: Signature) -> dict[str, int]:
    """What each integer input indexes, read from an ONNX file's graph (other formats: none)."""
    if job.target.kind == "endpoint" or Path(job.model_path).suffix.lower() != ".onnx":
        return {}
    from reef.predictors.onnx_graph import index_bounds

    integers = [t.name for t in signature.inputs if t.element_type.startswith(("int", "uint"))]
    return index_bounds(Path(job.model_path), integers)


def probe(predict: Predict, samples: SampleSet, file: str) -> None:
    """One call with the first sample, before anything is measured: a model that refuses
    Reef's synthetic data has an input problem (exit 2, nothing recorded), not a failed run."""
    from reef.bench.inputs import describe_plans

    try:
        predict(samples.single_feeds()[0])
    except Exception as exc:
        reason = " ".join(str(exc).split())[:400] or type(exc).__name__
        raise InputProblem(
            f"{file}: the model failed on the synthetic inputs Reef made for it: {reason}",
            hint=f"Reef fed {describe_plans(samples.plans)}. Describe the inputs in a model "
            "manifest (batch_axis, value, range, state; `reef new model NAME --from FILE` "
            "writes one), or give --shape",
        ) from exc


def _check_batching(settings: BenchSettings, samples: SampleSet) -> None:
    from reef.bench.job import footprint_problem, raise_footprint

    fixed, batch_size = samples.fixed_batch, settings.batch_size
    if not samples.batchable and batch_size != 1:
        raise SettingsError(
            f"--batch-size {batch_size}: the model has no batch dimension, so each call "
            "takes one sample as its inputs are declared",
            hint="leave --batch-size out; or say which axis of each input holds the batch "
            "(batch_axis in the model manifest's inputs)",
        )
    if fixed is not None and batch_size not in (1, fixed):
        raise SettingsError(
            f"--batch-size {batch_size}: the model's batch dimension is fixed at {fixed}",
            hint=f"use --batch-size {fixed}, or export the model with a dynamic batch dimension",
        )
    # The samples are loaded (and fitted); the warm-up's batches come on top of them.
    sample_bytes = sum(a.nbytes for a in samples.inputs.values()) // max(samples.count, 1)
    names = ", ".join(repr(name) for name in samples.inputs)
    what = f"input {names}" if len(samples.inputs) == 1 else f"inputs {names}"
    raise_footprint(
        footprint_problem(sample_bytes, samples.count, fixed, settings, what, loaded=True)
    )


def execute(prepared: Prepared, reporter: Reporter | None = None) -> RunRecord:
    reporter = reporter or NullReporter()
    job, predictor, samples = prepared.job, prepared.predictor, prepared.samples
    settings = job.settings
    record = RunRecord(
        id=job.run_id,
        target=job.target,
        components=job.components,
        settings=settings,
        environment=run_fingerprint(),
        predictor=PredictorInfo(
            name=predictor.name, version=predictor.version(), **predictor.info()
        ),
        loadgen=LoadGenInfo(version=loadgen.version(), log_dir=job.run_dir),
    )
    record.samples = describe(samples)
    try:
        _measure(prepared, record, reporter)
    except Exception as exc:
        record.status = "failed"
        record.reasons.append(f"{type(exc).__name__}: {exc}")
        record.artifacts["traceback"] = "".join(traceback.format_exception(exc))
    finally:
        if prepared.tracing is not None:
            record.trace = prepared.tracing.finish(Path(job.run_dir), job.run_id)
            if record.trace.path:
                record.artifacts["trace"] = record.trace.path
        predictor.close()
        record.finished_at = datetime.now(UTC)
    return record


def _measure(prepared: Prepared, record: RunRecord, reporter: Reporter) -> None:
    job, samples, settings = prepared.job, prepared.samples, prepared.job.settings
    lg_info = record.loadgen
    assert lg_info is not None
    run_dir = Path(job.run_dir)
    # The MLPerf configs used, kept with the run (reef.bench.mlperf_conf).
    lg_info.mlperf_model = settings.mlperf_model
    record.artifacts.update(
        mlperf_conf.keep(mlperf_conf.load(settings, lg_info.mlperf_model or ""), run_dir)
    )
    tracing = prepared.tracing
    if tracing is not None:
        tracing.start()
    reporter.phase("warm-up", queries=settings.warmup_queries)
    with _phase(tracing, "warm-up"):
        predict = prepared.predict
        cal = calibrate.warm_up(
            tracing.recorder.timed(predict) if tracing else predict, samples, settings
        )
    lg_info.calibration = cal
    keep_raw, raw_note = _keep_raw_latencies(settings, cal)
    if raw_note:
        reporter.note(raw_note)

    if settings.mode in ("performance", "both"):
        _pilot(prepared, record, cal, reporter)
        scale = 1.0
        for attempt in range(2):
            exp = calibrate.expectations(settings, cal, scale)
            # Before the notes: a --compliant run's latency bound is mlperf.conf's, not the
            # calibrated one the expectations note.
            loadgen.settle(settings, exp)
            cal.derived.update({k: float(v) for k, v in exp.values.items()})
            cal.derived["min_duration_ms"] = exp.min_duration_ms
            for note in exp.notes:
                reporter.note(note)
            sampler = Sampler() if sampling_wanted() else None
            meter = EnergyMeter()  # finds the counters now, not in the measured phase
            with _phase(tracing, "performance" if attempt == 0 else "performance (retry)"):
                if sampler is not None:
                    sampler.start()
                meter.start()
                try:
                    run = _run(
                        prepared, exp, "performance", run_dir / "performance", reporter, keep_raw
                    )
                finally:
                    record.energy = meter.stop()
                    if sampler is not None:
                        record.interference = sampler.stop()
            detail = logs.read_detail(run.log_dir / "mlperf_log_detail.txt")
            result, reasons = logs.verdict(detail)
            retry = _retry_because(reasons, settings) if result == "INVALID" else None
            if attempt == 0 and retry:
                if not _resize_offline(settings, detail, cal, exp.min_duration_ms):
                    scale *= RETRY_SCALE
                cal.derived["retries"] = 1
                reporter.note(f"{retry}; re-running once with adjusted expectations")
                continue
            break
        lg_info.result = "VALID" if result == "VALID" else "INVALID" if result else None
        lg_info.reasons = reasons
        lg_info.effective = logs.effective_settings(detail)
        lg_info.config = exp.config
        lg_info.errors = detail.errors
        lg_info.warnings = detail.warnings + exp.notes + ([raw_note] if raw_note else [])
        record.performance = logs.performance(detail, settings.scenario)
        if record.energy is not None:
            perf = record.performance
            with_samples(record.energy, perf.samples if perf is not None else None)
        if record.interference is not None and record.performance is not None:
            switches = record.interference.involuntary_switches
            if switches is not None and record.performance.queries:
                per_1k = switches * 1000 / record.performance.queries
                record.interference.switches_per_1k_queries = round(per_1k, 2)
        record.latencies_ns = run.latencies_ns if keep_raw else None
        record.artifacts["loadgen_performance"] = str(run.log_dir)
        if run.error is not None:
            raise run.error
        if result == "INVALID":
            record.reasons.extend(reasons)
        elif result is None or record.performance is None:
            # No verdict or no figures in LoadGen's log (it could not write it: a full disk):
            # a run nobody can judge is not valid.
            record.reasons.append(
                f"LoadGen's log {run.log_dir / 'mlperf_log_detail.txt'} holds no "
                f"{'verdict' if result is None else 'latency figures'} (was the disk full?)"
            )

    if settings.mode in ("accuracy", "both"):
        with _phase(tracing, "accuracy"):
            record.accuracy = _accuracy(prepared, record, cal, reporter)
        if record.accuracy.passed is False:
            record.reasons.append(
                f"accuracy {record.accuracy.metric} {record.accuracy.value:.4f} is below "
                f"{record.accuracy.threshold:.0%} of the reference {record.accuracy.reference}"
            )
    if settings.audits:  # MLPerf compliance audits, against the runs above (reef.bench.audit)
        from reef.bench import audit

        def run_audit(mode: str, log_dir: Path, what: Audit | None) -> loadgen.TestRun:
            return _run(prepared, exp, mode, log_dir, reporter, False, what)

        with _phase(tracing, "audits"):
            audit.run_audits(record, exp, samples.count, run_audit, reporter)
    record.status = "invalid" if record.reasons else "valid"


def _pilot(prepared: Prepared, record: RunRecord, cal: Calibration, reporter: Reporter) -> None:
    """A long Offline run's pilot (``calibrate.pilot_ms``): a short LoadGen performance run
    whose samples per second size the run (``cal.derived["pilot_qps"]``); its logs are kept
    in RUN/pilot/."""
    settings = prepared.job.settings
    exp = calibrate.expectations(settings, cal)
    loadgen.settle(settings, exp)
    duration_ms = calibrate.pilot_ms(settings, exp)
    if duration_ms is None:
        return
    log_dir = Path(prepared.job.run_dir) / "pilot"
    with _phase(prepared.tracing, "pilot"):
        run = _run(
            prepared, exp, "performance", log_dir, reporter, False, min_duration_ms=duration_ms
        )
    if run.error is not None:
        raise run.error
    record.artifacts["loadgen_pilot"] = str(run.log_dir)
    detail = logs.read_detail(run.log_dir / "mlperf_log_detail.txt")
    try:
        qps = float(detail.values["result_samples_per_second"])
    except (KeyError, TypeError, ValueError):
        qps = 0.0
    if qps <= 0:
        reporter.note(
            "the pilot run logged no samples per second: the run is sized from the warm-up"
        )
        return
    cal.derived["pilot_qps"] = qps
    cal.derived["pilot_min_duration_ms"] = duration_ms


# A run that ended early sizes its retry from its own figure only when it lasted this share
# of its minimum duration: one over in milliseconds measured start-up more than the model.
RESIZE_MIN_SHARE = 0.25


def _resize_offline(
    settings: BenchSettings, detail: logs.Detail, cal: Calibration, min_duration_ms: int
) -> bool:
    """An Offline run that ended before its minimum duration measured the model's samples per
    second itself: the retry is sized from that figure (``retry_qps``) as from a pilot's,
    rather than asking for RETRY_SCALE times the samples (at MLPerf's 600 s, 40 minutes more).
    False when it logged no such figure, or ran too short a time for one."""
    if settings.scenario != "Offline":
        return False
    try:
        qps = float(detail.values["result_samples_per_second"])
        samples = float(detail.values["generated_samples_per_query"])
    except (KeyError, TypeError, ValueError):
        return False
    if qps <= 0 or samples <= 0:
        return False
    lasted_ms = samples / qps * 1000
    if lasted_ms < RESIZE_MIN_SHARE * min_duration_ms:
        return False
    cal.derived["retry_qps"] = qps
    cal.derived["retry_sized_from_ms"] = round(lasted_ms)
    return True


def _phase(tracing: Tracing | None, name: str) -> contextlib.AbstractContextManager[None]:
    return tracing.recorder.phase(name) if tracing is not None else contextlib.nullcontext()


RAW_LATENCY_MIN_MS = 0.1


def _keep_raw_latencies(settings: BenchSettings, cal: Calibration) -> tuple[bool, str | None]:
    """Whether to time each query, and why not when the default says no."""
    if settings.raw_latencies is not None:
        return settings.raw_latencies, None
    p50 = cal.latency_p50_ms or 0.0
    if settings.scenario == "SingleStream" and p50 < RAW_LATENCY_MIN_MS:
        return False, (
            f"raw per-query latencies not kept: the model answers in {p50 * 1000:.0f} us and "
            "timing each query would add about 1-2 us to it; --raw-latencies keeps them"
        )
    return True, None


def _retry_because(reasons: list[str], settings: BenchSettings) -> str | None:
    """Why a calibrated expectation, not the model, made the run invalid; None otherwise."""
    if "latency constraint not met" in reasons:
        if settings.scenario == "Server" and settings.target_qps is None:
            return "the calibrated Server load missed the latency bound"
        return None
    if (
        settings.scenario == "Server"
        and settings.target_qps is None
        and "early stopping criteria not met" in reasons
        and not any(r in _OUT_OF_QUERIES for r in reasons)
    ):
        # The p99 stayed under the bound but too many queries went over it for LoadGen's
        # early stopping to confirm it at this query count: a burst of queueing on a busy
        # machine does it. Like a missed bound, that says the calibrated load was too high.
        return "too many queries of the calibrated Server load went over the latency bound"
    if (
        any(r in _OUT_OF_QUERIES for r in reasons)
        and "early stopping criteria not met" not in reasons
    ):
        return "LoadGen ran out of pre-generated queries"
    return None


def _logged_as_argmax(prepared: Prepared) -> frozenset[int]:
    """The positions of the outputs whose manifest says to log their argmax."""
    manifest = prepared.job.manifest
    if manifest is None:
        return frozenset()
    reduced = {o.name for o in manifest.outputs if o.log == "argmax"}
    names = [t.name for t in prepared.signature.outputs]
    return frozenset(i for i, name in enumerate(names) if name in reduced)


def _run(
    prepared: Prepared,
    exp: calibrate.Expectations,
    mode: str,
    log_dir: Path,
    reporter: Reporter,
    raw_latencies: bool = True,
    audit: Audit | None = None,
    min_duration_ms: int | None = None,
) -> loadgen.TestRun:
    """One LoadGen run; ``min_duration_ms``: a pilot's, over the settings'."""
    settings, samples = prepared.job.settings, prepared.samples
    sut = SystemUnderTest(
        prepared.predict,
        samples,
        settings.scenario,
        settings.batch_size,
        accuracy=mode == "accuracy" or (audit is not None and audit.outputs),
        raw_latencies=raw_latencies,
        log_argmax=_logged_as_argmax(prepared),
        tracer=prepared.tracing.recorder if prepared.tracing else None,
    )
    ts = loadgen.test_settings(settings, exp, mode)
    if min_duration_ms is not None:
        # A pilot measures the rate only: no minimum count (--compliant's 24,576 samples for
        # resnet would make it as long as the run) and no cap.
        ts.min_duration_ms = min_duration_ms
        ts.min_query_count = 1
        ts.max_query_count = 0
        reporter.phase("pilot", seconds=min_duration_ms / 1000)
    elif audit is not None:
        reporter.phase(f"audit {audit.test}", seconds=exp.min_duration_ms / 1000)
    elif mode == "performance":
        reporter.phase("performance", seconds=exp.min_duration_ms / 1000)
    else:
        reporter.phase("accuracy", queries=samples.count)
    with Ticker(reporter, lambda: len(sut.latencies)):
        return loadgen.run_test(sut, samples, ts, log_dir, audit.config if audit else None)


def _accuracy(
    prepared: Prepared, record: RunRecord, cal: Calibration, reporter: Reporter
) -> Accuracy:
    job, samples = prepared.job, prepared.samples
    if job.manifest is None:
        return acc.not_applicable(acc.NOT_APPLICABLE_NO_MANIFEST)
    if job.manifest.accuracy is None:
        return acc.not_applicable("not applicable: the manifest declares no accuracy metric")
    if samples.labels is None:
        return acc.not_applicable("not applicable: no dataset with labels")
    exp = calibrate.expectations(job.settings, cal)
    run = _run(prepared, exp, "accuracy", Path(job.run_dir) / "accuracy", reporter)
    assert record.loadgen is not None
    record.loadgen.config = record.loadgen.config or exp.config  # --mode accuracy
    if run.error is not None:
        raise run.error
    record.artifacts["loadgen_accuracy"] = str(run.log_dir)
    names = [t.name for t in prepared.signature.outputs]
    return acc.evaluate(
        run.log_dir / "mlperf_log_accuracy.json", job.manifest, samples.labels, names
    )


def run_job(job: BenchJob, reporter: Reporter | None = None) -> RunRecord:
    """Prepare and execute in this process."""
    return execute(prepare(job, reporter), reporter)
