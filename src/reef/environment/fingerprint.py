"""A minimal environment fingerprint recorded with every run.

The fingerprint is canonical JSON (sorted keys) with a sha256 over its stable part, so two
runs on the same machine and software share a hash while volatile facts (free memory, the
time) stay out of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PACKAGES = ("reef", "onnxruntime", "numpy", "mlcommons-loadgen", "onnx", "pillow")


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("model name", "Model", "Hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _distribution() -> str | None:
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return None
    return release.get("PRETTY_NAME") or release.get("NAME")


@cache
def collect() -> dict[str, Any]:
    """Facts about this machine and its software; cached for the life of the process."""
    import psutil

    uname = platform.uname()
    facts: dict[str, Any] = {
        "hardware": {
            "cpu_model": _cpu_model(),
            "architecture": uname.machine,
            "physical_cores": psutil.cpu_count(logical=False),
            "logical_cores": psutil.cpu_count(logical=True),
            "usable_cores": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else psutil.cpu_count(logical=True),
            "memory_bytes": psutil.virtual_memory().total,
        },
        "os": {
            "system": uname.system,
            "release": uname.release,
            "distribution": _distribution(),
            "hostname": uname.node,
        },
        "software": {
            "python": {
                "version": platform.python_version(),
                "implementation": platform.python_implementation(),
                "executable": sys.executable,
            },
            "packages": {name: _package_version(name) for name in PACKAGES},
        },
    }
    facts["hash"] = fingerprint_hash(facts)
    return facts


def fingerprint_hash(facts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON, leaving out what names a machine rather than describes it."""
    stable = json.loads(json.dumps({k: v for k, v in facts.items() if k != "hash"}))
    stable.get("os", {}).pop("hostname", None)
    stable.get("software", {}).get("python", {}).pop("executable", None)
    canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
