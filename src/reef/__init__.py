"""Reef: portable, reproducible ML benchmarking and deployment."""

# No imports here: this module runs before ``reef.__main__`` can make an early Ctrl-C quiet,
# so every millisecond spent here is one in which Ctrl-C prints a traceback.

__all__ = ["__version__"]

_version: str | None = None


def __getattr__(name: str) -> str:
    # importlib.metadata costs tens of milliseconds (it scans every installed distribution):
    # only pay for it when asked, and once.
    global _version
    if name != "__version__":
        raise AttributeError(name)
    if _version is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            _version = version("reef")
        except PackageNotFoundError:  # a source tree that was never installed
            _version = "0.0.0+unknown"
    return _version
