"""The one exception the report modules raise at users."""

from __future__ import annotations

from reef.errors import ReefError

__all__ = ["MATPLOTLIB_HINT", "ReportError"]

MATPLOTLIB_HINT = "pip install 'reef-bench[report]'"


class ReportError(ReefError):
    """A report or figure cannot be written as asked (exit 2); nothing was written."""
