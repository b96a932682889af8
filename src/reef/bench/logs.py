"""Reading LoadGen's own logs: ``mlperf_log_detail.txt`` and ``mlperf_log_accuracy.json``.

Detail lines are ``:::MLLOG {json}``; values may hold ``nan`` or ``-nan``, which JSON does
not allow, so each line is parsed leniently and a line that still fails is skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reef.meta.run import Latency, Performance

MARKER = ":::MLLOG"  # what starts each event's line
_PREFIX = MARKER
_NAN = re.compile(r"(?<![\w\"])-?nan(?![\w\"])", re.IGNORECASE)
_PERCENTILES = {"p50": "50.00", "p90": "90.00", "p95": "95.00", "p99": "99.00"}


@dataclass
class Detail:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_event(line: str) -> dict[str, Any]:
    """The event of one detail-log line (``nan`` and ``-nan`` read as NaN); ``ValueError``
    saying why the line holds none. The one reading of a line for Reef's runs, the MLPerf
    checker and the importer."""
    if not line.startswith(_PREFIX):
        raise ValueError(f"does not start with {_PREFIX}")
    body = line[len(_PREFIX) :].strip()
    try:
        event = json.loads(body)
    except json.JSONDecodeError:
        try:
            event = json.loads(_NAN.sub("NaN", body))
        except json.JSONDecodeError as exc:
            raise ValueError(exc.msg) from exc
    if not isinstance(event, dict) or "key" not in event:
        raise ValueError("no key")
    return event


def read_detail(path: Path) -> Detail:
    """What LoadGen's detail log says; an empty ``Detail`` when it wrote none (a full disk),
    which the runner records as a run it cannot judge."""
    if not path.is_file():
        return Detail()
    with path.open(encoding="utf-8", errors="replace") as f:
        return parse_detail(f)


def parse_detail(lines: Iterable[str]) -> Detail:
    """What the lines of a detail log say (``read_detail`` reads them from its file; a
    server checking a submitted bundle, from the bytes it received)."""
    detail = Detail()
    for line in lines:
        if not line.startswith(_PREFIX):
            continue
        try:
            entry = parse_event(line)
        except ValueError:
            continue
        key, value = entry["key"], entry.get("value")
        meta = entry.get("metadata") or {}
        if meta.get("is_error"):
            detail.errors.append(f"{key}: {value}")
        elif meta.get("is_warning"):
            detail.warnings.append(f"{key}: {value}")
        detail.values[key] = value
    return detail


def effective_settings(detail: Detail) -> dict[str, Any]:
    return {
        k.removeprefix("effective_"): v
        for k, v in detail.values.items()
        if k.startswith("effective_") and k != "effective_loaded_qsl_set"
    }


def verdict(detail: Detail) -> tuple[str | None, list[str]]:
    """LoadGen's VALID / INVALID and, when invalid, its reasons in words."""
    v = detail.values
    result = v.get("result_validity")
    reasons: list[str] = []
    if result == "INVALID":
        checks = {
            "result_min_duration_met": "minimum duration not met",
            "result_min_queries_met": "minimum query count not met",
            "early_stopping_met": "early stopping criteria not met",
            "result_perf_constraints_met": "latency constraint not met",
        }
        reasons = [text for key, text in checks.items() if v.get(key) is False]
        recommendation = str(v.get("result_invalid_reason") or "").strip()
        if recommendation:
            reasons.append(f"LoadGen recommends: {recommendation}")
        reasons.extend(e for e in detail.errors if e.startswith("error_"))
    return result, reasons


def _ms(value: Any) -> float:
    return float(value) / 1e6


def performance(detail: Detail, scenario: str) -> Performance | None:
    v = detail.values
    if "result_mean_latency_ns" not in v:
        return None
    latency = Latency(
        min=_ms(v["result_min_latency_ns"]),
        mean=_ms(v["result_mean_latency_ns"]),
        max=_ms(v["result_max_latency_ns"]),
        **{p: _ms(v[f"result_{q}_percentile_latency_ns"]) for p, q in _PERCENTILES.items()},
    )
    queries = int(v.get("result_query_count", 0))
    spq = int(v.get("effective_samples_per_query", 1))
    if scenario == "Offline":
        throughput = float(v["result_samples_per_second"])
        samples = queries * int(v.get("generated_samples_per_query", 0))
    elif scenario == "Server":
        throughput = float(v["result_completed_samples_per_sec"])
        samples = queries
    elif scenario == "MultiStream":
        throughput = spq * 1000 / latency.mean if latency.mean else 0.0
        samples = queries * spq
    else:
        throughput = float(v["result_qps_with_loadgen_overhead"])
        samples = queries
    duration = samples / throughput if throughput else None
    early = str(v.get("early_stopping_result") or "")
    return Performance(
        latency_ms=latency,
        throughput_qps=throughput,
        samples=samples,
        queries=queries,
        duration_s=duration,
        early_stopping=[s.strip() for s in early.split(" * ") if s.strip(" *")],
    )


def read_accuracy_log(path: Path) -> list[tuple[int, bytes]]:
    """(sample index, response bytes) for every answer LoadGen logged in accuracy mode."""
    entries = json.loads(path.read_text(encoding="utf-8") or "[]")
    return [(int(e["qsl_idx"]), bytes.fromhex(e["data"])) for e in entries]
