"""The machine's energy counters, read at the start and the end of a measured phase.

- CPU package and DRAM energy from RAPL, through Linux's powercap sysfs tree
  (``/sys/class/powercap``; ``REEF_POWERCAP_ROOT`` or ``root=`` points elsewhere, for tests):
  each top-level zone ``intel-rapl:N`` (``amd-rapl:N`` too) named ``package-N`` in its ``name``
  file, and each zone named ``dram`` (a subzone ``intel-rapl:N:M``, or top-level on some
  servers). ``energy_uj`` is a cumulative counter in microjoules that wraps at
  ``max_energy_range_uj``. The ``core``, ``uncore`` and ``psys`` zones are left out: the first
  two are inside the package's figure, the last holds the packages, and adding them would count
  the same joules twice.
- GPU energy from NVML (``pynvml``, in the ``gpu`` extra, imported only here):
  ``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the driver loaded, per device.

The counters are the whole machine's: other processes' energy is in them, as is every GPU's,
the idle ones included. Each is read twice (``EnergyMeter.start``, ``EnergyMeter.stop``), so
what the run's queries do costs nothing, and a counter that wraps is seen to wrap once at most
(a package's range is some hundreds of kilojoules: many minutes at full power).

A counter that cannot be read is said in one line (``NO_RAPL``, ``RAPL_DENIED``, ``NO_NVML``,
``NO_GPU_ENERGY``) and its figure is left out, never guessed.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from reef.meta.run import EnergyDomain, EnergyInfo

ROOT_ENV = "REEF_POWERCAP_ROOT"
DEFAULT_ROOT = Path("/sys/class/powercap")

NO_RAPL = "no RAPL in this VM"
RAPL_DENIED = "permission denied: run as root or add a udev rule"
NO_NVML = "no NVIDIA driver (NVML)"
NO_GPU_ENERGY = "this GPU does not report total energy"

# intel-rapl:0 (a package), intel-rapl:0:1 (its subzone); intel-rapl-mmio:0 repeats a package
# through another interface and is not matched.
_ZONE = re.compile(r"(?:intel|amd)-rapl:(\d+)(?::(\d+))?")
_PACKAGE = re.compile(r"package-(\d+)")


def powercap_root(root: Path | str | None = None) -> Path:
    """``root``, else ``REEF_POWERCAP_ROOT``, else ``/sys/class/powercap``."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


@dataclass(frozen=True)
class RaplZone:
    """One RAPL counter: its domain name, its ``energy_uj`` file and its wrap range (uJ)."""

    name: str
    path: Path
    range_uj: int | None


def rapl_zones(root: Path | str | None = None) -> tuple[list[RaplZone], list[str]]:
    """The package and DRAM counters under the powercap tree, and a note when there are
    none."""
    base = powercap_root(root)
    try:
        entries = sorted(base.iterdir(), key=lambda p: _order(p.name))
    except OSError:
        return [], [NO_RAPL]
    found: dict[str, RaplZone] = {}
    for entry in entries:
        match = _ZONE.fullmatch(entry.name)
        if match is None:
            continue
        kind = _read_text(entry / "name")
        if kind is None:
            continue
        package = _PACKAGE.fullmatch(kind)
        if package is not None and match.group(2) is None:
            name = kind
        elif kind == "dram":
            # A subzone is the DRAM of its package; a top-level DRAM zone is counted apart.
            name = f"dram-{match.group(1)}"
        else:
            continue
        if name in found:  # a subzone seen both in its package's folder and flat
            continue
        range_text = _read_text(entry / "max_energy_range_uj")
        range_uj = int(range_text) if range_text and range_text.isdigit() else None
        found[name] = RaplZone(name, entry / "energy_uj", range_uj)
    if not found:
        return [], [NO_RAPL]
    return list(found.values()), []


def _order(name: str) -> tuple[int, ...]:
    """``intel-rapl:10`` after ``intel-rapl:2``."""
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def read_uj(path: Path) -> int:
    """A counter's value; raises ``OSError`` (``PermissionError`` where it is root's only:
    kernels since 5.10 keep ``energy_uj`` from other users)."""
    return int(path.read_text().strip())


@dataclass
class Reading:
    """Every counter's value at one moment: joules since some origin, by domain."""

    at: float
    joules: dict[str, float] = field(default_factory=dict)


@dataclass
class EnergyMeter:
    """Reads every energy counter at ``start()`` and ``stop()``; finding the counters (and
    starting NVML) happens when it is made, before the measured phase."""

    root: Path | str | None = None
    notes: list[str] = field(default_factory=list)
    _zones: list[RaplZone] = field(default_factory=list)
    _ranges: dict[str, float] = field(default_factory=dict)
    _nvml: ModuleType | None = None
    _gpus: list[tuple[str, Any]] = field(default_factory=list)
    _start: Reading | None = None

    def __post_init__(self) -> None:
        self._zones, notes = rapl_zones(self.root)
        self.notes.extend(notes)
        self._ranges = {z.name: z.range_uj / 1e6 for z in self._zones if z.range_uj}
        self._open_nvml()

    def _open_nvml(self) -> None:
        try:
            import pynvml  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            self.notes.append(NO_NVML)
            return
        # NVML reports a missing or broken driver with NVMLError subclasses, and a library
        # that cannot load with OSError and the like: any of them means no NVML here.
        try:
            pynvml.nvmlInit()
            count = int(pynvml.nvmlDeviceGetCount())
        except Exception:
            self.notes.append(NO_NVML)
            return
        self._nvml = pynvml
        for index in range(count):
            name = f"gpu-{index}"
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except Exception as exc:
                self.notes.append(f"{name}: {_nvml_problem(pynvml, exc)}")
                continue
            self._gpus.append((name, handle))

    def start(self) -> None:
        self._start = self._read()

    def stop(self, samples: int | None = None) -> EnergyInfo | None:
        """The energy since ``start()`` (None when it was never called); ``samples`` makes
        ``joules_per_sample`` (``with_samples`` sets it later)."""
        if self._start is None:
            return None
        end = self._read()
        self.close()
        seconds = max(end.at - self._start.at, 0.0)
        domains = []
        for name, before in self._start.joules.items():
            after = end.joules.get(name)
            if after is None:
                continue
            spent = after - before
            if spent < 0:
                if name not in self._ranges:
                    self.notes.append(f"{name}: the counter went back and its range is unknown")
                    continue
                spent += self._ranges[name]  # wrapped once past max_energy_range_uj
            method = "nvml" if name.startswith("gpu-") else "rapl"
            domains.append(EnergyDomain(name=name, joules=round(spent, 6), method=method))
        return summarise(domains, seconds, samples, _unique(self.notes))

    def close(self) -> None:
        if self._nvml is not None:
            # A driver gone meanwhile has nothing left to release.
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None

    def _read(self) -> Reading:
        reading = Reading(at=time.monotonic())
        for zone in list(self._zones):
            try:
                reading.joules[zone.name] = read_uj(zone.path) / 1e6
            except PermissionError:
                # One line for the lot: every RAPL counter is root's alike.
                self.notes.append(RAPL_DENIED)
                self._zones = []
                reading.joules = {k: v for k, v in reading.joules.items() if k.startswith("gpu")}
                break
            except (OSError, ValueError) as exc:
                self.notes.append(f"{zone.name}: cannot read {zone.path}: {exc}")
                self._zones.remove(zone)
        for name, handle in list(self._gpus):
            assert self._nvml is not None
            try:
                reading.joules[name] = self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3
            except Exception as exc:
                self.notes.append(f"{name}: {_nvml_problem(self._nvml, exc)}")
                self._gpus.remove((name, handle))
        return reading


def _nvml_problem(pynvml: ModuleType, exc: Exception) -> str:
    unsupported = getattr(pynvml, "NVMLError_NotSupported", None)
    if isinstance(unsupported, type) and isinstance(exc, unsupported):
        return NO_GPU_ENERGY
    return f"NVML cannot read its energy: {exc}"


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def summarise(
    domains: list[EnergyDomain], seconds: float, samples: int | None, notes: list[str]
) -> EnergyInfo:
    """The record's section: the domains' sum, its rate and its share per sample."""
    joules = round(sum(d.joules for d in domains), 6) if domains else None
    info = EnergyInfo(joules=joules, seconds=seconds, domains=domains, notes=notes)
    if joules is not None and seconds > 0:
        info.watts = joules / seconds
    return with_samples(info, samples)


def with_samples(info: EnergyInfo, samples: int | None) -> EnergyInfo:
    """``info`` with ``samples`` and the joules per sample they make."""
    info.samples = samples
    if info.joules is not None and samples:
        info.joules_per_sample = info.joules / samples
    else:
        info.joules_per_sample = None
    return info


def merge(found: list[EnergyInfo | None]) -> EnergyInfo | None:
    """The energy of several processes measured one after another (``--repeat``): their
    joules, seconds and samples add up, domain by domain; a process without figures is said
    in a note and left out of every sum, so that joules and samples stay paired."""
    known = [(i, e) for i, e in enumerate(found, start=1) if e is not None]
    if not known:
        return None
    notes = _unique([note for _, e in known for note in e.notes])
    measured = [(i, e) for i, e in known if e.joules is not None and e.samples]
    left_out = [i for i, _ in enumerate(found, start=1) if i not in {j for j, _ in measured}]
    if measured and left_out:
        notes.append("no energy figures for process " + ", ".join(map(str, left_out)))
    joules: dict[tuple[str, str], float] = {}
    for _, e in measured:
        for d in e.domains:
            joules[d.name, d.method] = joules.get((d.name, d.method), 0.0) + d.joules
    domains = [EnergyDomain(name=n, joules=round(j, 6), method=m) for (n, m), j in joules.items()]
    parts = [e for _, e in measured] or [e for _, e in known]
    samples = sum(e.samples or 0 for e in parts) or None
    return summarise(domains, sum(e.seconds for e in parts), samples, notes)
