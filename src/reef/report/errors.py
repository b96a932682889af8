"""The one exception the report modules raise at users (``reef.errors.ReportError``: a report
or figure cannot be written as asked, exit 2, nothing written), and the install hint they
give."""

from __future__ import annotations

from reef.errors import ReportError

__all__ = ["MATPLOTLIB_HINT", "ReportError"]

MATPLOTLIB_HINT = "pip install 'reef-bench[report]'"
