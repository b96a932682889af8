"""Warm-up and calibration: LoadGen's expectations derived from what the model really does.

LoadGen pre-generates its queries from the expected latency or QPS. When the model is faster
than expected it runs out of queries before the minimum duration and calls the run INVALID;
when it is much slower the run takes longer than asked. A short warm-up measures the model,
and the expectations are set from it with a margin, so that a run is valid the first time.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reef.meta.run import Calibration, ConfigSetting
from reef.meta.settings import DEFAULT_DURATION_S, MAX_TARGET_QPS, BenchSettings

if TYPE_CHECKING:
    # Only types: the parent reads this module's limits without loading numpy or LoadGen.
    from reef.bench.samples import SampleSet
    from reef.bench.sut import Predict

# LoadGen keeps every pre-generated query in memory (about 1.6 KB each, measured), so a very
# fast model gets a shorter minimum duration rather than gigabytes of queries.
MAX_GENERATED_QUERIES = 1_000_000
# Expecting a little better than the warm-up makes LoadGen generate a little more than enough.
MARGIN = 1.5
# The fewest queries for which LoadGen's early stopping can estimate the percentile that each
# scenario reports (90th for SingleStream, 99th for MultiStream and Server).
MIN_QUERIES = {"SingleStream": 64, "MultiStream": 662, "Server": 270, "Offline": 1}
SERVER_LOAD = 0.5  # default Server arrival rate, as a fraction of the measured capacity
# A long Offline run is sized from a short LoadGen run first (the pilot), not from the warm-up:
# LoadGen issues the samples an Offline run's one query holds from the expected QPS (times
# 1.1), so a warm-up that came out slower than the model's steady state ends the run before
# its minimum duration (INVALID, and a retry as long again), and one that came out faster
# makes it run longer; at MLPerf's 600 s either costs many minutes. The pilot measures the
# figure itself, under LoadGen, so the smaller margin suffices.
PILOT_FROM_MS = 60_000  # Offline runs of at least this minimum duration have a pilot
PILOT_SHARE = 1 / 30  # of the run's minimum duration
PILOT_MIN_MS, PILOT_MAX_MS = 5_000, 30_000
PILOT_MARGIN = 1.15
# Where a LoadGen run measured the samples per second (cal.derived's keys: the rate, and the
# milliseconds it was measured over), the retry's first.
_MEASURED = (("retry_qps", "retry_sized_from_ms"), ("pilot_qps", "pilot_min_duration_ms"))
SERVER_MIN_BOUND_NS = 2_000_000


@dataclass
class Expectations:
    """What LoadGen is told; ``notes`` says where Reef changed what the user asked for."""

    values: dict[str, float] = field(default_factory=dict)
    min_duration_ms: int = 0
    min_query_count: int = 1
    notes: list[str] = field(default_factory=list)
    # The MLPerf config keys' effective values and sources, once LoadGen is told them
    # (reef.bench.mlperf_conf.resolve, in loadgen.test_settings).
    config: dict[str, ConfigSetting] = field(default_factory=dict)


def _time(predict: Predict, feeds: list[dict[str, Any]], runs: int) -> list[int]:
    out = []
    for i in range(runs):
        t0 = time.perf_counter_ns()
        predict(feeds[i % len(feeds)])
        out.append(time.perf_counter_ns() - t0)
    return out


def warm_up(predict: Predict, samples: SampleSet, settings: BenchSettings) -> Calibration:
    """Run the model outside LoadGen and measure one-sample latency and batch throughput."""
    runs = settings.warmup_queries
    singles = _time(predict, samples.single_feeds(), runs)
    steady = sorted(singles[len(singles) // 5 :])  # the first queries are cold; skip them
    p50 = statistics.median(steady)
    batch = _batch_for(settings, samples)
    throughput = 1e9 / p50
    if batch > 1:
        idx = list(range(samples.count))
        feeds = [
            samples.feed([idx[(s + j) % len(idx)] for j in range(batch)])
            for s in range(0, max(samples.count, batch), batch)
        ]
        per_batch = _time(_with_responses(predict, batch), feeds, max(3, runs // batch))
        throughput = batch * 1e9 / min(statistics.median(per_batch), p50 * batch)
    return Calibration(
        warmup_queries=runs,
        latency_p50_ms=p50 / 1e6,
        throughput_qps=throughput,
        derived={"latency_p99_ms": steady[int(0.99 * (len(steady) - 1))] / 1e6, "batch": batch},
    )


def _with_responses(predict: Predict, batch: int) -> Predict:
    # Per-sample responses cost as much as a tiny model's predict; count them too.
    import mlperf_loadgen as lg

    def run(feed: dict[str, object]) -> list[object]:
        outputs = predict(feed)
        _ = [lg.QuerySampleResponse(i, 0, 0) for i in range(batch)]
        return outputs

    return run


def _batch_for(settings: BenchSettings, samples: SampleSet) -> int:
    from reef.bench.job import batch_of

    return batch_of(settings, samples.fixed_batch)


def expectations(settings: BenchSettings, cal: Calibration, scale: float = 1.0) -> Expectations:
    """LoadGen settings from the warm-up; ``scale`` > 1 asks for more queries after a retry."""
    assert cal.latency_p50_ms is not None and cal.throughput_qps is not None
    exp = Expectations(min_duration_ms=round((settings.duration_s or DEFAULT_DURATION_S) * 1000))
    exp.min_query_count = settings.queries or MIN_QUERIES[settings.scenario]
    margin = MARGIN * scale
    latency_ns = cal.latency_p50_ms * 1e6
    scenario = settings.scenario
    if scenario == "SingleStream":
        expected = max(latency_ns / margin, 1.0)
        exp.values["single_stream_expected_latency_ns"] = expected
        _cap(exp, 1e9 / expected)
    elif scenario == "MultiStream":
        per_query = settings.samples_per_query * 1e9 / cal.throughput_qps
        expected = max(per_query / margin, 1.0)
        exp.values["multi_stream_expected_latency_ns"] = expected
        exp.values["multi_stream_samples_per_query"] = settings.samples_per_query
        _cap(exp, 1e9 / expected)
    elif scenario == "Server":
        # A retry after a missed latency bound asks for a lighter load.
        qps = settings.target_qps or SERVER_LOAD * cal.throughput_qps / scale
        if qps > MAX_TARGET_QPS:  # a calibrated rate LoadGen could not schedule
            exp.notes.append(
                f"target QPS {qps:.4g} lowered to {MAX_TARGET_QPS:.4g}, the most "
                "LoadGen schedules faithfully"
            )
            qps = MAX_TARGET_QPS
        exp.values["server_target_qps"] = qps
        if settings.latency_bound_ms is not None:
            bound = settings.latency_bound_ms * 1e6
        else:
            p99_ns = cal.derived.get("latency_p99_ms", cal.latency_p50_ms) * 1e6
            bound = max(10 * p99_ns, SERVER_MIN_BOUND_NS)
            exp.notes.append(
                f"latency bound {bound / 1e6:.3g} ms calibrated from the warm-up "
                "(10x its p99, at least 2 ms); set --latency-bound-ms for your own"
            )
        exp.values["server_target_latency_ns"] = bound
        if settings.target_qps is None:
            exp.notes.append(
                f"target QPS {qps:.4g} calibrated: {SERVER_LOAD / scale:.0%} of the measured "
                f"capacity ({cal.throughput_qps:.4g}/s); set --target-qps for your own"
            )
        _cap(exp, qps)
    else:  # Offline
        # A retry's figure (the run that ended early, runner._resize_offline) over a pilot's.
        measured = next(
            ((cal.derived[q], cal.derived[ms]) for q, ms in _MEASURED if cal.derived.get(q)),
            None,
        )
        if measured is not None:
            rate, over_ms = measured
            qps = rate * PILOT_MARGIN * scale
            exp.notes.append(
                f"target QPS {qps:.4g} from a {over_ms / 1000:g} s LoadGen run's {rate:.4g} "
                f"samples/s (x {PILOT_MARGIN * scale:g}); the warm-up measured "
                f"{cal.throughput_qps:.4g}/s"
            )
        else:
            qps = cal.throughput_qps * margin
        exp.values["offline_expected_qps"] = qps
        _cap(exp, qps)
    return exp


def pilot_ms(settings: BenchSettings, exp: Expectations) -> int | None:
    """The minimum duration of the pilot run a performance run with expectations ``exp``
    (settled: ``loadgen.settle``) has first, or None for none: only Offline runs of at
    least ``PILOT_FROM_MS`` whose expected QPS is Reef's to choose (not a user.conf's)."""
    from reef.bench.mlperf_conf import REEF

    if settings.scenario != "Offline" or exp.min_duration_ms < PILOT_FROM_MS:
        return None
    chosen = exp.config.get("target_qps")
    if chosen is not None and chosen.source != REEF:
        return None
    return round(min(max(exp.min_duration_ms * PILOT_SHARE, PILOT_MIN_MS), PILOT_MAX_MS))


def _cap(exp: Expectations, queries_per_second: float) -> None:
    planned = queries_per_second * exp.min_duration_ms / 1000
    if planned > MAX_GENERATED_QUERIES:
        shorter = int(MAX_GENERATED_QUERIES / queries_per_second * 1000)
        exp.notes.append(
            f"minimum duration shortened from {exp.min_duration_ms / 1000:g} s to "
            f"{shorter / 1000:g} s: LoadGen pre-generates every query in memory and this model "
            f"would need about {planned:,.0f}"
        )
        exp.min_duration_ms = max(shorter, 1)
    if exp.min_query_count > MAX_GENERATED_QUERIES:
        exp.notes.append(
            f"minimum query count lowered from {exp.min_query_count:,} to "
            f"{MAX_GENERATED_QUERIES:,}: LoadGen pre-generates every query in memory"
        )
        exp.min_query_count = MAX_GENERATED_QUERIES
