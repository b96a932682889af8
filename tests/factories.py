"""The one ``RunRecord`` builder the tests share: a valid run of a made-up ONNX model with
plausible figures, every part of which a keyword overrides.

::

    from factories import T0, rid, run_record

    run_record("a1", p90=3.0, accuracy=0.7)
    run_record(rid("b"), scenario="Offline", latency_ms=None)  # no performance figures
    run_record(raw=latencies, **from_raw(latencies))  # figures that are those of raw latencies

A test module that builds many runs of one shape keeps a small helper calling ``run_record``
with that shape (``record("a1", 1.0, acc=0.6)``): what a record holds is written only here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from reef.meta.run import Accuracy, Latency, Performance, PredictorInfo, RunRecord, Target
from reef.meta.settings import BenchSettings

T0 = datetime(2025, 1, 1, tzinfo=UTC)
# Latency figures in ms of a run that measured nothing in particular.
LATENCY_MS = {"min": 1.0, "mean": 2.0, "p50": 2.0, "p90": 3.0, "p95": 3.5, "p99": 4.0, "max": 9.0}


def rid(prefix: str) -> str:
    """A 32-character run id starting with ``prefix``, so that tests can name runs briefly."""
    return (prefix + "0" * 32)[:32]


def scaled(base: float, **ratios: float) -> dict[str, float]:
    """Latency figures in ms around ``base``: each figure is ``base`` times its ratio
    (``scaled(3.0, p50=0.7, p99=1.3)``), or ``base`` itself when none is given."""
    keys = ("min", "mean", "p50", "p90", "p95", "p99", "max")
    return {k: base * ratios.get(k, 1.0) for k in keys}


def from_raw(raw: list[int]) -> dict[str, Any]:
    """``latency_ms`` and ``throughput_qps`` for ``run_record`` that are the figures of the raw
    latencies ``raw`` (ns), one query of one sample each."""
    ms = np.asarray(raw, dtype=np.float64) / 1e6
    pct = {f"p{q}": float(np.percentile(ms, q)) for q in (50, 90, 95, 99)}
    figures = {"min": float(ms.min()), "mean": float(ms.mean()), "max": float(ms.max()), **pct}
    return {
        "latency_ms": figures,
        "throughput_qps": 1000.0 / float(ms.mean()),
        "queries": len(raw),
    }


def run_record(
    run_id: str | None = None,
    *,
    name: str = "resnet",
    version: str | None = "1.0",
    kind: str = "onnx",
    path: str = "/m.onnx",
    sha256: str = "0" * 64,
    created_at: datetime | None = T0,
    minutes: float = 0,
    days: float = 0,
    status: str = "valid",
    reasons: list[str] | None = None,
    scenario: str = "SingleStream",
    settings: dict[str, Any] | None = None,
    backend: str | None = "onnxruntime",
    backend_version: str = "1.20",
    latency_ms: dict[str, float] | None = LATENCY_MS,
    throughput_qps: float = 500.0,
    queries: int = 1000,
    raw: list[int] | None = None,
    accuracy: float | Accuracy | None = None,
    metric: str = "top1",
    environment: dict[str, Any] | None = None,
    **fields: Any,
) -> RunRecord:
    """A run record; every argument has a default.

    ``run_id`` None gives a fresh id. ``created_at`` is moved by ``days`` and ``minutes``
    (None: now, as a new record has it). ``settings`` are the ``BenchSettings`` besides
    ``scenario``. ``backend`` None records no predictor. ``latency_ms`` None records no
    performance; otherwise ``queries`` queries of one sample each at ``throughput_qps``.
    ``raw`` is kept as the raw latencies (ns).
    ``accuracy`` is a value of ``metric`` or an ``Accuracy``. Any other ``RunRecord`` field
    (``lock``, ``loadgen``, ``components``, ``solution``, ``performance``, ...) is passed on.
    """
    if run_id is not None:
        fields["id"] = run_id
    if "performance" not in fields and latency_ms is not None:
        fields["performance"] = Performance(
            latency_ms=Latency(**latency_ms),
            throughput_qps=throughput_qps,
            samples=queries,
            queries=queries,
        )
    if backend is not None:
        fields.setdefault("predictor", PredictorInfo(name=backend, version=backend_version))
    if accuracy is not None:
        fields["accuracy"] = (
            accuracy if isinstance(accuracy, Accuracy) else Accuracy(metric=metric, value=accuracy)
        )
    if environment is not None:
        fields["environment"] = environment
    if created_at is not None:
        fields["created_at"] = created_at + timedelta(days=days, minutes=minutes)
    return RunRecord(
        status=status,
        reasons=reasons or [],
        target=Target(kind=kind, name=name, version=version, path=path, sha256=sha256),
        settings=BenchSettings(scenario=scenario, **(settings or {})),
        latencies_ns=raw,
        **fields,
    )
