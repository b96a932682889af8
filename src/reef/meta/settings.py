"""Benchmark settings: what `reef bench` was asked to do, validated before anything runs.

The fields' own bounds hold wherever settings are read, stored run records included. The
limits below (``limit_problems``, ``machine_problems``) apply to settings for a new run: a
record made before a limit existed must still load, so they are not part of the fields.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal, cast

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from reef.meta import choices
from reef.meta.common import Strict


def _spelling(choice: choices.Choice) -> BeforeValidator:
    """Read any spelling of ``choice`` (``single-stream``, ``offline``) as its value; anything
    else is left for the Literal to refuse, listing the values."""

    def canonical(value: Any) -> Any:
        found = choice.find(value) if isinstance(value, str) else None
        return value if found is None else found

    return BeforeValidator(canonical)


# Wherever a scenario or mode is read (the CLI, the API, a solution's bench section, a stored
# record), any spelling that reef.meta.choices accepts is stored in the one spelling below.
Scenario = Annotated[
    Literal["SingleStream", "MultiStream", "Server", "Offline"], _spelling(choices.SCENARIO)
]
SCENARIOS = cast(tuple[Scenario, ...], choices.SCENARIO.values)
Mode = Annotated[Literal["performance", "accuracy", "both"], _spelling(choices.MODE)]

# LoadGen's three random seeds (sample set, sample index, schedule) are uint64_t; a larger
# Python int made its binding raise TypeError once the worker had started.
MAX_SEED = 2**64 - 1
# LoadGen draws Server arrival intervals from an exponential distribution and truncates each to
# whole nanoseconds. Measured with LoadGen 6.0.17 over 10 ms: at 1e7 QPS (a 100 ns mean
# interval) it schedules 0.7% more queries than asked, at 1e8 5% more, at 1e9 the truncation
# loses more than half of each interval, and from about 1e10 nearly every interval is 0 ns, so
# it generates queries without end until the worker is killed for memory. 1e7 is the most it
# schedules faithfully, and far more than a Python system under test can answer.
MAX_TARGET_QPS = 1e7
# At the other end the intervals overflow LoadGen's signed 64-bit nanosecond clock: at 1e-12
# QPS it scheduled queries at negative times and issued them at once, and at 1e-300 it
# generated queries until the worker was killed. A rate of one query per 1,000 s is far above
# that edge, and already makes the 270 queries a Server run needs take three days.
MIN_TARGET_QPS = 1e-3
# LoadGen takes the latency bound in nanoseconds as a 64-bit integer (1e300 ms was a
# TypeError in the worker); no bound longer than the longest run (a day) means anything.
MAX_LATENCY_BOUND_MS = 86_400_000.0
# The warm-up times each of its queries, one after another, and keeps every latency: more
# than LoadGen would ever be asked to pre-generate is never calibration.
MAX_WARMUP_QUERIES = 1_000_000
# ONNX Runtime starts every intra-op thread when the session opens: past a few per core they
# only wait for one another, and 100,000 of them hang or crash the worker.
THREADS_PER_CORE = 4
# Processes of one configuration (--repeat): each is a whole measurement, so a hundred is
# already hours; more is a typo.
MAX_REPEAT = 100
# A plain `reef bench` runs this long: far shorter than MLPerf's 600 s (--compliant).
DEFAULT_DURATION_S = 10.0
# MLPerf's compliance audits Reef runs (``reef bench --audit``, ``reef.bench.audit``).
AUDIT_TESTS = ("TEST01", "TEST04", "TEST06")


class BenchSettings(Strict):
    """Settings for one scenario. ``None`` means "calibrate from the warm-up"."""

    scenario: Scenario = "SingleStream"
    mode: Mode = "both"
    duration_s: float | None = Field(
        None,
        gt=0,
        le=86400,
        description=f"minimum duration, seconds; None: {DEFAULT_DURATION_S:g} (Reef's short "
        "run), or the MLPerf configs' with --compliant or a user.conf that sets it",
    )
    queries: int | None = Field(None, ge=1, description="minimum query count")
    target_qps: float | None = Field(
        None,
        gt=0,
        description=f"Server: arrival rate ({MIN_TARGET_QPS:g} to {MAX_TARGET_QPS:g} in a new run)",
    )
    latency_bound_ms: float | None = Field(
        None, gt=0, description="Server: latency bound (at most a day for a new run)"
    )
    samples_per_query: int = Field(8, ge=1, description="MultiStream: samples in one query")
    batch_size: int = Field(1, ge=1, description="samples per predict call")
    threads: int | None = Field(
        None,
        ge=1,
        description=f"predictor intra-op threads (at most {THREADS_PER_CORE} per usable core)",
    )
    warmup_queries: int = Field(50, ge=1, description="queries run before calibration")
    sample_count: int | None = Field(None, ge=1, description="samples loaded; all by default")
    seed: int | None = Field(
        None,
        ge=0,
        description="one value for LoadGen's three random seeds (at most 2**64 - 1); None: "
        "the official seeds of mlperf.conf (records made before Reef read it hold 0)",
    )
    raw_latencies: bool | None = Field(
        None,
        description="keep every query's latency as the SUT measured it. Reading the clock "
        "twice per query costs about 1-2 us, so by default (None) they are kept when the "
        "model takes at least 100 us per query",
    )

    repeat: int = Field(
        1,
        ge=1,
        le=MAX_REPEAT,
        description="worker processes measured, one after another, for this configuration: "
        "with 2 or more, verdicts take the process as their unit",
    )
    cpus: list[int] | None = Field(
        None,
        min_length=1,
        description="the cores the worker (and LoadGen's threads) are pinned to; None: "
        "wherever the OS schedules them",
    )
    user_conf: str | None = Field(
        None,
        description="an MLPerf user.conf (absolute path) LoadGen loads over mlperf.conf "
        "(reef.bench.mlperf_conf); None: none",
    )
    mlperf_conf: str | None = Field(
        None,
        description="an mlperf.conf (absolute path) in place of the official one LoadGen "
        "embeds; None: the official one",
    )
    mlperf_model: str | None = Field(
        None,
        description="the model's key in the MLPerf configs (resnet50); None: the target's name",
    )
    compliant: bool = Field(
        False,
        description="MLPerf's rules apply: official durations, query counts and seeds; "
        "any shortcut is refused before the run",
    )

    audits: list[str] = Field(
        default_factory=list,
        description=f"MLPerf compliance audits run after the run's own phases: "
        f"{', '.join(AUDIT_TESTS)}",
    )

    @field_validator("audits")
    @classmethod
    def _known_audits(cls, value: list[str], info: ValidationInfo) -> list[str]:
        chosen: list[str] = []
        for name in value:
            test = name.strip().upper()
            if test not in AUDIT_TESTS:
                raise ValueError(
                    f"unknown compliance test {name!r}: Reef knows {', '.join(AUDIT_TESTS)}"
                )
            if test not in chosen:
                chosen.append(test)
        if chosen and info.data.get("mode", "both") != "both":
            raise ValueError(
                "an audit is verified against the run's accuracy and performance runs: "
                "use --mode both (the default)"
            )
        if chosen and info.data.get("repeat", 1) > 1:
            raise ValueError("an audit is verified against one process's runs: leave out --repeat")
        return chosen

    @field_validator("repeat")
    @classmethod
    def _performance_only(cls, value: int, info: ValidationInfo) -> int:
        if value > 1 and info.data.get("mode") == "accuracy":
            raise ValueError("repeats the performance measurement: --mode accuracy has none")
        return value

    @field_validator("cpus")
    @classmethod
    def _distinct_cores(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        seen: set[int] = set()
        for core in value:
            if core < 0:
                raise ValueError(f"core {core}: cores are numbered from 0")
            if core in seen:
                raise ValueError(f"core {core} is given twice")
            seen.add(core)
        return value

    @field_validator("target_qps", "latency_bound_ms")
    @classmethod
    def _server_only(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("scenario", "Server") != "Server":
            raise ValueError("applies to the Server scenario only")
        return value


def usable_cores() -> int:
    """How many cores this process may run on (its affinity mask, where the OS has one)."""
    return max(1, len(allowed_cores()))


def allowed_cores() -> set[int]:
    """The cores this process may run on (all of them where the OS keeps no affinity mask)."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def cpu_problems(cpus: list[int]) -> list[str]:
    """Why the worker cannot be pinned to ``cpus`` here: a core that does not exist, or one
    this process may not use (a container's or taskset's mask)."""
    if not hasattr(os, "sched_setaffinity"):
        return ["pinning to cores is not supported on this system"]
    allowed, count = allowed_cores(), os.cpu_count() or 1
    shown = _ranges(sorted(allowed))
    problems = []
    for core in cpus:
        if core >= count:
            problems.append(f"core {core} does not exist: this machine has cores 0-{count - 1}")
        elif core not in allowed:
            problems.append(f"core {core} is not allowed to this process (allowed: {shown})")
    return problems


def _ranges(cores: list[int]) -> str:
    """``[0, 1, 2, 5]`` as ``0-2,5``."""
    parts: list[str] = []
    for core in cores:
        if parts and core == int(parts[-1].rpartition("-")[2]) + 1:
            parts[-1] = f"{parts[-1].partition('-')[0]}-{core}"
        else:
            parts.append(str(core))
    return ",".join(parts)


def max_threads() -> int:
    return THREADS_PER_CORE * usable_cores()


def limit_problems(settings: BenchSettings) -> list[tuple[str, str]]:
    """(field, message) for each value no machine could run: checked wherever settings for a
    new run are written down, a solution manifest's included."""
    problems = []
    if settings.seed is not None and settings.seed > MAX_SEED:
        problems.append(
            ("seed", f"must fit in 64 bits (at most {MAX_SEED}): LoadGen's seeds are unsigned")
        )
    qps = settings.target_qps
    if qps is not None and qps > MAX_TARGET_QPS:
        problems.append(
            (
                "target_qps",
                f"at most {MAX_TARGET_QPS:,.0f} queries per second: LoadGen schedules Server "
                "arrivals in whole nanoseconds and cannot hold a higher rate",
            )
        )
    if qps is not None and qps < MIN_TARGET_QPS:
        problems.append(
            (
                "target_qps",
                f"at least {MIN_TARGET_QPS:g} queries per second (one per 1,000 s): LoadGen's "
                "nanosecond clock cannot schedule rarer arrivals",
            )
        )
    bound = settings.latency_bound_ms
    if bound is not None and bound > MAX_LATENCY_BOUND_MS:
        problems.append(("latency_bound_ms", f"at most {MAX_LATENCY_BOUND_MS:,.0f} ms (a day)"))
    if settings.warmup_queries > MAX_WARMUP_QUERIES:
        problems.append(("warmup_queries", f"at most {MAX_WARMUP_QUERIES:,}"))
    return problems


def machine_problems(settings: BenchSettings) -> list[tuple[str, str]]:
    """``limit_problems`` and what this machine cannot run: checked before a run starts."""
    problems = limit_problems(settings)
    if settings.cpus is not None:
        problems.extend(("cpus", message) for message in cpu_problems(settings.cpus))
    if settings.threads is not None and settings.threads > max_threads():
        cores = usable_cores()
        problems.append(
            (
                "threads",
                f"at most {max_threads()} ({THREADS_PER_CORE} per usable core; this process "
                f"may use {cores} core{'s' if cores != 1 else ''})",
            )
        )
    return problems
