"""Trace verbs: settings for a traced bench, a run's trace summary, export, OpenTelemetry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from reef import config
from reef.errors import ReportError, SettingsError
from reef.files import check_output, write_output
from reef.meta.run import TRACE_LEVELS, RunRecord
from reef.trace.summary import TraceSummary

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

RECORD_HINT = "record one with: reef bench TARGET --trace model (or framework, system, full)"


class NoTrace(ReportError):
    """The run has no trace to show."""


class TraceReport(BaseModel):
    """What `reef trace ID` shows: the summary, with what the file holds and how it was cut."""

    run_id: str
    path: str
    level: str
    layers: list[str]
    counts: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    summary: TraceSummary


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


def _trace_path(run: str | RunRecord) -> tuple[RunRecord, Path]:
    from reef.api.runs import runs_show

    record = runs_show(run)
    short = record.id[:12]
    if record.trace is None or record.trace.level == "none":
        raise NoTrace(f"run {short} has no trace: it was benchmarked without --trace", RECORD_HINT)
    candidates = [Path(record.trace.path)] if record.trace.path else []
    from reef.trace.chrome import TRACE_FILE

    candidates.append(config.runs_dir() / record.id / TRACE_FILE)
    for path in candidates:
        if path.is_file():
            return record, path
    why = "; ".join(record.trace.notes) or f"{candidates[0]} is missing"
    raise NoTrace(f"run {short} was traced ({record.trace.level}) but has no trace file: {why}")


def trace_summary(run: str | RunRecord) -> TraceReport:
    """The summary of a run's trace (the run by id, unique prefix or ``RunRecord``): time
    per stage, top operators, cold against median query, the slowest query. A run without a
    trace raises ``NoTrace``."""
    from reef.trace import chrome

    record, path = _trace_path(run)
    meta = chrome.metadata(chrome.read(path))
    return TraceReport(
        run_id=record.id,
        path=str(path),
        level=str(meta.get("level")),
        layers=list(meta.get("layers", [])),
        counts=dict(meta.get("counts", {})),
        policy=dict(meta.get("policy", {})),
        notes=list(meta.get("notes", [])),
        summary=TraceSummary.model_validate(meta.get("summary", {"level": "?", "layers": []})),
    )


def trace_export(run: str | RunRecord, path: str | Path) -> Path:
    """Write the run's trace to ``path``: plain Chrome JSON, or gzipped when it ends in .gz;
    returns the file written."""
    from reef.trace import chrome

    target = check_export_path(path)
    _, source = _trace_path(run)
    write_output(target, chrome.exported(source, target.name.endswith(".gz")), "--export file")
    return target


def trace_otel(run: str | RunRecord, exporter: Any = None) -> int:
    """Send the run's model spans to an OpenTelemetry span exporter: ``exporter``, or the
    OTLP/HTTP exporter configured by the ``OTEL_EXPORTER_OTLP_*`` environment variables.
    Returns how many spans were sent."""
    from reef.trace.otel import export_spans

    _check_sdk()
    if exporter is None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise SettingsError(
                "--otel needs opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http",
                hint="pip install 'reef-bench[otel]'",
            ) from exc
        exporter = OTLPSpanExporter()
    from reef.trace import chrome

    _, path = _trace_path(run)
    return export_spans(chrome.read(path), exporter)


def _check_sdk() -> None:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise SettingsError(
            "OpenTelemetry export needs opentelemetry-sdk", hint="pip install 'reef-bench[otel]'"
        ) from exc
