"""Reef: portable, reproducible ML benchmarking and deployment."""

from functools import cache
from typing import Any

__all__ = ["__version__"]


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reef")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    # importlib.metadata costs tens of milliseconds (it scans every installed distribution):
    # only pay for it when asked, and once.
    if name == "__version__":
        return _version()
    raise AttributeError(name)
