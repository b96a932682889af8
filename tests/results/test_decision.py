"""The one latency rule (``reef.results.decision``): three verdicts, each with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from factories import LATENCY_MS, run_record
from reef.meta.run import Interference, Latency, ProcessRun, RunRecord
from reef.results.decision import ONE_PROCESS, decide


def interference(busy: bool = False) -> Interference:
    return Interference(
        cpus=[0], seconds=1.0, others_cpu_share=0.4 if busy else 0.01, busy=busy,
        reason="other processes used 40% of the run's 1 CPU" if busy else "quiet",
    )  # fmt: skip


def repeated(p50s: list[float], raw: bool = False, busy: bool = False, seed: int = 0) -> RunRecord:
    """A run of len(p50s) processes; with ``raw``, each kept 400 latencies around its p50."""
    rng = np.random.default_rng(seed)
    latencies: list[int] = []
    processes = []
    for i, p50 in enumerate(p50s, start=1):
        kept = 0
        if raw:
            chunk = (rng.normal(p50, p50 * 0.02, 400) * 1e6).astype(int).tolist()
            latencies += chunk
            kept = len(chunk)
        processes.append(
            ProcessRun(
                index=i,
                status="valid",
                latency_ms=Latency(**(LATENCY_MS | {"p50": p50})),
                queries=400,
                latencies_kept=kept,
            )
        )
    record = run_record(raw=latencies or None, interference=interference(busy))
    record.processes = processes
    return record


def test_a_real_slowdown_across_processes_differs() -> None:
    found = decide(repeated([1.0, 1.01, 0.99, 1.0, 1.02]), repeated([1.2, 1.21, 1.19, 1.2, 1.22]))
    assert found.verdict == "differs" and found.unit == "process"
    assert found.sentence.startswith("B is 1.20x slower (")
    assert found.sentence.endswith("; 5 vs 5 processes)")
    assert found.ratio == pytest.approx(1.2, rel=0.01)
    assert found.ci_low is not None and found.ci_low > 1.05
    assert found.causes == [] and found.caveats == []


def test_the_same_model_again_is_reproduced() -> None:
    found = decide(
        repeated([1.0, 1.01, 0.99, 1.0, 1.02], raw=True),
        repeated([1.0, 1.005, 0.995, 1.01, 1.0], raw=True, seed=1),
    )
    assert found.verdict == "reproduced"
    assert found.sentence.startswith("no difference beyond 10% (ratio 1.00")
    assert found.spread_a == pytest.approx(0.03, abs=0.005)  # of raw medians: near 3%


def test_processes_further_apart_than_the_difference_are_inconclusive() -> None:
    """Two latency modes, as this VM gives a microsecond model: no verdict either way."""
    found = decide(repeated([1.0, 1.7, 1.0]), repeated([1.7, 1.0, 1.7]))
    assert found.verdict == "inconclusive"
    assert "spread between processes" in found.causes[0]
    assert "--repeat" in (found.advice or "")


def test_a_busy_run_is_inconclusive_and_says_why() -> None:
    found = decide(repeated([1.0, 1.0, 1.0]), repeated([2.0, 2.0, 2.0], busy=True), "B")
    assert found.verdict == "inconclusive"
    assert found.sentence.startswith("inconclusive: B was measured on a busy machine (other")
    assert "measured: B is 2.00x slower" in found.sentence  # the ratio is still shown
    assert "reef env check" in (found.advice or "")


def test_one_process_each_compares_queries_and_says_so() -> None:
    rng = np.random.default_rng(3)
    a = run_record(raw=(rng.normal(1.0, 0.02, 500) * 1e6).astype(int).tolist())
    b = run_record(raw=(rng.normal(1.3, 0.02, 500) * 1e6).astype(int).tolist())
    found = decide(a, b)
    assert found.unit == "query" and found.verdict == "differs"
    assert ONE_PROCESS in found.caveats
    assert any("kept no interference record" in c for c in found.caveats)


def test_old_records_still_compare_and_the_verdict_says_what_they_lack() -> None:
    old = run_record()  # no interference, no processes, no raw latencies
    found = decide(old, run_record())
    assert found.unit == "summary" and found.verdict == "reproduced"
    assert found.caveats[0].startswith("the baseline and B kept no interference record")


def test_a_run_without_figures_is_inconclusive() -> None:
    found = decide(run_record(), run_record(status="failed", latency_ms=None), "B")
    assert found.verdict == "inconclusive" and found.unit == "none"
    assert found.causes == ["B has no latency figures (status failed)"]


def test_one_side_repeated_makes_the_process_the_unit() -> None:
    single = run_record(
        raw=(np.random.default_rng(5).normal(1.0, 0.02, 400) * 1e6).astype(int).tolist(),
        interference=interference(),
    )
    found = decide(single, repeated([1.25, 1.26, 1.24, 1.25]))
    assert found.unit == "process" and (found.processes_a, found.processes_b) == (1, 4)
    assert found.verdict == "differs"
