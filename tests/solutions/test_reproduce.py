"""Judging a reproduction: identical runs are reproduced; a changed accuracy, status or
latency distribution differs, with the reason; noise is not called a difference."""

from __future__ import annotations

import random
from typing import Any

from factories import run_record
from reef.meta.run import Accuracy, ComponentRef, RunRecord
from reef.solutions.reproduce import accuracy_tolerance, compare

SHA = "ab" * 32


def latencies(scale: float, seed: int, n: int = 2000) -> list[int]:
    rng = random.Random(seed)
    return [int(100_000 * scale * rng.lognormvariate(0, 0.1)) for _ in range(n)]


def record(
    *,
    accuracy: float | None = 0.97,
    lat: list[int] | None = None,
    status: str = "valid",
    environment: dict[str, Any] | None = None,
    model_sha: str = SHA,
) -> RunRecord:
    lock = {
        "root": "m",
        "components": [{"name": "m", "version": "1.0.0", "sha256": "cd" * 32}],
    }
    ms = (sorted(lat)[len(lat) // 2] / 1e6) if lat else 0.1
    return run_record(
        created_at=None,
        status=status,
        kind="component",
        name="m",
        version="1.0.0",
        path="/m",
        sha256=model_sha,
        components=[ComponentRef(kind="model", name="m", version="1.0.0", sha256="cd" * 32)],
        backend=None,
        latency_ms=dict.fromkeys(("min", "mean", "p50", "p90", "p95", "p99", "max"), ms),
        throughput_qps=1000,
        queries=100,
        accuracy=None
        if accuracy is None
        else Accuracy(metric="top1", value=accuracy, reference=0.97, threshold=0.99),
        environment=environment or {"hardware": {"cpu": "x"}, "software": {"ort": "1.0"}},
        lock=lock,
        raw=lat,
    )


def test_the_same_distribution_again_is_reproduced() -> None:
    result = compare(record(lat=latencies(1, 1)), record(lat=latencies(1, 2)), tolerance=0.01)
    assert result.verdict == "reproduced", result.reasons
    assert all(c["identical"] for c in result.components)
    assert result.environment == []
    assert result.accuracy is not None and result.accuracy["equal"]


def test_a_slower_distribution_differs_and_says_by_how_much() -> None:
    result = compare(record(lat=latencies(1, 1)), record(lat=latencies(1.5, 2)), tolerance=0.01)
    assert result.verdict == "differs"
    assert any("slower" in r for r in result.reasons)
    assert result.latency is not None and 1.4 < result.latency["ratio"] < 1.6


def test_accuracy_outside_the_tolerance_differs_inside_it_does_not() -> None:
    lat = latencies(1, 1)
    tol = accuracy_tolerance(record())
    assert abs(tol - 0.97 * 0.01) < 1e-12
    assert compare(record(lat=lat), record(accuracy=0.965, lat=lat), tolerance=tol).verdict == (
        "reproduced"
    )
    result = compare(record(lat=lat), record(accuracy=0.90, lat=lat), tolerance=tol)
    assert result.verdict == "differs"
    assert any("accuracy top1 0.9700 then 0.9000" in r for r in result.reasons)


def test_a_missing_accuracy_differs() -> None:
    lat = latencies(1, 1)
    result = compare(record(lat=lat), record(accuracy=None, lat=lat), tolerance=0.01)
    assert result.verdict == "differs" and any("then none" in r for r in result.reasons)


def test_another_status_differs() -> None:
    lat = latencies(1, 1)
    result = compare(record(lat=lat), record(lat=lat, status="invalid"), tolerance=0.01)
    assert result.verdict == "differs" and any(
        "status valid then invalid" in r for r in result.reasons
    )


def test_environment_differences_are_listed_not_judged() -> None:
    lat = latencies(1, 1)
    other = {"hardware": {"cpu": "y"}, "software": {"ort": "1.0"}}
    result = compare(record(lat=lat), record(lat=lat, environment=other), tolerance=0.01)
    assert result.verdict == "reproduced"
    assert [(d["group"], d["key"], d["a"], d["b"]) for d in result.environment] == [
        ("hardware", "cpu", "x", "y")
    ]


def test_another_model_file_differs() -> None:
    lat = latencies(1, 1)
    result = compare(record(lat=lat), record(lat=lat, model_sha="ef" * 32), tolerance=0.01)
    assert result.verdict == "differs"
    assert any("model file" in r for r in result.reasons)


def test_without_raw_latencies_the_percentiles_are_compared() -> None:
    result = compare(record(), record(), tolerance=0.01)
    assert result.verdict == "reproduced"
    assert result.latency is not None and result.latency["unit"] == "summary"
    assert "raw latencies" in result.latency["detail"]


def test_a_run_measured_on_a_busy_machine_is_inconclusive_with_what_to_do() -> None:
    from reef.meta.run import Interference

    busy = Interference(
        cpus=[0, 1], seconds=2.0, others_cpu_share=0.45, busy=True,
        reason="other processes used 45% of the run's 2 CPUs",
    )  # fmt: skip
    lat = latencies(1, 1)
    new = record(lat=latencies(1.5, 2))
    new.interference = busy
    result = compare(record(lat=lat), new, tolerance=0.01)
    assert result.verdict == "inconclusive" and result.reasons == []
    assert result.causes[0] == (
        "the reproduction was measured on a busy machine (other processes used 45% of the "
        "run's 2 CPUs)"
    )
    assert "reef env check" in (result.advice or "")
    assert "measured: the reproduction is 1." in result.latency_summary
    # Anything else that differs still makes it differ.
    worse = record(lat=latencies(1.5, 2), accuracy=0.5)
    worse.interference = busy
    assert compare(record(lat=lat), worse, tolerance=0.01).verdict == "differs"
