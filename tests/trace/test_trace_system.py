"""System level: counters sampled on a thread, bounded by doubling the period."""

from __future__ import annotations

import importlib.util
import time

import psutil

from reef.trace.system import SystemSampler


def test_samples_cpu_per_core_and_memory_and_stays_bounded() -> None:
    sampler = SystemSampler(interval_ms=2, max_samples=4)
    sampler.start()
    time.sleep(0.15)
    sampler.stop()
    assert 1 <= len(sampler.samples) < 4
    s = sampler.samples[0]
    assert len(s.cpu) == psutil.cpu_count() and s.rss > 0
    assert sampler.decimated >= 1 and sampler.dropped >= 2
    assert "doubled" in sampler.policy()
    times = [x.t_ns for x in sampler.samples]
    assert times == sorted(times)


def test_gpu_counters_are_skipped_cleanly_without_nvml() -> None:
    sampler = SystemSampler(interval_ms=5)
    sampler.start()
    time.sleep(0.03)
    sampler.stop()
    if importlib.util.find_spec("pynvml") is None:
        assert any("nvidia-ml-py" in n for n in sampler.notes)
        assert all(s.gpus == [] for s in sampler.samples)
