"""The CPU: model, architecture, cores, frequency, and the instruction-set extensions that
decide which kernels an inference engine can use."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

from reef.environment.detect import detector

# The Linux /proc/cpuinfo names (x86 "flags", Arm "Features") worth recording: the vector,
# dot-product and matrix extensions inference kernels are chosen by. Everything else (hundreds
# of flags on x86) is noise in a fingerprint.
INFERENCE_ISA = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "neon",
    "asimd",
    "asimddp",
    "asimdhp",
    "i8mm",
    "bf16",
    "sve",
    "sve2",
    "sme",
)

# macOS names them differently (sysctl hw.optional.*); best effort, mapped onto the Linux names.
_MAC_ISA = {
    "hw.optional.sse4_2": "sse4_2",
    "hw.optional.avx1_0": "avx",
    "hw.optional.avx2_0": "avx2",
    "hw.optional.fma": "fma",
    "hw.optional.f16c": "f16c",
    "hw.optional.avx512f": "avx512f",
    "hw.optional.avx512bw": "avx512bw",
    "hw.optional.avx512vl": "avx512vl",
    "hw.optional.avx512vnni": "avx512_vnni",
    "hw.optional.neon": "neon",
    "hw.optional.AdvSIMD": "asimd",
    "hw.optional.arm.FEAT_DotProd": "asimddp",
    "hw.optional.arm.FEAT_FP16": "asimdhp",
    "hw.optional.arm.FEAT_I8MM": "i8mm",
    "hw.optional.arm.FEAT_BF16": "bf16",
    "hw.optional.arm.FEAT_SME": "sme",
}


def _linux() -> tuple[str | None, str | None, set[str]]:
    """(model, vendor, flags) from /proc/cpuinfo; the first processor's flags speak for all."""
    model = vendor = None
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key in ("model name", "Model", "Hardware") and model is None:
                    model = value
                elif key in ("vendor_id", "CPU implementer") and vendor is None:
                    vendor = value
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    if "asimd" in flags:
        flags.add("neon")  # AArch64 reports Advanced SIMD as asimd; it is what NEON names
    return model, vendor, flags


def _macos() -> tuple[str | None, str | None, set[str]]:
    try:
        proc = subprocess.run(
            ["sysctl", "machdep.cpu.brand_string", "machdep.cpu.vendor", "hw.optional"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None, set()
    values: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(":")
        values[key.strip()] = value.strip()
    flags = {name for key, name in _MAC_ISA.items() if values.get(key) == "1"}
    return values.get("machdep.cpu.brand_string"), values.get("machdep.cpu.vendor"), flags


@detector("cpu", group="hardware")
def cpu() -> dict[str, Any]:
    import psutil

    if sys.platform.startswith("linux"):
        model, vendor, flags = _linux()
    elif sys.platform == "darwin":
        model, vendor, flags = _macos()
    else:
        model, vendor, flags = None, None, set()
    logical = psutil.cpu_count(logical=True)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError):
        freq = None
    volatile: dict[str, Any] = {}
    if freq is not None and freq.current:
        volatile["frequency_mhz"] = round(freq.current, 1)
    if hasattr(os, "getloadavg"):
        volatile["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "model": model or platform.processor() or platform.machine(),
        "vendor": vendor,
        "architecture": platform.machine(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": logical,
        "usable_cores": usable,
        # The rated maximum is a property of the part; the current clock is not.
        "max_frequency_mhz": round(freq.max, 1) if freq is not None and freq.max else None,
        "isa": sorted(f for f in INFERENCE_ISA if f in flags),
        "volatile": volatile,
    }
