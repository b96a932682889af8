"""A run's stored trace: found from its record, read back as what ``reef trace ID`` shows
(``TraceReport``), copied out, or sent to OpenTelemetry (``reef.trace.otel``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reef import config
from reef.errors import ReportError
from reef.meta.run import RunRecord
from reef.trace import chrome
from reef.trace.summary import TraceSummary

__all__ = ["RECORD_HINT", "NoTrace", "TraceReport", "exported", "trace_file", "trace_report"]

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


def trace_file(record: RunRecord) -> Path:
    """The trace file of ``record``: where the record says, else in its run folder. A run
    benchmarked without tracing, or whose file is gone, raises ``NoTrace``."""
    short = record.id[:12]
    if record.trace is None or record.trace.level == "none":
        raise NoTrace(f"run {short} has no trace: it was benchmarked without --trace", RECORD_HINT)
    candidates = [Path(record.trace.path)] if record.trace.path else []
    candidates.append(config.runs_dir() / record.id / chrome.TRACE_FILE)
    for path in candidates:
        if path.is_file():
            return path
    why = "; ".join(record.trace.notes) or f"{candidates[0]} is missing"
    raise NoTrace(f"run {short} was traced ({record.trace.level}) but has no trace file: {why}")


def trace_report(record: RunRecord) -> TraceReport:
    """The summary the trace of ``record`` carries, with what the file holds."""
    path = trace_file(record)
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


def exported(record: RunRecord, gz: bool) -> bytes:
    """The trace of ``record`` as plain Chrome JSON, or gzipped with ``gz``."""
    return chrome.exported(trace_file(record), gz)
