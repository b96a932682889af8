"""Trace verbs: settings for a traced bench, a run's trace summary, export, OpenTelemetry.

A run's stored trace is found and read in ``reef.trace.stored``; spans go to OpenTelemetry
through ``reef.trace.otel``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.errors import SettingsError
from reef.files import check_output, write_output
from reef.meta.run import TRACE_LEVELS, RunRecord
from reef.trace import stored
from reef.trace.stored import NoTrace, TraceReport

if TYPE_CHECKING:
    from reef.bench.job import TraceSettings

__all__ = [
    "NoTrace",
    "TraceReport",
    "check_export_path",
    "trace_export",
    "trace_otel",
    "trace_settings",
    "trace_summary",
]


def trace_settings(level: str | None = None, **options: Any) -> TraceSettings | None:
    """Validated trace settings; None for no tracing (the default)."""
    from reef.bench.job import TraceSettings

    chosen = (level or "none").lower()
    if chosen not in TRACE_LEVELS:
        raise SettingsError(
            f"--trace: unknown level {level!r}", hint=f"choose one of {', '.join(TRACE_LEVELS)}"
        )
    if chosen == "none":
        return None
    return TraceSettings(level=chosen, **{k: v for k, v in options.items() if v is not None})


def check_export_path(path: str | Path, option: str = "--export") -> Path:
    """``path`` as a file that can be written (a regular file or a new name in a writable
    folder), checked before any work is done."""
    target = Path(path).expanduser()
    check_output(target, f"{option} file")
    return target.absolute()


def _record(run: str | RunRecord) -> RunRecord:
    from reef.api.runs import runs_show

    return runs_show(run)


def trace_summary(run: str | RunRecord) -> TraceReport:
    """The summary of a run's trace (the run by id, unique prefix or ``RunRecord``): time
    per stage, top operators, cold against median query, the slowest query. A run without a
    trace raises ``NoTrace``."""
    return stored.trace_report(_record(run))


def trace_export(run: str | RunRecord, path: str | Path) -> Path:
    """Write the run's trace to ``path``: plain Chrome JSON, or gzipped when it ends in .gz;
    returns the file written."""
    target = check_export_path(path)
    data = stored.exported(_record(run), target.name.endswith(".gz"))
    write_output(target, data, "--export file")
    return target


def trace_otel(run: str | RunRecord, exporter: Any = None) -> int:
    """Send the run's model spans to an OpenTelemetry span exporter: ``exporter``, or the
    OTLP/HTTP exporter configured by the ``OTEL_EXPORTER_OTLP_*`` environment variables.
    Returns how many spans were sent."""
    from reef.trace import chrome, otel

    otel.check_sdk()
    if exporter is None:
        exporter = otel.otlp_exporter()
    path = stored.trace_file(_record(run))
    return otel.export_spans(chrome.read(path), exporter)
