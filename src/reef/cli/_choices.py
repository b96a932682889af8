"""Options that take one of a fixed set of values (``reef.meta.choices``).

``typer.Option(..., **choice(SCENARIO))`` reads any spelling the choice accepts
(``single-stream``, ``OFFLINE``) as its value before the command runs, lists the values in
``--help`` (``[SingleStream|MultiStream|Server|Offline]``), completes them in the shell, and
refuses anything else with the choice's one-line error (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reef.meta.choices import Choice


def choice(values: Choice, *, metavar: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``typer.Option`` or ``typer.Argument`` for ``values``."""
    return {
        "parser": values.parse,
        "metavar": metavar or values.metavar,
        "autocompletion": _completer(values),
    }


def _completer(values: Choice) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        # Typer keeps only completions that start with what was typed, as typed: `-s off`
        # completes to `offline`, which reads as Offline like any other spelling.
        start = incomplete.lower()
        n = len(incomplete)
        return [incomplete + v[n:] for v in values.values if v.lower().startswith(start)]

    return complete
