"""Made-up recorded runs for the tests of ``reef runs list``, ``reef compare`` and ``reef
pareto`` (real processes in ``tests/e2e``, in-process in ``tests/cli``), and ``seed_home``,
which stores them in a fresh ``REEF_HOME``: a test module seeds one once and copies it for
each test (``shutil.copytree``), instead of migrating a new database every time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from e2e_support import Reef

from factories import from_raw, rid, run_record, scaled
from reef.meta.run import RunRecord


def seed_home(home: Path, records: list[RunRecord]) -> Path:
    """A ``REEF_HOME`` at ``home`` whose database holds ``records``."""
    from reef.results import Store

    home.mkdir(parents=True, exist_ok=True)
    with Store(f"sqlite:///{home / 'reef.db'}") as store:
        store.add_many(records)
    return home


# --- reef runs list -------------------------------------------------------------------------

NOW = datetime.now(UTC)
CSV_HEADER = [
    "id", "created_at", "model", "version", "scenario", "backend", "status", "p50_ms",
    "p90_ms", "p99_ms", "throughput_qps", "accuracy_metric", "accuracy_value", "solution",
]  # fmt: skip


def listed_record(
    run_id: str, name: str, backend: str, scenario: str, days_ago: float, p90: float
) -> RunRecord:
    return run_record(
        run_id,
        created_at=NOW,
        days=-days_ago,
        name=name,
        version="1.0.0",
        scenario=scenario,
        backend=backend,
        backend_version="1",
        latency_ms={
            "min": 1,
            "mean": 2,
            "p50": p90 / 2,
            "p90": p90,
            "p95": p90,
            "p99": p90 * 2,
            "max": 99,
        },
        throughput_qps=1000 / p90,
        queries=100,
        accuracy=0.9,
    )


LISTED = [
    listed_record("run0001", "digits-classifier", "onnxruntime", "SingleStream", 40, 2.0),
    listed_record("run0002", "digits-classifier", "onnxruntime", "Offline", 20, 1.0),
    listed_record("run0003", "digits-classifier", "openvino", "SingleStream", 3, 3.0),
    listed_record("run0004", "resnet50", "tensorrt", "Server", 1, 9.0),
]


# --- reef compare ---------------------------------------------------------------------------

A, B, C, D = ("aaaa" + "0" * 28, "bbbb" + "0" * 28, "cccc" + "0" * 28, "aaab" + "0" * 28)


def compared_record(
    run_id: str, seed: int, scale: float, *, keep_raw: bool = True, **settings: Any
) -> RunRecord:
    rng = np.random.default_rng(seed)
    raw = [int(x) for x in rng.lognormal(np.log(2e6), 0.25, 1500) * scale]
    return run_record(
        run_id,
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
        minutes=seed,
        name="tiny",
        sha256="cd" * 32,
        scenario=settings.pop("scenario", "SingleStream"),
        settings=settings,
        **from_raw(raw),
        environment={"hardware": {"cpu": {"model": f"cpu{seed}"}}, "software": {}},
        raw=raw if keep_raw else None,
    )


def compared() -> list[RunRecord]:
    """A, B (A 1.3x slower), C (Offline, batch 8, no raw latencies) and D (a second run whose
    id starts like A's)."""
    return [
        compared_record(A, 0, 1.0),
        compared_record(B, 2, 1.3),
        compared_record(C, 4, 1.0, keep_raw=False, scenario="Offline", batch_size=8),
        compared_record(D, 6, 1.0),
    ]


def compare_state(reef: Reef) -> list[Any]:
    """Everything a refused comparison must leave as it was: the stored runs, the run folders."""
    from reef.results import Store

    with Store(f"sqlite:///{reef.home / 'reef.db'}") as store:
        runs = [r.model_dump_json() for r in store.list()]
    return [runs, reef.run_dirs()]


# --- reef pareto ----------------------------------------------------------------------------


def pareto_record(prefix: str, p90: float, acc: float | None, backend: str = "onnxruntime") -> Any:
    return run_record(
        rid(prefix),
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
        minutes=p90,
        name="tiny",
        sha256="cd" * 32,
        backend=backend,
        backend_version="1",
        latency_ms=scaled(p90, min=0.5, max=2),
        throughput_qps=1000 / p90,
        queries=10,
        accuracy=acc,
    )


def pareto_runs() -> list[RunRecord]:
    return [
        pareto_record("aaaa", 1.0, 0.6),
        pareto_record("bbbb", 2.0, 0.8),
        pareto_record("cccc", 3.0, 0.7),  # dominated by bbbb
        pareto_record("dddd", 0.5, None, "tflite"),  # no accuracy: left out
    ]
