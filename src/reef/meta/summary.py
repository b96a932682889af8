"""A run in one line: the figures ``reef runs list`` shows, without the record's schema.

Listing runs is the commonest read. Building the whole record's pydantic schema costs more
than the rest of ``reef runs list`` together, and the list shows a dozen fields. A
``RunSummary`` is read straight from the JSON the store keeps for each record, and defers
its own schema until something validates one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

# The columns of ``reef runs list --format csv`` and of ``reef.api.runs_frame``, in order.
COLUMNS = (
    "id",
    "created_at",
    "model",
    "version",
    "scenario",
    "backend",
    "status",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "throughput_qps",
    "accuracy_metric",
    "accuracy_value",
    "solution",
)


class RunSummary(BaseModel):
    """One run's identity, verdict and headline figures (latencies in milliseconds)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    created_at: datetime
    model: str
    version: str | None = None
    scenario: str
    backend: str | None = None
    status: str
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    throughput_qps: float | None = None
    accuracy_metric: str | None = None
    accuracy_value: float | None = None
    accuracy_passed: bool | None = None
    solution: str | None = None

    @classmethod
    def of(cls, record: RunRecord | Mapping[str, Any]) -> RunSummary:
        """The summary of a record, or of a current-format record's JSON (``summary_json``)."""
        data = record if isinstance(record, Mapping) else record.summary_json()
        return cls.model_construct(**_fields(data))


def _part(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = data.get(key)
    return found if isinstance(found, Mapping) else {}


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    # Read as RunRecord.model_dump(mode="json") writes it; absent parts give None.
    target, settings = _part(data, "target"), _part(data, "settings")
    perf, accuracy = _part(data, "performance"), _part(data, "accuracy")
    latency = _part(perf, "latency_ms")
    created = data["created_at"]
    return {
        "id": data["id"],
        "created_at": created if isinstance(created, datetime) else datetime.fromisoformat(created),
        "model": target.get("name"),
        "version": target.get("version"),
        "scenario": settings.get("scenario"),
        "backend": _part(data, "predictor").get("name"),
        "status": data.get("status"),
        "p50_ms": latency.get("p50"),
        "p90_ms": latency.get("p90"),
        "p99_ms": latency.get("p99"),
        "throughput_qps": perf.get("throughput_qps"),
        "accuracy_metric": accuracy.get("metric"),
        "accuracy_value": accuracy.get("value"),
        "accuracy_passed": accuracy.get("passed"),
        "solution": _part(data, "solution").get("name"),
    }
