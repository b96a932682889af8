"""The interference sampler: what it measures while others use the run's CPUs, and how it
judges a run busy. Figures a platform does not report stay None, never a guess."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from reef.bench import interference
from reef.bench.interference import Sampler, _Counters, judge

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)"
)


def counters(wall: float, busy: float, own: float, steal: float = 0.0, total: float = 0.0):
    return _Counters(
        wall=wall, busy_s=busy, total_s=total, steal_s=steal, own_s=own, involuntary=0,
        throttle=None,
    )  # fmt: skip


def test_others_share_is_the_cpus_busy_time_less_our_own() -> None:
    sampler = Sampler(cpus=[0, 1])
    # 10 s on 2 CPUs: 20 CPU-seconds; they were busy 9 s, 3 of them ours: others 6 / 20.
    found = judge(counters(0, 0, 0), counters(10, 9, 3), sampler)
    assert found.others_cpu_share == pytest.approx(0.30)
    assert found.busy
    assert found.reason == "other processes used 30% of the run's 2 CPUs"


def test_a_share_under_a_fifth_is_not_busy() -> None:
    """A quiet VM's own background reaches 10-12% of its CPUs over a short phase."""
    found = judge(counters(0, 0, 0), counters(10, 5.4, 3), Sampler(cpus=[0, 1]))
    assert found.others_cpu_share == pytest.approx(0.12) and not found.busy


def test_a_quiet_run_says_how_quiet() -> None:
    found = judge(counters(0, 0, 0), counters(10, 3.2, 3), Sampler(cpus=[0]))
    assert not found.busy
    assert found.others_cpu_share == pytest.approx(0.02)
    assert found.reason == "other processes used 2.0% of the run's 1 CPU"


def test_steal_alone_makes_a_run_busy() -> None:
    start = counters(0, 0, 0, steal=0, total=0)
    end = counters(10, 1, 1, steal=0.6, total=10)
    found = judge(start, end, Sampler(cpus=[0]))
    assert found.steal_share == pytest.approx(0.06)
    assert found.busy and "steal" in found.reason


def test_unknown_cpu_times_are_not_judged() -> None:
    unknown = _Counters(
        wall=0, busy_s=None, total_s=None, steal_s=None, own_s=0, involuntary=0, throttle=None
    )
    later = _Counters(
        wall=5, busy_s=None, total_s=None, steal_s=None, own_s=1, involuntary=7, throttle=None
    )
    found = judge(unknown, later, Sampler(cpus=[0]))
    assert found.others_cpu_share is None and found.steal_share is None
    assert not found.busy and "not judged" in found.reason
    assert found.involuntary_switches == 7 and found.switches_per_1k_queries is None


def test_a_process_hogging_the_run_cpu_is_seen(tmp_path: object) -> None:
    """A real hog pinned to the run's CPU: the sampler sees others take a large share."""
    cpu = min(os.sched_getaffinity(0))
    hog = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"]
    )
    try:
        time.sleep(0.3)
        sampler = Sampler(cpus=[cpu], interval_s=0.05)
        sampler.start()
        time.sleep(1.0)
        found = sampler.stop()
    finally:
        hog.kill()
        hog.wait()
    assert found is not None
    assert found.others_cpu_share is not None and found.others_cpu_share > 0.5, found
    assert found.busy, found
    assert found.cpus == [cpu] and found.seconds >= 1.0
    assert found.migrations is None or found.migrations >= 0


def test_sampling_can_be_turned_off_for_measuring_its_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert interference.sampling_wanted()
    monkeypatch.setenv("REEF_INTERFERENCE", "0")
    assert not interference.sampling_wanted()


def test_stop_without_start_records_nothing() -> None:
    assert Sampler(cpus=[0]).stop() is None
