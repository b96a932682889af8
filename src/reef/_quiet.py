"""The Ctrl-C handler in place while the CLI is imported: end at once with 130, say nothing.

A module of its own, so that ``reef.__main__`` (which ``python -m reef`` runs as ``__main__``,
a second copy of it) and ``reef.cli`` see the same function.
"""

from __future__ import annotations

import os
from types import FrameType

EXIT_SIGINT = 130  # as reef.errors says; that module is not imported this early


def quiet_exit(_signum: int, _frame: FrameType | None) -> None:
    os._exit(EXIT_SIGINT)
