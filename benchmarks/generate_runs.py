"""Fill a store with many realistic, varied run records, to time analysis against.

Records go straight through ``Store.add_many``, one transaction per batch: several models and
versions, all four scenarios, five backends, every status (with reasons), a year of dates,
latencies and throughput that depend on model, backend and scenario, accuracy, solutions and
an environment fingerprint. The same ``--seed`` gives the same records. Prints how long it took.

    python benchmarks/generate_runs.py --runs 100000 [--home DIR] [--batch 5000] [--seed 1]

Without ``--home`` the runs go to a new temporary REEF_HOME, whose path is printed.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

# model -> (versions, base p50 ms on onnxruntime SingleStream, accuracy metric, reference)
MODELS: dict[str, tuple[tuple[str, ...], float, str, float]] = {
    "digits-classifier": (("1.0.0", "1.1.0"), 0.05, "top1", 0.97),
    "digits-cnn": (("1.0.0", "1.2.0", "2.0.0"), 0.3, "top1", 0.99),
    "resnet50": (("1.0.0", "1.5.0", "2.0.0", "2.1.0"), 9.0, "top1", 0.761),
    "mobilenet-v2": (("1.0.0", "1.1.0"), 2.5, "top1", 0.718),
    "ssd-mobilenet": (("1.0.0",), 14.0, "mAP", 0.23),
    "bert-base": (("1.0.0", "1.1.0", "3.0.0rc1"), 22.0, "f1", 0.904),
    "yolo-v8n": (("8.0.0", "8.1.0"), 11.0, "mAP", 0.37),
    "whisper-tiny": (("0.9.0", "1.0.0"), 45.0, "wer", 0.076),
}
# backend -> (version, speed factor against onnxruntime)
BACKENDS = {
    "onnxruntime": ("1.20.1", 1.0),
    "tensorrt": ("10.3.0", 0.35),
    "openvino": ("2024.4", 0.7),
    "tflite": ("2.17.0", 1.4),
    "torch": ("2.5.1", 1.2),
}
SCENARIOS = {"SingleStream": 1.0, "MultiStream": 3.5, "Server": 1.3, "Offline": 0.8}
STATUSES = (("valid", 0.75), ("invalid", 0.15), ("interrupted", 0.04), ("failed", 0.06))
SOLUTIONS = ("image-classification-edge", "ocr-pipeline", "nightly-regression", None, None)
INVALID_REASONS = (
    "Min duration not satisfied",
    "Min queries not satisfied",
    "90th percentile latency above the bound",
    "early stopping: not enough queries for the 99th percentile",
)
FAILED_REASONS = (
    "worker exited with code -9 (out of memory?)",
    "predictor failed: CUDA out of memory",
    "model file checksum mismatch",
)
MACHINES = (
    ("AMD EPYC 7763 64-Core Processor", 16, "Linux", "6.8.0-45-generic"),
    ("Intel(R) Xeon(R) Platinum 8480+", 32, "Linux", "5.15.0-122-generic"),
    ("Apple M2 Pro", 12, "Darwin", "23.6.0"),
    ("Intel(R) Core(TM) i7-1185G7", 8, "Windows", "10.0.22631"),
)


def records(count: int, seed: int, now: datetime) -> Iterator[RunRecord]:
    """``count`` RunRecords, from a random generator seeded with ``seed``."""
    from reef.meta.run import (
        Accuracy,
        ComponentRef,
        Latency,
        LoadGenInfo,
        Performance,
        PredictorInfo,
        RunRecord,
        SolutionRef,
        Target,
    )
    from reef.meta.settings import BenchSettings

    rng = random.Random(seed)
    model_names = list(MODELS)
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    for i in range(count):
        name = rng.choice(model_names)
        versions, base_ms, metric, reference = MODELS[name]
        version = rng.choice(versions)
        backend = rng.choice(list(BACKENDS))
        backend_version, speed = BACKENDS[backend]
        scenario = rng.choice(list(SCENARIOS))
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(seconds=rng.uniform(0, 365 * 24 * 3600))
        cpu, cores, system, kernel = rng.choice(MACHINES)
        solution = rng.choice(SOLUTIONS)
        kind = "solution" if solution else rng.choice(("component", "manifest", "onnx"))
        reasons: list[str] = []
        performance = accuracy = None
        if status == "invalid":
            reasons = [rng.choice(INVALID_REASONS)]
        elif status == "failed":
            reasons = [rng.choice(FAILED_REASONS)]
        elif status == "interrupted":
            reasons = ["interrupted by Ctrl-C"]
        if status in ("valid", "invalid"):
            p50 = base_ms * speed * SCENARIOS[scenario] * rng.lognormvariate(0, 0.15)
            lat = Latency(
                min=p50 * 0.7,
                mean=p50 * 1.05,
                p50=p50,
                p90=p50 * rng.uniform(1.1, 1.5),
                p95=p50 * rng.uniform(1.5, 1.8),
                p99=p50 * rng.uniform(1.8, 3.0),
                max=p50 * rng.uniform(3.0, 9.0),
            )
            batch = 8 if scenario == "MultiStream" else 1
            qps = 1000.0 / p50 * batch * rng.uniform(0.9, 1.1)
            performance = Performance(
                latency_ms=lat,
                throughput_qps=qps,
                samples=int(qps * 10),
                queries=int(qps * 10 / batch),
                duration_s=10.0,
            )
            value = reference * rng.uniform(0.97, 1.01)
            accuracy = Accuracy(
                metric=metric,
                value=value,
                reference=reference,
                threshold=0.99,
                passed=value >= reference * 0.99,
                samples=500,
            )
        run_id = f"{rng.getrandbits(128):032x}"
        yield RunRecord(
            id=run_id,
            created_at=created,
            finished_at=created + timedelta(seconds=12),
            status=status,
            reasons=reasons,
            target=Target(
                kind=kind,
                name=name,
                version=version,
                path=f"/home/ci/models/{name}/{version}/reef.yaml",
                sha256=f"{rng.getrandbits(256):064x}",
            ),
            components=[
                ComponentRef(
                    kind="model",
                    name=name,
                    version=version,
                    sha256=f"{rng.getrandbits(256):064x}",
                ),
                ComponentRef(kind="dataset", name=f"{name}-eval", version="1.0.0", sha256="0" * 64),
            ],
            settings=BenchSettings(scenario=scenario),
            predictor=PredictorInfo(
                name=backend,
                version=backend_version,
                providers=["CPUExecutionProvider"] if backend == "onnxruntime" else [],
            ),
            loadgen=LoadGenInfo(
                version="5.1.0",
                result=None if status in ("failed", "interrupted") else status.upper(),
                reasons=reasons if status == "invalid" else [],
                log_dir=f"runs/{run_id}/performance",
            ),
            performance=performance,
            accuracy=accuracy,
            samples={"count": 500, "synthetic": False},
            environment={
                "hash": f"{rng.getrandbits(128):032x}",
                "hardware": {"cpu": {"model": cpu, "logical_cores": cores}},
                "os": {"system": {"name": system, "kernel": kernel}},
                "python": {"version": "3.11.9"},
            },
            solution=(
                SolutionRef(name=solution, version="1.0.0", run=f"r{i}", step="bench")
                if solution
                else None
            ),
        )


def generate(count: int, *, home: Path | None = None, batch: int = 5000, seed: int = 1) -> Path:
    """Add ``count`` records to the store of ``home`` (default: a new temporary folder)."""
    home = home or Path(tempfile.mkdtemp(prefix="reef-runs-"))
    os.environ["REEF_HOME"] = str(home)
    os.environ.pop("REEF_DB_URL", None)
    from reef.results import Store

    now = datetime.now(UTC)
    with Store() as store:
        pending: list[RunRecord] = []
        for record in records(count, seed, now):
            pending.append(record)
            if len(pending) == batch:
                store.add_many(pending)
                pending.clear()
        store.add_many(pending)
    return home


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--home", type=Path, help="REEF_HOME to add to (default: a new temp folder)")
    ap.add_argument("--batch", type=int, default=5000, help="records per transaction")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    home = generate(args.runs, home=args.home, batch=args.batch, seed=args.seed)
    took = time.perf_counter() - t0
    print(f"{args.runs:,} runs written to {home} in {took:.1f} s ({args.runs / took:,.0f}/s)")


if __name__ == "__main__":
    main()
