"""What makes this machine noisy for benchmarking, and what to change (``reef env check``).

Each check reads what Linux (or psutil elsewhere) exposes and says ``ok``, ``warning`` (with
what to do) or ``unknown`` (the system does not say). They follow what pyperf's
``system show`` looks at, for ML inference: other busy processes, the CPU frequency governor,
turbo boost, SMT siblings sharing a core, swap in use, a laptop on battery, time stolen by a
hypervisor, and cores isolated for benchmarking. Nothing is changed: changing a governor or
turbo needs root, and is the user's decision.

File reads go through ``root`` (``/`` by default), so that tests can hand in a made-up
``/sys`` and ``/proc``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["ok", "warning", "unknown"]

# A process using more than this share of one core while the check watches is "busy".
BUSY_PROCESS_SHARE = 0.05
# How long the check watches processes and steal time.
WATCH_S = 0.5


class NoiseCheck(BaseModel):
    """One thing that can make latencies vary, as found on this machine."""

    name: str
    status: Status
    found: str = Field(description="what the machine says")
    advice: str | None = Field(None, description="what to change, when it is a warning")


class NoiseReport(BaseModel):
    """Every check; ``noisy`` when any warns."""

    checks: list[NoiseCheck]
    noisy: bool


def check(root: Path = Path("/"), watch_s: float = WATCH_S) -> NoiseReport:
    """Run every check; ``watch_s`` is how long busy processes and steal are watched."""
    checks = [
        busy_processes(watch_s),
        steal(root, watch_s),
        governor(root),
        turbo(root),
        smt(root),
        swap(),
        battery(),
        isolated(root),
    ]
    return NoiseReport(checks=checks, noisy=any(c.status == "warning" for c in checks))


def _read(root: Path, path: str) -> str | None:
    try:
        return (root / path.lstrip("/")).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def busy_processes(watch_s: float = WATCH_S) -> NoiseCheck:
    import psutil

    name = "other busy processes"
    me = os.getpid()
    procs = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.info["pid"] == me:
            continue
        try:
            proc.cpu_percent(None)  # the first call starts the count
            procs.append(proc)
        except (psutil.Error, OSError):
            continue
    time.sleep(watch_s)
    busy = []
    for proc in procs:
        try:
            share = proc.cpu_percent(None) / 100
        except (psutil.Error, OSError):
            continue
        if share > BUSY_PROCESS_SHARE:
            busy.append((share, proc.info["name"] or "?", proc.info["pid"]))
    if not busy:
        return NoiseCheck(
            name=name, status="ok", found=f"none above {BUSY_PROCESS_SHARE:.0%} of a core"
        )
    busy.sort(reverse=True)
    shown = ", ".join(f"{n} (pid {pid}, {share:.0%} of a core)" for share, n, pid in busy[:5])
    more = f" and {len(busy) - 5} more" if len(busy) > 5 else ""
    return NoiseCheck(
        name=name,
        status="warning",
        found=shown + more,
        advice="stop them while measuring, or give the run cores of its own with --cpus "
        "(and keep the others off them: taskset, cgroups); runs measured meanwhile are marked "
        "busy",
    )


def steal(root: Path = Path("/"), watch_s: float = WATCH_S) -> NoiseCheck:
    name = "steal time (virtual machine)"
    first = _steal_fields(root)
    if first is None:
        return NoiseCheck(name=name, status="unknown", found="/proc/stat has no steal column")
    time.sleep(watch_s)
    second = _steal_fields(root) or first
    total, stolen = second[0] - first[0], second[1] - first[1]
    share = stolen / total if total > 0 else 0.0
    if share < 0.01:
        return NoiseCheck(name=name, status="ok", found=f"{share:.1%} of CPU time stolen")
    return NoiseCheck(
        name=name,
        status="warning",
        found=f"{share:.1%} of CPU time stolen by the hypervisor",
        advice="a neighbour VM shares this host's cores: benchmark on dedicated (bare-metal "
        "or pinned-vCPU) instances, or repeat runs (--repeat) and expect inconclusive verdicts",
    )


def _steal_fields(root: Path) -> tuple[int, int] | None:
    text = _read(root, "/proc/stat")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:] if v.isdigit()]
            if len(values) < 8:
                return None
            return sum(values[:8]), values[7]
    return None


def governor(root: Path = Path("/")) -> NoiseCheck:
    name = "CPU frequency governor"
    found: dict[str, list[int]] = {}
    for cpu in _cpus(root):
        value = _read(root, f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor")
        if value is not None:
            found.setdefault(value, []).append(cpu)
    if not found:
        return NoiseCheck(
            name=name, status="unknown", found="not exposed (a VM, or no cpufreq driver)"
        )
    shown = "; ".join(f"{g} on {len(c)} CPU{'s' if len(c) != 1 else ''}" for g, c in found.items())
    if set(found) == {"performance"}:
        return NoiseCheck(name=name, status="ok", found=shown)
    return NoiseCheck(
        name=name,
        status="warning",
        found=shown,
        advice="the frequency follows the load, so the first queries of a run are slower: "
        "`sudo cpupower frequency-set -g performance` while measuring",
    )


def turbo(root: Path = Path("/")) -> NoiseCheck:
    name = "turbo boost"
    no_turbo = _read(root, "/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = _read(root, "/sys/devices/system/cpu/cpufreq/boost")
    if no_turbo is None and boost is None:
        return NoiseCheck(name=name, status="unknown", found="not exposed")
    on = no_turbo == "0" if no_turbo is not None else boost == "1"
    if not on:
        return NoiseCheck(name=name, status="ok", found="off")
    return NoiseCheck(
        name=name,
        status="warning",
        found="on",
        advice="the clock rises and falls with temperature and with the other cores' load: "
        "turn it off while measuring (echo 1 | sudo tee "
        "/sys/devices/system/cpu/intel_pstate/no_turbo, or 0 to .../cpufreq/boost)",
    )


def smt(root: Path = Path("/")) -> NoiseCheck:
    name = "SMT (hyper-threading)"
    active = _read(root, "/sys/devices/system/cpu/smt/active")
    siblings = {
        _read(root, f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        for cpu in _cpus(root)
    } - {None}
    shared = sorted(s for s in siblings if s is not None and ("," in s or "-" in s))
    if active is None and not siblings:
        return NoiseCheck(name=name, status="unknown", found="not exposed")
    if active == "0" or not shared:
        return NoiseCheck(name=name, status="ok", found="off: no two CPUs share a core")
    return NoiseCheck(
        name=name,
        status="warning",
        found=f"on: CPUs sharing a core: {' '.join(shared[:4])}"
        + (" ..." if len(shared) > 4 else ""),
        advice="a sibling's work slows the run's core: pin the run to one CPU per core "
        "(--cpus) and keep the siblings idle, or turn SMT off",
    )


def swap() -> NoiseCheck:
    import psutil

    name = "swap"
    try:
        used = psutil.swap_memory().used
    except (OSError, RuntimeError):
        return NoiseCheck(name=name, status="unknown", found="not reported")
    if used == 0:
        return NoiseCheck(name=name, status="ok", found="none in use")
    return NoiseCheck(
        name=name,
        status="warning",
        found=f"{used / 2**20:,.0f} MiB in use",
        advice="pages of the model or its samples may be on disk: free memory (close "
        "programs), or turn swap off while measuring (sudo swapoff -a)",
    )


def battery(sensors: Callable[[], object] | None = None) -> NoiseCheck:
    import psutil

    name = "power"
    read = sensors or getattr(psutil, "sensors_battery", None)
    try:
        found = read() if read is not None else None
    except (OSError, RuntimeError, NotImplementedError):
        found = None
    if found is None:
        return NoiseCheck(name=name, status="ok", found="no battery (mains power)")
    plugged = getattr(found, "power_plugged", None)
    if plugged is None:
        return NoiseCheck(name=name, status="unknown", found="a battery; charger not reported")
    if plugged:
        return NoiseCheck(name=name, status="ok", found="on mains power")
    return NoiseCheck(
        name=name,
        status="warning",
        found=f"on battery ({getattr(found, 'percent', '?')}%)",
        advice="a laptop on battery lowers its clock to save power: plug it in",
    )


def isolated(root: Path = Path("/")) -> NoiseCheck:
    name = "isolated cores"
    value = _read(root, "/sys/devices/system/cpu/isolated")
    if value is None:
        return NoiseCheck(name=name, status="unknown", found="not exposed")
    if not value:
        return NoiseCheck(
            name=name,
            status="ok",
            found="none (optional: isolcpus= keeps the scheduler's other work off chosen cores)",
        )
    return NoiseCheck(
        name=name,
        status="ok",
        found=f"{value}: benchmark on them with --cpus {value}",
    )


def _cpus(root: Path) -> list[int]:
    folder = root / "sys/devices/system/cpu"
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return []
    return sorted(int(n[3:]) for n in names if n.startswith("cpu") and n[3:].isdigit())
