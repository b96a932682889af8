"""The Python interpreter, and the packages Reef's own measurements depend on."""

from __future__ import annotations

import contextlib
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from reef.environment.detect import detector

# What a run's numbers depend on besides the frameworks (which ``frameworks`` reports). Reef
# itself is listed as `reef`, its import package, whatever its distribution is called
# (reef-bench): the version is the code's own, installed or run from a checkout.
PACKAGES = ("numpy", "mlcommons-loadgen", "onnx", "pillow", "psutil")


@detector("python", group="software")
def python() -> dict[str, Any]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "compiler": platform.python_compiler(),
        "bits": 64 if sys.maxsize > 2**32 else 32,
        # Where the interpreter lives says which environment ran, not what it is.
        "volatile": {"executable": sys.executable, "prefix": sys.prefix},
    }


@detector("packages", group="software")
def packages() -> dict[str, Any]:
    import reef

    found: dict[str, Any] = {"reef": reef.__version__}
    for name in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found
