"""MLPerf's compliance audits, run with a benchmark: ``reef bench --audit TEST01``.

An audit is one more LoadGen performance run, made in the same worker after the run's own
performance and accuracy runs, which are its references. LoadGen reads an audit config file
over the run's test settings (``StartTest``'s ``audit_config_filename``; lines
``model.scenario.key = value``, read with the model ``*``). The audit is then verified
against the references as MLPerf's compliance README for the test prescribes, and what a
submission's ``compliance/TESTxx`` folder holds is written under the run's folder::

    RUN/compliance/TEST01/
        audit.config                      the config LoadGen read
        verify_accuracy.txt               a line "TEST PASS", or "TEST FAIL: why"
        verify_performance.txt            the same
        performance/run_1/                the audit run's LoadGen logs
        accuracy/mlperf_log_accuracy.json the answers it logged (TEST01)

TEST01, accuracy in performance mode. LoadGen logs the answers of a random subset of the
performance run's samples (about ``accuracy_log_sampling_target`` of them: MLCommons' value
for an MLPerf benchmark, ``--mlperf-model resnet50``, a tenth otherwise); each must equal
the accuracy run's answer for the same sample, byte for byte (Reef's system under test logs
what accuracy mode logs, the same way), and the audit's figure must be within 10% of the
reference performance run's (20% for SingleStream and MultiStream latencies of at most 0.2
and 1.6 ms). The figure is the Offline and Server throughput, and the early-stopping latency
estimate in SingleStream and MultiStream. A model whose run made no accuracy run (no dataset
with labels, no accuracy metric) gets one, for the reference log.

TEST04, no caching of results. Every query carries the same sample
(``performance_issue_same``); that run must not be more than 10% faster than the
unique-sample reference (20% in SingleStream and MultiStream at up to 200,000 and 1,600,000
queries per second), speed being throughput or the inverse of the early-stopping latency.

TEST06 checks an LLM's token outputs (the first token, at most one end-of-sequence token,
the token count). Reef's model manifests have no token output type (``outputs[].type``:
probability, logits, classes, regression, raw), so no model can take it yet: it is refused
before anything runs.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from reef.bench import logs
from reef.errors import SettingsError
from reef.meta.model import OutputType
from reef.meta.run import AuditCheck, AuditResult

if TYPE_CHECKING:
    from reef.bench.calibrate import Expectations
    from reef.bench.job import BenchJob
    from reef.bench.loadgen import TestRun
    from reef.bench.progress import Reporter
    from reef.meta.model import ModelManifest
    from reef.meta.run import RunRecord

# MLPerf's own TEST01 seed for choosing the samples whose answers are logged.
TEST01_LOG_SEED = 720381539243781796
# TEST01's accuracy_log_sampling_target for each MLPerf benchmark, by its key in mlperf.conf
# (--mlperf-model): the value in the benchmark's audit.config under MLCommons' compliance/TEST01,
# chosen there from its performance sample count and the size of its answers.
OFFICIAL_SAMPLING_TARGETS = {
    "3d-unet": 64,
    "bert": 4096,
    "dlrm": 4096,
    "dlrm-v2": 4096,
    "gptj": 4096,
    "pointpainting": 256,
    "resnet50": 4096,
    "retinanet": 256,
    "rgat": 4096,
    "rnnt": 4096,
    "stable-diffusion-xl": 128,
    "whisper": 4096,
    "yolo": 64,
}
# Any other model logs about this fraction of the samples a run is expected to complete, and
# at least this many (all of them when fewer are expected).
SAMPLING_FRACTION = 0.1
MIN_SAMPLING_TARGET = 16
# TEST04 issues this sample (MLPerf's index) for every query; a smaller set, its last one.
SAME_SAMPLE_INDEX = 3

# The output types that hold tokens: none in Reef's manifests yet. Read from the schema, so
# that TEST06 is no longer refused here the day one is added.
TOKEN_OUTPUT_TYPES = frozenset(t for t in get_args(OutputType) if "token" in t)

COMPLIANCE_DIR = "compliance"
LOG_DIR = Path("performance") / "run_1"
PASS = "TEST PASS"


@dataclass(frozen=True)
class Audit:
    """What the runner needs to run one audit: its config file and whether the system under
    test returns its answers (TEST01: LoadGen logs some of them)."""

    test: str
    config: Path
    outputs: bool


# The runner's LoadGen run: (mode, log folder, audit or None) -> the run.
RunLoadGen = Callable[[str, Path, Audit | None], "TestRun"]


@dataclass
class Verdict:
    """A verification's check and the lines of its verify_*.txt file."""

    check: AuditCheck
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        status = PASS if self.check.passed else f"TEST FAIL: {self.check.detail}"
        return "\n".join([*self.lines, status]) + "\n"


# --- which audits apply ----------------------------------------------------------------------


def token_outputs(manifest: ModelManifest | None) -> list[str]:
    """The outputs a manifest declares as tokens (none without a manifest)."""
    if manifest is None:
        return []
    return [o.name for o in manifest.outputs if o.type in TOKEN_OUTPUT_TYPES]


def check_applicable(job: BenchJob) -> None:
    """Refuse an audit the job's model cannot take, before anything runs: TEST06 without
    token outputs."""
    if "TEST06" not in job.settings.audits:
        return
    if token_outputs(job.manifest):
        raise SettingsError(
            "--audit TEST06: this Reef cannot run TEST06's token checks yet",
            hint="leave out --audit TEST06",
        )
    if job.manifest is None:
        declared = "a bare model file declares no outputs"
    else:
        outputs = ", ".join(f"{o.name!r} ({o.type})" for o in job.manifest.outputs)
        declared = f"{job.manifest.name}'s outputs are {outputs or 'none'}"
    kinds = (
        f"token output types: {', '.join(sorted(TOKEN_OUTPUT_TYPES))}"
        if TOKEN_OUTPUT_TYPES
        else "Reef's model manifests have no token output type yet (outputs[].type: "
        f"{', '.join(get_args(OutputType))})"
    )
    raise SettingsError(
        "--audit TEST06 checks an LLM's token outputs (first token, end-of-sequence tokens, "
        f"token counts) and applies only to a model with token outputs: {declared}; {kinds}",
        hint="leave out --audit TEST06; TEST01 and TEST04 apply to any model",
    )


# --- the config LoadGen reads ----------------------------------------------------------------


def expected_samples(ts: Any, scenario: str) -> int:
    """How many samples LoadGen expects a performance run with test settings ``ts`` to
    complete: its rate over the minimum duration, at least the minimum query count."""
    spq = 1
    if scenario == "Offline":
        qps = float(ts.offline_expected_qps)
    elif scenario == "Server":
        qps = float(ts.server_target_qps)
    elif scenario == "MultiStream":
        spq = int(ts.multi_stream_samples_per_query)
        qps = 1e9 / max(float(ts.multi_stream_expected_latency_ns), 1.0)
    else:
        qps = 1e9 / max(float(ts.single_stream_expected_latency_ns), 1.0)
    expected = qps * float(ts.min_duration_ms) / 1000 * spq
    return max(int(expected), int(ts.min_query_count) * spq, 1)


def sampling_target(expected: int, model: str | None = None) -> tuple[int, str]:
    """TEST01's ``accuracy_log_sampling_target`` and where it comes from: MLCommons' value
    for an MLPerf benchmark's key, otherwise a fraction of the samples expected."""
    if model in OFFICIAL_SAMPLING_TARGETS:
        return OFFICIAL_SAMPLING_TARGETS[model], f"MLCommons' TEST01 value for {model}"
    target = max(MIN_SAMPLING_TARGET, math.ceil(expected * SAMPLING_FRACTION))
    return target, (
        f"Reef's: {SAMPLING_FRACTION:.0%} of the {expected} samples expected, at least "
        f"{MIN_SAMPLING_TARGET} ({model or 'this model'} has no MLCommons TEST01 value)"
    )


def config_text(
    test: str, scenario: str, *, expected: int, sample_count: int, model: str | None = None
) -> str:
    """The audit config for ``test`` in ``scenario``; ``expected``: the samples the run is
    expected to complete, ``sample_count``: the samples loaded, ``model``: the model's key in
    the MLPerf configs."""
    values: dict[str, int]
    notes: list[str] = []
    if test == "TEST01":
        target, source = sampling_target(expected, model)
        values = {
            "mode": 2,  # performance only
            "accuracy_log_rng_seed": TEST01_LOG_SEED,
            "accuracy_log_sampling_target": target,
        }
        about = "accuracy in performance mode: the answers of a sample of the queries logged"
        notes = [f"# accuracy_log_sampling_target: {source}."]
    elif test == "TEST04":
        values = {
            "mode": 2,
            "performance_issue_unique": 0,
            "performance_issue_same": 1,
            "performance_issue_same_index": min(SAME_SAMPLE_INDEX, max(sample_count - 1, 0)),
        }
        about = "the same sample in every query: a system that caches results is faster"
    else:
        raise ValueError(f"no audit config for {test}")
    lines = [
        f"# {test} (MLPerf compliance), written by Reef: {about}.",
        "# LoadGen reads it over the run's test settings; keys are model.scenario.key.",
        *notes,
        *(f"*.{scenario}.{key} = {value}" for key, value in values.items()),
    ]
    return "\n".join(lines) + "\n"


# --- verification ----------------------------------------------------------------------------


def verify_accuracy(reference: Path, audited: Path) -> Verdict:
    """TEST01: each answer the audit run logged equals the accuracy run's for its sample."""
    ref_entries = logs.read_accuracy_log(reference)
    answers: dict[int, bytes] = {}
    duplicates = differing_duplicates = 0
    for index, data in ref_entries:
        if index in answers:
            duplicates += 1
            differing_duplicates += answers[index] != data
        else:
            answers[index] = data
    entries = logs.read_accuracy_log(audited)
    matched, differ, missing = 0, [], []
    for index, data in entries:
        if index not in answers:
            missing.append(index)
        elif answers[index] != data:
            differ.append(index)
        else:
            matched += 1
    lines = [
        "TEST01 accuracy verification: the answers logged in performance mode against the "
        "accuracy run's",
        f"reference accuracy log: {reference}",
        f"audit accuracy log: {audited}",
        f"reference entries = {len(ref_entries)}",
        f"reference samples logged twice = {duplicates}",
        f"reference samples logged twice with different answers = {differing_duplicates}",
        f"audit entries = {len(entries)}",
        f"audit entries equal to the reference = {matched}",
        f"audit entries that differ from the reference = {len(differ)}",
        f"audit entries with no reference entry = {len(missing)}",
    ]
    if not entries:
        detail = "the audit run logged no answers: nothing to compare"
    elif differ:
        detail = (
            f"{len(differ)} of {len(entries)} answers logged in performance mode differ from "
            f"the accuracy run's (samples {_some(differ)})"
        )
    elif missing:
        detail = (
            f"{len(missing)} of {len(entries)} answers logged in performance mode are for "
            f"samples the accuracy run did not log (samples {_some(missing)})"
        )
    else:
        detail = f"{matched} answers logged in performance mode equal the accuracy run's"
    passed = bool(entries) and not differ and not missing
    return Verdict(AuditCheck(name="accuracy", passed=passed, detail=detail), lines)


# (figure key in the detail log, its name, whether it is a latency in ns)
_FIGURES = {
    "Offline": ("result_samples_per_second", "samples per second", False),
    "Server": ("result_completed_samples_per_sec", "completed samples per second", False),
    "SingleStream": ("early_stopping_latency_ss", "early-stopping latency estimate (ns)", True),
    "MultiStream": ("early_stopping_latency_ms", "early-stopping latency estimate (ns)", True),
}


def verify_performance(test: str, reference: Path, audited: Path) -> Verdict:
    """TEST01: the audit's figure within the tolerance of the reference's, either way.
    TEST04: the same-sample run no faster than the tolerance allows. ``reference`` and
    ``audited`` are LoadGen detail logs."""
    ref, aud = logs.read_detail(reference), logs.read_detail(audited)
    lines = [
        f"{test} performance verification: the audit run against the performance run",
        f"reference detail log: {reference}",
        f"audit detail log: {audited}",
    ]

    def fail(detail: str) -> Verdict:
        return Verdict(AuditCheck(name="performance", passed=False, detail=detail), lines)

    scenario = str(ref.values.get("effective_scenario", ""))
    audit_scenario = str(aud.values.get("effective_scenario", ""))
    lines.append(f"scenario = {scenario}")
    for what, log in (("reference", ref), ("audit", aud)):
        validity = log.values.get("result_validity")
        lines.append(f"{what} result = {validity}")
        if validity != "VALID":
            return fail(f"the {what} run's result is {validity or 'missing'}, not VALID")
    if scenario not in _FIGURES or audit_scenario != scenario:
        return fail(f"the scenarios differ: {scenario or '?'} and {audit_scenario or '?'}")
    if scenario == "Server":
        bounds = [d.values.get("effective_target_latency_ns") for d in (ref, aud)]
        if bounds[0] != bounds[1]:
            return fail(f"the latency bounds differ: {bounds[0]} and {bounds[1]} ns")
    key, name, latency = _FIGURES[scenario]
    try:
        ref_value, aud_value = float(ref.values[key]), float(aud.values[key])
    except (KeyError, TypeError, ValueError):
        return fail(f"a detail log holds no {key}")
    if test == "TEST04":
        # Speed: throughput, or queries per second from the latency.
        if latency:
            name = "queries per second (1e9 / early-stopping latency estimate in ns)"
            ref_value, aud_value = 1e9 / ref_value, 1e9 / aud_value
        tolerance = _tolerance(test, scenario, ref_value)
        high = ref_value * (1 + tolerance)
        lines += [
            f"figure: {name} ({key})",
            f"reference = {ref_value:.6g}",
            f"audit = {aud_value:.6g}",
            f"allowed: below {high:.6g} (at most {tolerance:.0%} faster)",
        ]
        passed = aud_value < high
        faster = (aud_value / ref_value - 1) if ref_value else math.inf
        pace = f"{faster:.1%} faster than" if faster > 0 else "no faster than"
        said = (
            f"the same-sample run's {name} {aud_value:.6g} is {pace} the reference's "
            f"{ref_value:.6g}" + f", {'within' if passed else 'over'} the {tolerance:.0%} allowed"
        )
    else:
        tolerance = _tolerance(test, scenario, ref_value)
        low, high = ref_value * (1 - tolerance), ref_value * (1 + tolerance)
        lines += [
            f"figure: {name} ({key})",
            f"reference = {ref_value:.6g}",
            f"audit = {aud_value:.6g}",
            f"allowed: {low:.6g} to {high:.6g} (within {tolerance:.0%})",
        ]
        passed = low <= aud_value <= high
        change = (aud_value / ref_value - 1) if ref_value else math.inf
        said = (
            f"the audit run's {name} {aud_value:.6g} is {change:+.1%} from the reference's "
            f"{ref_value:.6g}, "
            + ("within" if passed else "outside")
            + f" the {tolerance:.0%} allowed"
        )
    return Verdict(AuditCheck(name="performance", passed=passed, detail=said), lines)


def _tolerance(test: str, scenario: str, reference: float) -> float:
    """10%, or 20% where short latencies make run-to-run noise large (MLPerf's rule; TEST01
    reads the reference as a latency in ns, TEST04 as queries per second)."""
    if scenario == "SingleStream" and reference <= 200_000:
        return 0.2
    if scenario == "MultiStream" and reference <= 1_600_000:
        return 0.2
    return 0.1


def config_read(test: str, detail: logs.Detail) -> AuditCheck:
    """That LoadGen found the audit config and ran with it."""
    found = any("audit config" in w.lower() for w in detail.warnings)
    v = detail.values
    if test == "TEST04":
        applied = bool(v.get("effective_performance_issue_same"))
        what = "issued the same sample in every query"
    else:
        applied = int(v.get("effective_accuracy_log_sampling_target") or 0) > 0
        what = "sampled answers for the accuracy log"
    if found and applied:
        return AuditCheck(name="config", passed=True, detail=f"LoadGen read it and {what}")
    why = "did not find the audit config" if not found else f"read the config but never {what}"
    return AuditCheck(name="config", passed=False, detail=f"LoadGen {why}")


def _some(indices: list[int], shown: int = 5) -> str:
    more = f" and {len(indices) - shown} more" if len(indices) > shown else ""
    return ", ".join(map(str, indices[:shown])) + more


# --- running ---------------------------------------------------------------------------------


def run_audits(
    record: RunRecord,
    exp: Expectations,
    sample_count: int,
    run: RunLoadGen,
    reporter: Reporter,
) -> None:
    """Run and verify each audit the settings ask for, after the run's own phases; each
    outcome goes to ``record.audits``, and a failed check to ``record.reasons``."""
    from reef.bench import loadgen

    settings = record.settings
    assert record.loadgen is not None and record.loadgen.log_dir is not None
    run_dir = Path(record.loadgen.log_dir)
    reference_perf = Path(record.artifacts["loadgen_performance"]) / "mlperf_log_detail.txt"
    ts = loadgen.test_settings(settings, exp, "performance")
    expected = expected_samples(ts, settings.scenario)
    model = settings.mlperf_model or record.target.name
    for test in settings.audits:
        folder = run_dir / COMPLIANCE_DIR / test
        folder.mkdir(parents=True, exist_ok=True)
        if test == "TEST01" and "loadgen_accuracy" not in record.artifacts:
            reporter.note(
                "TEST01 compares with an accuracy run's answers: running one in accuracy mode, "
                "though the model's accuracy is not scored"
            )
            made = run("accuracy", run_dir / "accuracy", None)
            if made.error is not None:
                raise made.error
            record.artifacts["loadgen_accuracy"] = str(made.log_dir)
        config = folder / "audit.config"
        text = config_text(
            test, settings.scenario, expected=expected, sample_count=sample_count, model=model
        )
        config.write_text(text, encoding="utf-8")
        done = run("performance", folder / LOG_DIR, Audit(test, config, test == "TEST01"))
        if done.error is not None:
            raise done.error
        detail_log = done.log_dir / "mlperf_log_detail.txt"
        checks = [config_read(test, logs.read_detail(detail_log))]
        if test == "TEST01":
            logged = done.log_dir / "mlperf_log_accuracy.json"
            (folder / "accuracy").mkdir(exist_ok=True)
            shutil.copy2(logged, folder / "accuracy" / logged.name)
            reference_acc = Path(record.artifacts["loadgen_accuracy"]) / logged.name
            acc = verify_accuracy(reference_acc, logged)
            (folder / "verify_accuracy.txt").write_text(acc.text(), encoding="utf-8")
            checks.append(acc.check)
        perf = verify_performance(test, reference_perf, detail_log)
        (folder / "verify_performance.txt").write_text(perf.text(), encoding="utf-8")
        checks.append(perf.check)
        passed = all(c.passed for c in checks)
        record.audits.append(AuditResult(test=test, passed=passed, checks=checks, path=str(folder)))
        for c in checks:
            if not c.passed:
                record.reasons.append(f"audit {test} failed its {c.name} check: {c.detail}")
        verdict = "passed" if passed else "FAILED"
        reporter.note(
            f"audit {test} {verdict}: " + "; ".join(f"{c.name}: {c.detail}" for c in checks)
        )
