"""Reef's added latency per query on a microsecond model (the built-in digits-classifier).

Three measurements of SingleStream p50 on the same model, inputs and thread settings:

- bare:    a plain ``InferenceSession.run`` loop;
- minimal: a minimal hand-written LoadGen Python SUT (``ConstructFastSUT``; issue, run,
           ``QuerySamplesComplete``), p50 as LoadGen reports it;
- reef:    Reef's SingleStream run, p50 as LoadGen reports it.

Overhead = p50 - bare p50. Target: Reef's overhead at most 1.2x the minimal SUT's.

    python benchmarks/sut_overhead.py [--rounds 5] [--duration 3]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="digits-classifier")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    use_temp_home()

    ratios, overheads_min, overheads_reef, bares = [], [], [], []
    for r in range(args.rounds):
        p = prepared(
            args.model,
            scenario="SingleStream",
            mode="performance",
            duration_s=args.duration,
            threads=args.threads,
        )
        bare = bare_single_p50(p, args.duration)
        # Expect faster than bare so that LoadGen generates enough queries for the duration.
        minimal = minimal_sut_p50(p, args.duration, bare / 2)
        record = execute(p)
        assert record.performance is not None, record.reasons
        reef = record.performance.latency_ms.p50 * 1e6
        o_min, o_reef = minimal - bare, reef - bare
        bares.append(bare)
        overheads_min.append(o_min)
        overheads_reef.append(o_reef)
        ratios.append(o_reef / o_min if o_min > 0 else float("inf"))
        print(
            f"round {r}: p50 bare {bare / 1e3:.2f} us, minimal SUT {minimal / 1e3:.2f} us "
            f"(+{o_min / 1e3:.2f}), reef {reef / 1e3:.2f} us (+{o_reef / 1e3:.2f})  "
            f"[{record.status}]"
        )

    print(
        f"\nmedian of {args.rounds}: bare p50 {median(bares) / 1e3:.2f} us; added per query: "
        f"minimal SUT {median(overheads_min) / 1e3:.2f} us, "
        f"reef {median(overheads_reef) / 1e3:.2f} us"
    )
    print(
        f"reef overhead / minimal SUT overhead, median of rounds: {median(ratios):.3f}"
        "  (target <= 1.2)"
    )


if __name__ == "__main__":
    main()
