"""The BLAS / LAPACK libraries numpy was built with, and the threading layer it runs on.

The build configuration (``numpy.show_config(mode="dicts")``, numpy >= 1.26) is stable. What
``threadpoolctl`` sees is the libraries loaded into this process right now, which depends on
what else was imported first, so it is recorded as volatile.
"""

from __future__ import annotations

import importlib
from typing import Any

from reef.environment.detect import detector

_LIBRARY_KEYS = ("name", "version", "found", "detection method", "openblas configuration")


def _build(np: Any) -> dict[str, Any]:
    try:
        config = np.show_config(mode="dicts")
    except TypeError:
        return {}  # numpy < 1.26 can only print its configuration
    if not isinstance(config, dict):
        return {}
    deps = config.get("Build Dependencies") or {}
    out: dict[str, Any] = {}
    for lib in ("blas", "lapack"):
        info = deps.get(lib)
        if isinstance(info, dict):
            out[lib] = {k.replace(" ", "_"): info[k] for k in _LIBRARY_KEYS if k in info}
    simd = config.get("SIMD Extensions")
    if isinstance(simd, dict):
        out["simd"] = {k.replace(" ", "_"): v for k, v in simd.items()}
    return out


def _runtime() -> list[dict[str, Any]] | None:
    try:
        threadpoolctl: Any = importlib.import_module("threadpoolctl")
    except ImportError:
        return None
    try:
        return [dict(info) for info in threadpoolctl.threadpool_info()]
    except Exception:
        return None  # an optional view: its failure is not worth a problem


@detector("blas", group="software")
def blas() -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("numpy") is None:
        return {}
    # Installed but not importable is a problem to report, not an absence.
    np: Any = importlib.import_module("numpy")
    out = {"numpy": str(np.__version__), **_build(np)}
    runtime = _runtime()
    if runtime is not None:
        out["volatile"] = {"threadpools": runtime}
    return out
