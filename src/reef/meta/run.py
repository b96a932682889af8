"""The run record: what was run, where, how, and what came out.

``FORMAT_VERSION`` is the version written today. Every older version still loads: its upgrade
function turns it into the next version, in order, before validation. A record from a newer
Reef is refused rather than misread.

Format history
--------------
1  first format. Later optional additions (no version bump: older records load unchanged):
   target kind ``endpoint`` and ``target.endpoint`` (a model measured on a server over the
   Open Inference Protocol v2, not in Reef's process);
   ``trace`` (the trace level a run was recorded with, and where its trace is);
   ``interference`` (what else the machine did meanwhile) and ``processes`` (each worker
   process of a run repeated with ``--repeat``); ``settings.repeat`` and ``settings.cpus``;
   ``energy`` (the machine's energy counters over the measured phase, also per process);
   ``loadgen.config`` and ``loadgen.mlperf_model`` (the MLPerf configs' effective settings
   and who set each), ``settings.user_conf``, ``mlperf_conf``, ``mlperf_model``, ``compliant``;
   ``imported`` (a result read from an MLPerf submission tree, not measured here: target
   kind ``mlperf``); ``audits`` (MLPerf compliance audits run with the run: ``reef bench
   --audit``) and ``settings.audits``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reef.errors import ManifestError, Problem
from reef.meta.settings import BenchSettings
from reef.meta.versions import RUN_FORMAT_VERSION

FORMAT_VERSION = RUN_FORMAT_VERSION

# Upgrade functions: _UPGRADES[n] turns a version-n record (as a dict) into version n+1.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

Status = Literal["valid", "invalid", "interrupted", "failed"]


class Record(BaseModel):
    """Records are read back from other Reef versions: unknown fields are kept, not refused."""

    model_config = ConfigDict(extra="allow")


class EndpointInfo(Record):
    """A model measured where a server serves it (the Open Inference Protocol v2), not in
    Reef's own process: the server's own words about itself and the model."""

    url: str
    server_name: str | None = None
    server_version: str | None = None
    extensions: list[str] = Field(default_factory=list)
    platform: str | None = None
    sha256_of: str = Field(description="what the target's sha256 hashes: the file, or metadata")
    local_model: str | None = Field(
        None,
        description="the Reef model whose dataset fed it its samples: the one the server "
        "names, found here with the served file, or the one --like names (then sha256_of "
        "says the metadata)",
    )


class Target(Record):
    kind: Literal["manifest", "onnx", "file", "lock", "component", "solution", "mlperf", "endpoint"]
    name: str
    version: str | None = None
    path: str = Field(
        description="absolute path of the manifest, model file or lock file; an endpoint's URL"
    )
    sha256: str = Field(description="sha256 of the model file that was run")
    endpoint: EndpointInfo | None = Field(
        None, description="the server that ran the model (kind endpoint: a remote run)"
    )

    @property
    def remote(self) -> bool:
        return self.kind == "endpoint"


class ComponentRef(Record):
    kind: str
    name: str
    version: str | None = None
    path: str | None = None
    sha256: str


class SolutionRef(Record):
    """The solution a run was made for, and where in it."""

    name: str
    version: str
    run: str | None = Field(None, description="the `reef run` this was a step of")
    step: str | None = None


class PredictorInfo(Record):
    name: str
    version: str
    providers: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)


class Latency(Record):
    min: float
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float


class Calibration(Record):
    """What the warm-up measured and the LoadGen expectations Reef derived from it."""

    warmup_queries: int
    latency_p50_ms: float | None = None
    throughput_qps: float | None = None
    derived: dict[str, float] = Field(default_factory=dict)


class ConfigSetting(Record):
    """One LoadGen setting of a run, in the MLPerf configs' units (ms, percent), and who set
    it: ``mlperf.conf`` (the official file), a config file's path, ``reef`` (its short run or
    calibration), ``loadgen`` (LoadGen's default) or the option given (``--duration``)."""

    value: int | float
    source: str


class LoadGenInfo(Record):
    version: str
    result: Literal["VALID", "INVALID"] | None = None
    reasons: list[str] = Field(default_factory=list)
    effective: dict[str, Any] = Field(default_factory=dict, description="effective_* settings")
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    calibration: Calibration | None = None
    log_dir: str | None = None
    config: dict[str, ConfigSetting] = Field(
        default_factory=dict,
        description="the effective settings by MLPerf config key (min_duration, "
        "qsl_rng_seed, ...) and which file or option set each; empty in older records",
    )
    mlperf_model: str | None = Field(None, description="the model's key in the MLPerf configs")


class Performance(Record):
    latency_ms: Latency
    throughput_qps: float = Field(description="samples per second, as LoadGen reports it")
    samples: int
    queries: int
    duration_s: float | None = None
    early_stopping: list[str] = Field(default_factory=list)


class Accuracy(Record):
    metric: str
    value: float | None = None
    reference: float | None = None
    threshold: float | None = None
    passed: bool | None = None
    samples: int = 0
    note: str | None = Field(None, description="why accuracy is not applicable, if it is not")


TraceLevel = Literal["none", "model", "framework", "system", "full"]
TRACE_LEVELS: tuple[TraceLevel, ...] = ("none", "model", "framework", "system", "full")


class TraceInfo(Record):
    """How a run was traced. Tracing costs time: compare traced runs with traced ones."""

    level: TraceLevel
    path: str | None = Field(None, description="the Chrome trace file under the run's folder")
    layers: list[str] = Field(
        default_factory=list, description="what was recorded: model, framework, system"
    )
    events: int = Field(0, description="events in the trace file")
    queries: int = Field(0, description="queries (and warm-up calls) traced")
    queries_kept: int = Field(0, description="queries whose spans the file holds")
    dropped: int = Field(0, description="queries left out of the file by the cap policy")
    policy: str | None = Field(None, description="the cap policy, as written in the trace")
    notes: list[str] = Field(default_factory=list, description="what could not be recorded")


class Interference(Record):
    """What else the machine did while the run was measured (``reef.bench.interference``).
    A figure the platform does not report is None."""

    cpus: list[int] = Field(description="the CPUs the run could use")
    seconds: float = Field(description="how long it was sampled: the measured phase")
    others_cpu_share: float | None = Field(
        None, description="share (0-1) of the run's CPUs' time that other processes used"
    )
    steal_share: float | None = Field(
        None, description="share of the run's CPUs' time the hypervisor gave to others"
    )
    involuntary_switches: int | None = Field(
        None, description="this run's involuntary context switches (every thread)"
    )
    switches_per_1k_queries: float | None = None
    migrations: int | None = Field(None, description="CPU migrations of the run's threads")
    freq_mhz_min: float | None = None
    freq_mhz_max: float | None = None
    throttle_events: int | None = Field(None, description="thermal throttle events")
    busy: bool = Field(False, description="too busy to vouch for the latencies")
    reason: str = Field("", description="why busy, or how quiet it was")


class EnergyDomain(Record):
    """One energy counter's figure over the measured phase."""

    name: str = Field(description="package-0, dram-0, gpu-0, ...")
    joules: float
    method: str = Field(description="how it was read: rapl (powercap sysfs) or nvml")


class EnergyInfo(Record):
    """The energy the machine's counters measured over the measured phase
    (``reef.environment.energy``). Counters are the whole machine's, not the run's alone;
    what could not be read is in ``notes``, and its figure is left out, never guessed."""

    joules: float | None = Field(None, description="all domains together; None: none read")
    seconds: float = Field(description="how long the counters were read over")
    samples: int | None = Field(None, description="samples the measured phase processed")
    joules_per_sample: float | None = None
    watts: float | None = Field(None, description="average power: joules / seconds")
    domains: list[EnergyDomain] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="what could not be measured, and why"
    )


class ProcessRun(Record):
    """One worker process of a run repeated across processes (``--repeat``)."""

    index: int = Field(description="1 for the first process")
    status: Status
    reasons: list[str] = Field(default_factory=list)
    latency_ms: Latency | None = None
    throughput_qps: float | None = None
    queries: int = 0
    latencies_kept: int = Field(
        0, description="how many of the run's latencies_ns are this process's, in order"
    )
    interference: Interference | None = None
    energy: EnergyInfo | None = None
    log_dir: str | None = None


class ImportInfo(Record):
    """Where an imported run came from: it was read, not measured here
    (``reef runs import-mlperf``)."""

    source: Literal["mlperf"] = "mlperf"
    path: str = Field(description="the results folder it was read from: .../SCENARIO")
    division: str | None = Field(None, description="closed, open or network")
    submitter: str | None = None
    system: str = Field(description="the system's name: systems/SYSTEM.json")
    benchmark: str
    round: str | None = Field(None, description="the MLPerf round (v5.0), where known")
    imported_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    notes: list[str] = Field(
        default_factory=list, description="what the tree lacked (accuracy, system description)"
    )


class AuditCheck(Record):
    """One check of a compliance audit's verification."""

    name: str
    passed: bool
    detail: str = ""


class AuditResult(Record):
    """One MLPerf compliance audit (TEST01, TEST04) run after the run's own phases, and its
    verification against them (``reef.bench.audit``)."""

    test: str = Field(description="TEST01, TEST04, ...")
    passed: bool
    checks: list[AuditCheck] = Field(default_factory=list)
    path: str = Field(
        description="the folder under the run's folder holding verify_*.txt, the audit's "
        "config and its LoadGen logs (performance/run_1, accuracy)"
    )


class RunRecord(Record):
    format_version: int = FORMAT_VERSION
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    status: Status = "failed"
    reasons: list[str] = Field(default_factory=list, description="why the run is not valid")
    target: Target
    components: list[ComponentRef] = Field(default_factory=list)
    settings: BenchSettings
    predictor: PredictorInfo | None = None
    loadgen: LoadGenInfo | None = None
    performance: Performance | None = None
    accuracy: Accuracy | None = None
    samples: dict[str, Any] = Field(
        default_factory=dict, description="what was fed: count, synthetic or not, shapes"
    )
    environment: dict[str, Any] = Field(default_factory=dict)
    artifacts: dict[str, str] = Field(
        default_factory=dict, description="name -> path under REEF_HOME/runs/<id>/"
    )
    solution: SolutionRef | None = None
    lock: dict[str, Any] | None = Field(
        None, description="the lock the run was made from: what `reef reproduce` rebuilds"
    )
    reproduces: str | None = Field(None, description="the run this one reproduced")
    trace: TraceInfo | None = Field(
        None, description="the trace level used and the trace file; None: not traced"
    )
    latencies_ns: list[int] | None = Field(
        None,
        description="raw latencies measured by the SUT: one per query in completion order "
        "(one per batch in Offline); None when not kept. With several processes, theirs one "
        "after another (processes[i].latencies_kept each)",
    )
    interference: Interference | None = Field(
        None, description="what else the machine did meanwhile; None in older records"
    )
    processes: list[ProcessRun] = Field(
        default_factory=list,
        description="each worker process of a run repeated across processes (--repeat); "
        "empty for a run of one process",
    )
    energy: EnergyInfo | None = Field(
        None, description="energy over the measured phase (RAPL, NVML); None in older records"
    )
    imported: ImportInfo | None = Field(
        None,
        description="where a run read from an MLPerf submission tree came from; None: "
        "measured by Reef",
    )
    audits: list[AuditResult] = Field(
        default_factory=list,
        description="MLPerf compliance audits run with the run (--audit); a failed one makes "
        "the run invalid",
    )

    @property
    def scenario(self) -> str:
        return self.settings.scenario

    def summary_json(self) -> dict[str, Any]:
        """The record as JSON without the raw latencies (kept in the store and run folder)."""
        return self.model_dump(mode="json", exclude={"latencies_ns"})


def load_record(data: dict[str, Any], source: str = "<record>") -> RunRecord:
    """Read a record of any known format version, upgrading it to the current one."""
    version = data.get("format_version", 1)
    if not isinstance(version, int) or version < 1:
        raise ManifestError([Problem(source, "format_version", f"invalid value {version!r}")])
    if version > FORMAT_VERSION:
        raise ManifestError(
            [
                Problem(
                    source,
                    "format_version",
                    f"version {version} is newer than this Reef understands ({FORMAT_VERSION})",
                )
            ],
            hint="upgrade Reef to read this record",
        )
    while version < FORMAT_VERSION:
        data = _UPGRADES[version](dict(data))
        version += 1
        data["format_version"] = version
    from pydantic import ValidationError

    from reef.meta.load import problems_from

    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(problems_from(exc, source)) from exc
