"""Reading LoadGen's logs: the detail log (``:::MLLOG {json}`` lines) and the summary.

The detail log is the reference: each line is one JSON event with a ``key`` and a ``value``,
read as Reef reads its own runs' logs (``reef.bench.logs.parse_event``); the first event of a
key is its value (as MLCommons' checker reads it), and events whose ``metadata.is_error`` /
``is_warning`` is true are LoadGen's errors and warnings. The summary is ``name : value``
lines meant for people; it is read only to see that it agrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reef.bench.logs import MARKER, parse_event

__all__ = ["MARKER", "DetailLog", "read_detail", "read_summary", "summary_result"]


@dataclass
class DetailLog:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad_lines: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values


def read_detail(path: Path) -> DetailLog:
    """Parse ``mlperf_log_detail.txt``; ``:::MLLOG`` lines that hold no LoadGen event are
    skipped and counted (``bad_lines``), other lines skipped."""
    log = DetailLog(path)
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.startswith(MARKER):
                continue
            try:
                event = parse_event(line)
            except ValueError:
                log.bad_lines += 1
                continue
            key = str(event["key"])
            value = event.get("value")
            log.values.setdefault(key, value)
            meta = event.get("metadata") or {}
            if isinstance(meta, dict):
                if meta.get("is_error"):
                    log.errors.append(str(value))
                elif meta.get("is_warning"):
                    log.warnings.append(str(value))
    return log


def read_summary(path: Path) -> dict[str, str]:
    """``name : value`` lines of ``mlperf_log_summary.txt`` (first of each name), names and
    values stripped; banner, bullet and blank lines are left out."""
    found: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith(("=", "*")) or ":" not in line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name and value:
            found.setdefault(name, value)
    return found


def summary_result(summary: dict[str, str]) -> tuple[str, str] | None:
    """The summary's headline figure (its name and value): samples per second, a latency
    percentile, or samples per query, whichever the scenario prints."""
    for name, value in summary.items():
        low = name.lower()
        if low in ("samples per second", "scheduled samples per second", "samples per query"):
            return name, value
        if "percentile latency (ns)" in low and "early" not in low:
            return name, value
    return None
