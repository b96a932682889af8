"""Reef: portable, reproducible ML benchmarking and deployment."""

# Nothing but ``os`` (loaded by every interpreter before this runs) is imported here: this
# module runs before ``reef.__main__`` can make an early Ctrl-C quiet, so every millisecond
# spent here is one in which Ctrl-C prints a traceback.
import os

__all__ = ["__version__"]

__version__ = "0.1.0"

EXIT_SIGINT = 130  # as reef.errors says; that module is not imported this early


def _quiet_exit(_signum: int, _frame: object) -> None:
    """The Ctrl-C handler while the CLI is imported: end at once with 130, say nothing.

    It lives here, in the package every entry imports first, so that ``reef.__main__`` (which
    ``python -m reef`` runs as ``__main__``, a second copy) and ``reef.cli`` see one function.
    """
    os._exit(EXIT_SIGINT)
