"""Issue 13, item 6: settings no machine (or not this one) can run are refused by the schema
that carries them: a solution's bench settings, and the benchmark job."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reef.meta import settings as settings_module
from reef.meta.settings import (
    MAX_LATENCY_BOUND_MS,
    MAX_SEED,
    MAX_TARGET_QPS,
    MAX_WARMUP_QUERIES,
    MIN_TARGET_QPS,
    THREADS_PER_CORE,
    BenchSettings,
    limit_problems,
    machine_problems,
    max_threads,
    usable_cores,
)
from reef.meta.solution import SolutionManifest


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "usable_cores", lambda: 2)


def test_usable_cores_is_the_affinity_mask() -> None:
    import os

    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    assert max_threads() == THREADS_PER_CORE * usable_cores()


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"seed": 1180591620717411303424}, "seed", "64 bits"),
        ({"seed": MAX_SEED + 1}, "seed", "64 bits"),
        ({"scenario": "Server", "target_qps": 1e12}, "target_qps", "10,000,000"),
        ({"scenario": "Server", "target_qps": MAX_TARGET_QPS * 1.01}, "target_qps", "nanosecond"),
        ({"scenario": "Server", "target_qps": 1e-300}, "target_qps", "at least 0.001"),
        ({"scenario": "Server", "latency_bound_ms": 1e300}, "latency_bound_ms", "a day"),
        ({"warmup_queries": 10**20}, "warmup_queries", "at most 1,000,000"),
    ],
)
def test_limits(values: dict[str, Any], field: str, says: str) -> None:
    problems = limit_problems(BenchSettings(**values))
    assert [f for f, _ in problems] == [field]
    assert says in problems[0][1]


def test_values_at_the_limits_pass() -> None:
    at = BenchSettings(scenario="Server", seed=MAX_SEED, target_qps=MAX_TARGET_QPS)
    assert limit_problems(at) == []
    low = BenchSettings(
        scenario="Server",
        target_qps=MIN_TARGET_QPS,
        latency_bound_ms=MAX_LATENCY_BOUND_MS,
        warmup_queries=MAX_WARMUP_QUERIES,
    )
    assert limit_problems(low) == []


@pytest.mark.usefixtures("two_cores")
@pytest.mark.parametrize("threads", [9, 100000, 99999999999999999999])
def test_threads_beyond_four_per_core(threads: int) -> None:
    problems = machine_problems(BenchSettings(threads=threads))
    assert problems == [("threads", "at most 8 (4 per usable core; this process may use 2 cores)")]


@pytest.mark.usefixtures("two_cores")
def test_threads_within_four_per_core() -> None:
    assert machine_problems(BenchSettings(threads=8)) == []


def test_stored_settings_still_load() -> None:
    # A record made before the limits existed must load: the fields do not carry them.
    old = BenchSettings.model_validate({"seed": 2**70, "threads": 10**6})
    assert old.seed == 2**70


# --- a solution's bench settings ------------------------------------------------------------------


def solution(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "solution",
        "name": "s",
        "version": "1.0.0",
        "bench": {"scenarios": ["Server"], "settings": settings},
    }


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"seed": 2**64}, "bench.settings: seed: must fit in 64 bits"),
        ({"seed": 2**70, "threads": 1}, "bench.settings: seed: must fit in 64 bits"),
        ({"duration_s": float("nan")}, "finite"),
    ],
)
def test_solution_settings_limits(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError) as info:
        SolutionManifest.model_validate(solution(settings))
    err = info.value.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    assert says in f"{where}: {err['msg'].removeprefix('Value error, ')}"


@pytest.mark.usefixtures("two_cores")
def test_solution_threads_are_judged_where_it_runs() -> None:
    # A solution travels: its threads are checked against the cores of the machine that
    # benches it, not whenever it is read.
    manifest = SolutionManifest.model_validate(solution({"threads": 64}))
    assert manifest.bench.settings["threads"] == 64


# --- the job -----------------------------------------------------------------------------------


def job(settings: BenchSettings, **fields: Any) -> dict[str, Any]:
    return {
        "run_id": "r",
        "run_dir": "/tmp/r",
        "target": {"kind": "onnx", "name": "m", "path": "/m.onnx", "sha256": "0" * 64},
        "model_path": "/m.onnx",
        "settings": settings.model_dump(),
        **fields,
    }


@pytest.mark.usefixtures("two_cores")
@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (BenchSettings(threads=100000), "threads 100000: at most 8"),
        (BenchSettings(seed=2**70), "seed 1180591620717411303424: must fit in 64 bits"),
        (BenchSettings(scenario="Server", target_qps=1e12), "target_qps 1000000000000.0"),
    ],
)
def test_job_schema_refuses_what_cannot_run(settings: BenchSettings, says: str) -> None:
    from reef.bench.job import BenchJob

    with pytest.raises(ValidationError) as info:
        BenchJob.model_validate(job(settings))
    err = info.value.errors(include_url=False)[0]
    assert err["loc"] == ("settings",)
    assert says in err["msg"]


def test_job_schema_refuses_non_positive_shapes() -> None:
    from reef.bench.job import BenchJob

    with pytest.raises(ValidationError, match="positive dimensions"):
        BenchJob.model_validate(job(BenchSettings(), shapes={"x": [1, 0]}))
