"""Helpers shared by the benchmark scripts: preparing a built-in model, timing loops."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from reef.bench import target
from reef.bench.job import BenchJob
from reef.bench.runner import Prepared, prepare
from reef.meta.settings import BenchSettings


def use_temp_home() -> str:
    home = tempfile.mkdtemp(prefix="reef-bench-")
    os.environ["REEF_HOME"] = home
    return home


def job_for(model: str, **settings: Any) -> BenchJob:
    return target.job_for(target.resolve(model), BenchSettings(**settings))


def prepared(model: str, **settings: Any) -> Prepared:
    return prepare(job_for(model, **settings))


def bare_latencies(run: Callable[[], Any], seconds: float) -> list[int]:
    """Per-call latency of ``run`` in a plain loop for ``seconds``, after a short warm-up."""
    for _ in range(50):
        run()
    out: list[int] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter_ns()
        run()
        out.append(time.perf_counter_ns() - t0)
    return out


def bare_single_p50(p: Prepared, seconds: float) -> float:
    """p50 of the predictor's own call in a plain loop over the prepared single feeds."""
    feeds = itertools.cycle(p.samples.single_feeds())
    run = p.predictor.predict
    return median([float(x) for x in bare_latencies(lambda: run(next(feeds)), seconds)])


def bare_batch_throughput(p: Prepared, batch: int, seconds: float) -> float:
    """Samples per second of the predictor in a plain loop over batches of ``batch``."""
    n = p.samples.count
    feeds = [p.samples.feed([(s + j) % n for j in range(batch)]) for s in range(0, n, batch)]
    cycle = itertools.cycle(feeds)
    run = p.predictor.predict
    per_batch = median([float(x) for x in bare_latencies(lambda: run(next(cycle)), seconds)])
    return batch * 1e9 / per_batch


def median(values: list[float]) -> float:
    return statistics.median(values)


def ab_arguments(rounds: int) -> Any:
    """The command line of an A/B script run as rounds of ``child_round``: the model, rounds,
    duration, threads, the core to pin to, and the child's own ``--round``/``--child``."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="digits-cnn")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--round", type=int, default=0)
    ap.add_argument("--child", action="store_true")
    return ap.parse_args()


def child_round(script: str, r: int, args: Any) -> dict[str, float]:
    """Round ``r`` of an A/B script in a fresh process (``script --child``), pinned to
    ``args.cpu`` when taskset is there (one core: no migration between the two sides); the
    figures its last line prints as JSON."""
    cmd = [
        sys.executable, script, "--child", "--round", str(r), "--model", args.model,
        "--duration", str(args.duration), "--threads", str(args.threads),
    ]  # fmt: skip
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(args.cpu), *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result
