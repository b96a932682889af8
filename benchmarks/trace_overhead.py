"""What tracing costs: SingleStream p50 (as LoadGen reports it) at each trace level against an
untraced run of the same model, measured in the same process.

Each round is one fresh process that prepares the model once per level (a framework profiler
must be enabled when the session is created) and runs every level in an order that rotates
from round to round, so that neither a warmer machine nor heap state favours one level.

    python benchmarks/trace_overhead.py [--model digits-cnn] [--rounds 5] [--duration 2]

Target: model level <= 1.03x the untraced p50. Framework and system are reported, not bound:
the framework level runs ONNX Runtime's profiler for the first queries (1000 by default), the
system level samples CPU, memory and GPU every 100 ms on a thread.
"""

from __future__ import annotations

import argparse
import json

from _common import ab_arguments, child_round, job_for, median, use_temp_home

from reef.bench.job import TraceSettings
from reef.bench.runner import execute, prepare

LEVELS = ["none", "model", "framework", "system", "full"]


def measure(model: str, level: str, duration: float, threads: int) -> float:
    """One p50 in nanoseconds."""
    job = job_for(
        model, scenario="SingleStream", mode="performance", duration_s=duration, threads=threads
    )
    job.trace = TraceSettings(level=level)  # type: ignore[arg-type]
    record = execute(prepare(job))
    assert record.performance is not None, record.reasons
    assert (record.trace is None) == (level == "none")
    return record.performance.latency_ms.p50 * 1e6


def one_round(args: argparse.Namespace) -> dict[str, float]:
    use_temp_home()
    r = args.round
    order = LEVELS[r % len(LEVELS) :] + LEVELS[: r % len(LEVELS)]
    return {level: measure(args.model, level, args.duration, args.threads) for level in order}


def main() -> None:
    args = ab_arguments(rounds=5)
    if args.child:
        print(json.dumps(one_round(args)))
        return

    results: dict[str, list[float]] = {level: [] for level in LEVELS}
    ratios: dict[str, list[float]] = {level: [] for level in LEVELS}
    for r in range(args.rounds):
        got = child_round(__file__, r, args)
        for level in LEVELS:
            results[level].append(got[level])
            ratios[level].append(got[level] / got["none"])
        print(f"round {r}: p50 " + ", ".join(f"{k} {got[k] / 1e3:.2f} us" for k in LEVELS))
    print(f"\n{args.model}, SingleStream, medians of {args.rounds} rounds:")
    for level in LEVELS:
        p50 = median(results[level])
        ratio = median(ratios[level])
        target = "  (target <= 1.03)" if level == "model" else ""
        print(f"  {level:10} p50 {p50 / 1e3:9.2f} us   traced / untraced {ratio:.4f}{target}")


if __name__ == "__main__":
    main()
