"""System level: CPU per core, this process's memory and, through NVML where there is one,
each GPU's utilisation and memory, sampled on a thread at a fixed period.

Bounded: when ``max_samples`` are held, every other one is dropped and the period doubles,
so that a long run keeps an even, coarser record; the metadata says so.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    t_ns: int
    cpu: list[float]  # percent, per core, since the previous sample
    rss: int  # bytes
    gpus: list[tuple[float, int]] = field(default_factory=list)  # (utilisation %, memory bytes)


class Gpus:
    """NVML's devices, or none: pynvml (nvidia-ml-py) is optional and imported here only."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.names: list[str] = []
        self.note: str | None = None
        self._nvml: Any = None
        try:
            import pynvml  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            self.note = "GPU counters not recorded: nvidia-ml-py is not installed (reef-bench[gpu])"
            return
        try:
            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.names = [str(pynvml.nvmlDeviceGetName(h)) for h in self.handles]
            self._nvml = pynvml
        except Exception as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
            self.handles = []
            self.note = f"GPU counters not recorded: NVML is not usable here ({exc})"
            return
        if not self.handles:
            self.note = "GPU counters not recorded: NVML found no GPU"

    def read(self) -> list[tuple[float, int]]:
        nvml = self._nvml
        out = []
        for h in self.handles:
            util = nvml.nvmlDeviceGetUtilizationRates(h)
            mem = nvml.nvmlDeviceGetMemoryInfo(h)
            out.append((float(util.gpu), int(mem.used)))
        return out

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):  # a driver that went away
                self._nvml.nvmlShutdown()
            self._nvml = None


class SystemSampler:
    def __init__(self, interval_ms: float = 100.0, max_samples: int = 10_000) -> None:
        self.interval_s = interval_ms / 1000
        self.max_samples = max(2, max_samples)
        self.samples: list[Sample] = []
        self.decimated = 0  # how many times every other sample was dropped
        self.dropped = 0
        self.gpus: Gpus | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def notes(self) -> list[str]:
        return [self.gpus.note] if self.gpus is not None and self.gpus.note else []

    def start(self) -> None:
        import psutil

        self.gpus = Gpus()
        self._process = psutil.Process()
        psutil.cpu_percent(percpu=True)  # the first call only starts the measurement
        self._thread = threading.Thread(target=self._loop, name="reef-trace-system", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if self.gpus is not None:
            self.gpus.close()

    def _loop(self) -> None:
        import psutil

        while not self._stop.wait(self.interval_s):
            try:
                cpu = [float(c) for c in psutil.cpu_percent(percpu=True)]
                rss = int(self._process.memory_info().rss)
                gpus = self.gpus.read() if self.gpus is not None and self.gpus.handles else []
            except Exception:  # pragma: no cover - a counter that vanished mid-run
                continue
            self.samples.append(Sample(time.perf_counter_ns(), cpu, rss, gpus))
            if len(self.samples) >= self.max_samples:
                self.dropped += len(self.samples) - len(self.samples[::2])
                self.samples = self.samples[::2]
                self.interval_s *= 2
                self.decimated += 1

    def policy(self) -> str:
        base = f"every {self.interval_s * 1000:g} ms"
        if self.decimated:
            base += (
                f" (the period doubled {self.decimated} time(s) on reaching {self.max_samples} "
                f"samples, each time dropping every other sample: {self.dropped} dropped)"
            )
        return base
