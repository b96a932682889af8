"""What else the machine did while a run was measured.

A latency is only comparable with another taken under the same conditions, and the commonest
difference between two runs of the same model is not the model: it is a browser, a compiler or
a neighbour VM using the same cores. The worker samples, during the measured phase and off the
hot path (one thread, a few reads of ``/proc`` and ``/sys`` per second):

- the CPU time other processes used on the run's CPUs: the busy time of those CPUs
  (``psutil.cpu_times``) less this process's own (``getrusage``, every thread);
- steal: time the hypervisor gave the run's CPUs to someone else;
- this process's involuntary context switches (``getrusage``) and CPU migrations (each
  thread's ``se.nr_migrations`` in ``/proc/self/task/*/sched``, where the kernel exposes it);
- the CPU frequency range (``psutil.cpu_freq``), and thermal throttle events
  (``/sys/devices/system/cpu/cpu*/thermal_throttle``) where Linux exposes them.

``busy`` is the judgement compare and reproduce rest on: a run measured while others took a
real share of its CPUs, or the hypervisor stole one, or the CPU throttled, cannot vouch for its
latencies. What cannot be read on a platform is None, never a guess.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from reef.meta.run import Interference

# How often the sampler thread wakes: often enough to see a frequency dip or a short-lived
# thread's migrations, rare enough to cost nothing measurable (see benchmarks/).
SAMPLE_INTERVAL_S = 0.25
# Above these, a run is called busy: others used a fifth of its CPUs, the hypervisor took 5%.
# On a quiet 2-core VM the system's own background reaches 10-12% of both CPUs over a short
# measured phase; a single competing process on one of them shows 50% (benchmarks/verdicts.py).
BUSY_OTHERS_SHARE = 0.20
BUSY_STEAL_SHARE = 0.05

_CPU_ROOT = Path("/sys/devices/system/cpu")


def sampling_wanted() -> bool:
    """False when ``REEF_INTERFERENCE=0``: only to measure what sampling costs
    (``benchmarks/interference_overhead.py``); a run so made records no interference."""
    return os.environ.get("REEF_INTERFERENCE", "1") != "0"


def run_cpus() -> list[int]:
    """The CPUs this process may run on, in order."""
    from reef.meta.settings import allowed_cores

    return sorted(allowed_cores())


@dataclass
class _Counters:
    """Cumulative counters at one moment."""

    wall: float
    busy_s: float | None  # the run's CPUs: time not idle, not waiting for I/O, not stolen
    total_s: float | None
    steal_s: float | None
    own_s: float
    involuntary: int
    throttle: int | None


@dataclass
class Sampler:
    """Samples interference between ``start()`` and ``stop()``; the sampling runs on a daemon
    thread, and every read that fails leaves its figure unknown."""

    cpus: list[int] = field(default_factory=run_cpus)
    interval_s: float = SAMPLE_INTERVAL_S
    _start: _Counters | None = None
    _stop_event: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _freqs: list[float] = field(default_factory=list)
    # Per thread: the migrations counted when first seen during the run, and the latest.
    _migrations: dict[str, tuple[int, int]] = field(default_factory=dict)
    _migrations_known: bool = True

    def start(self) -> None:
        self._start = self._counters()
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="reef-interference", daemon=True)
        self._thread.start()

    def stop(self) -> Interference | None:
        """The section of the record (``switches_per_1k_queries`` is the caller's to fill, once
        it knows the queries); None when ``start`` was never called."""
        if self._start is None:
            return None
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sample()
        return judge(self._start, self._counters(), self)

    def _loop(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        self._sample_frequency()
        self._sample_migrations()

    def _sample_frequency(self) -> None:
        try:
            import psutil

            found = psutil.cpu_freq(percpu=True) or []
        except (OSError, RuntimeError, NotImplementedError, AttributeError):
            return
        for cpu in self.cpus:
            if cpu < len(found) and found[cpu].current > 0:
                self._freqs.append(float(found[cpu].current))

    def _sample_migrations(self) -> None:
        if not self._migrations_known:
            return
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:
            self._migrations_known = False
            return
        for tid in tasks:
            count = _migrations_of(tid)
            if count is None:
                if tid == str(os.getpid()):
                    self._migrations_known = False  # the kernel does not say
                continue
            # A thread first seen now counts from what it had then: LoadGen's threads start
            # during the run, and their few migrations before the first sample are lost.
            first = self._migrations.get(tid, (count, count))[0]
            self._migrations[tid] = (first, count)

    def migrations(self) -> int | None:
        if not self._migrations_known:
            return None
        return sum(latest - first for first, latest in self._migrations.values())

    def frequency_range(self) -> tuple[float | None, float | None]:
        if not self._freqs:
            return None, None
        return min(self._freqs), max(self._freqs)

    def _counters(self) -> _Counters:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy = total = steal = None
        try:
            import psutil

            times = psutil.cpu_times(percpu=True)
            mine = [times[c] for c in self.cpus if c < len(times)]
            if mine:
                stolen = [getattr(t, "steal", 0.0) for t in mine]
                waiting = [getattr(t, "iowait", 0.0) for t in mine]
                steal = sum(stolen)
                total = sum(sum(t) for t in mine) - sum(
                    getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0) for t in mine
                )  # guest time is counted in user time already
                busy = total - sum(t.idle for t in mine) - sum(waiting) - steal
        except (OSError, RuntimeError, AttributeError):
            pass
        return _Counters(
            wall=time.monotonic(),
            busy_s=busy,
            total_s=total,
            steal_s=steal,
            own_s=usage.ru_utime + usage.ru_stime,
            involuntary=usage.ru_nivcsw,
            throttle=_throttle_events(self.cpus),
        )


def _migrations_of(tid: str) -> int | None:
    try:
        text = Path(f"/proc/self/task/{tid}/sched").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("se.nr_migrations"):
            value = line.rpartition(":")[2].strip()
            return int(value) if value.isdigit() else None
    return None


def _throttle_events(cpus: list[int]) -> int | None:
    """Thermal throttle events so far on ``cpus`` (core and package counters); None where
    Linux does not expose them (VMs, most ARM machines, other systems)."""
    if not sys.platform.startswith("linux"):
        return None
    found = None
    for cpu in cpus:
        folder = _CPU_ROOT / f"cpu{cpu}" / "thermal_throttle"
        for name in ("core_throttle_count", "package_throttle_count"):
            try:
                count = int((folder / name).read_text().strip())
            except (OSError, ValueError):
                continue
            found = (found or 0) + count
    return found


def judge(start: _Counters, end: _Counters, sampler: Sampler) -> Interference:
    """The ``interference`` section: the figures between ``start`` and ``end``, and whether
    they make the run busy, with the reason."""
    seconds = max(end.wall - start.wall, 1e-9)
    n = max(len(sampler.cpus), 1)
    others = steal = None
    if start.busy_s is not None and end.busy_s is not None:
        used = (end.busy_s - start.busy_s) - (end.own_s - start.own_s)
        others = min(max(used / (seconds * n), 0.0), 1.0)
    if (
        start.total_s is not None
        and end.total_s is not None
        and start.steal_s is not None
        and end.steal_s is not None
    ):
        elapsed = end.total_s - start.total_s
        steal = (end.steal_s - start.steal_s) / elapsed if elapsed > 0 else 0.0
    switches = end.involuntary - start.involuntary
    throttle = None
    if start.throttle is not None and end.throttle is not None:
        throttle = end.throttle - start.throttle
    low, high = sampler.frequency_range()
    busy, reason = _verdict(others, steal, throttle, n)
    return Interference(
        cpus=list(sampler.cpus),
        seconds=round(seconds, 3),
        others_cpu_share=None if others is None else round(others, 4),
        steal_share=None if steal is None else round(steal, 4),
        involuntary_switches=switches,
        migrations=sampler.migrations(),
        freq_mhz_min=low,
        freq_mhz_max=high,
        throttle_events=throttle,
        busy=busy,
        reason=reason,
    )


def _verdict(
    others: float | None, steal: float | None, throttle: int | None, cpus: int
) -> tuple[bool, str]:
    where = f"the run's {cpus} CPU{'s' if cpus != 1 else ''}"
    causes = []
    if others is not None and others >= BUSY_OTHERS_SHARE:
        causes.append(f"other processes used {others:.0%} of {where}")
    if steal is not None and steal >= BUSY_STEAL_SHARE:
        causes.append(f"the hypervisor took {steal:.0%} of their time (steal)")
    if throttle:
        causes.append(f"the CPU throttled {throttle} time{'s' if throttle != 1 else ''} (heat)")
    if causes:
        return True, "; ".join(causes)
    if others is None:
        return False, "not judged: this system does not report per-CPU times"
    quiet = f"other processes used {others:.1%} of {where}"
    if steal:
        quiet += f", steal {steal:.1%}"
    return False, quiet
