"""Reef's added latency per query on a microsecond model (the built-in digits-classifier).

Three measurements of SingleStream p50 on the same model, inputs and thread settings:

- bare:    a plain ``InferenceSession.run`` loop;
- minimal: a minimal hand-written LoadGen Python SUT (``ConstructFastSUT``; issue, run,
           ``QuerySamplesComplete``), p50 as LoadGen reports it;
- reef:    Reef's SingleStream run, p50 as LoadGen reports it.

Overhead = p50 - bare p50. Target: Reef's overhead at most 1.2x the minimal SUT's.

    python benchmarks/sut_overhead.py [--rounds 10] [--duration 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlperf_loadgen as lg
from _common import bare_single_p50, median, prepared, use_temp_home

from reef.bench.logs import read_detail
from reef.bench.runner import Prepared, execute


def minimal_sut_p50(p: Prepared, duration: float, expected_ns: float) -> float:
    """A minimal hand-written SUT, as a LoadGen user would write it."""
    run = p.predictor.predict
    feeds = p.samples.single_feeds()

    def issue(ids: list[int], indices: list[int]) -> None:
        run(feeds[indices[0]])
        lg.QuerySamplesComplete([lg.QuerySampleResponse(ids[0], 0, 0)])

    sut = lg.ConstructFastSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(p.samples.count, p.samples.count, lambda _: None, lambda _: None)
    ts = lg.TestSettings()
    ts.scenario = lg.TestScenario.SingleStream
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_duration_ms = int(duration * 1000)
    ts.min_query_count = 64
    ts.single_stream_expected_latency_ns = int(expected_ns)
    out = tempfile.mkdtemp(prefix="reef-minimal-sut-")
    log = lg.LogSettings()
    log.log_output.outdir = out
    log.log_output.copy_summary_to_stdout = False
    lg.StartTestWithLogSettings(sut, qsl, ts, log)
    lg.DestroyQSL(qsl)
    lg.DestroyFastSUT(sut)
    detail = read_detail(Path(out) / "mlperf_log_detail.txt")
    return float(detail.values["result_50.00_percentile_latency_ns"])


KINDS = ["bare", "minimal", "reef", "reef-no-raw"]


def measure(kind: str, model: str, duration: float, threads: int) -> float:
    """One p50 in nanoseconds, measured in this (fresh) process."""
    use_temp_home()
    p = prepared(
        model, scenario="SingleStream", mode="performance", duration_s=duration, threads=threads
    )
    bare = bare_single_p50(p, duration)
    if kind == "bare":
        return bare
    if kind == "minimal":
        return minimal_sut_p50(p, duration, bare / 2)
    keep = {"reef": True, "reef-no-raw": False}[kind]
    p.job.settings = p.job.settings.model_copy(update={"raw_latencies": keep})
    record = execute(p)
    assert record.performance is not None, record.reasons
    return record.performance.latency_ms.p50 * 1e6


def child(kind: str, args: argparse.Namespace) -> float:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--model",
        args.model,
        "--duration",
        str(args.duration),
        "--threads",
        str(args.threads),
    ]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(args.cpu), *cmd]  # one core: no migration between runs
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="digits-classifier")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--child", choices=KINDS)
    args = ap.parse_args()
    if args.child:
        print(measure(args.child, args.model, args.duration, args.threads))
        return

    results: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for r in range(args.rounds):
        # Every measurement in a fresh process, in an order that rotates each round, so that
        # neither heap state nor a warmer machine favours one side.
        order = KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]
        got = {kind: child(kind, args) for kind in order}
        for kind, value in got.items():
            results[kind].append(value)
        print(f"round {r}: p50 " + ", ".join(f"{k} {got[k] / 1e3:.2f} us" for k in KINDS))
    p50 = {k: median(v) for k, v in results.items()}
    bare = p50["bare"]
    print(f"\nmedians of {args.rounds} rounds (p50, and added over the bare loop):")
    for k in KINDS:
        print(f"  {k:12} {p50[k] / 1e3:6.2f} us  (+{(p50[k] - bare) / 1e3:.2f})")
    o_min = p50["minimal"] - bare
    for k in ("reef", "reef-no-raw"):
        ratio = (p50[k] - bare) / o_min
        print(f"{k} overhead / minimal SUT overhead: {ratio:.3f}  (target <= 1.2)")


if __name__ == "__main__":
    main()
