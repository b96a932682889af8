"""The model-level recorder's cap policy: bounded, uniform, and nothing dropped silently."""

from __future__ import annotations

import time

import numpy as np
from trace_support import add_query, phase, run_queries

from reef.trace.recorder import DONE, ISSUE, SEQ, STRIDE, QueryRecorder, stage_durations


def test_small_runs_are_kept_whole() -> None:
    rec = QueryRecorder(first=100, sampled=50)
    with phase(rec, "performance"):
        run_queries(rec, 150)
    rec.finish()
    assert rec.table().shape == (150, STRIDE)
    assert rec.dropped == {} and rec.k == 1
    assert rec.recorded == 150


def test_cap_keeps_the_first_queries_and_every_kth_and_counts_the_rest() -> None:
    rec = QueryRecorder(first=10, sampled=20)
    full = QueryRecorder(first=10_000, sampled=10_000)  # the same queries, uncapped
    with phase(rec, "performance"), phase(full, "performance"):
        t = time.perf_counter_ns()
        for i in range(1000):
            predict = 10_000 + 37 * (i % 11)
            t_next = add_query(rec, t + 50, predict, prev=t)
            add_query(full, t + 50, predict, prev=t)
            t = t_next
    rec.finish()
    table = rec.table()
    assert table.shape[0] <= 10 + 2 * 20
    assert list(table[:10, SEQ]) == list(range(10))
    tail = table[10:, SEQ]
    assert rec.k > 1 and all(s % rec.k == 0 for s in tail)
    assert len(tail) <= 20
    dropped = rec.dropped["performance"]
    assert dropped.count == 1000 - table.shape[0]
    assert rec.recorded == 1000
    # Stage times of the dropped queries are added up, so totals cover every query.
    kept = stage_durations(table).sum(axis=0) + np.asarray(dropped.stage_ns)
    assert list(kept) == list(stage_durations(full.table()).sum(axis=0))
    assert f"every {rec.k}-th" in rec.policy()


def test_the_slowest_dropped_query_is_kept() -> None:
    rec = QueryRecorder(first=5, sampled=8)
    with phase(rec, "performance"):
        t = run_queries(rec, 45)
        t = add_query(rec, t + 50, 5_000_000, prev=t)  # seq 45: odd, dropped at any k > 1
        run_queries(rec, 40, start=t)
    rec.finish()
    assert 45 not in set(rec.table()[:, SEQ])
    slow = rec.slowest_dropped["performance"]
    assert slow[SEQ] == 45 and slow[DONE] - slow[ISSUE] > 5_000_000


def test_timed_predict_records_warm_up_calls() -> None:
    rec = QueryRecorder()
    predict = rec.timed(lambda feed: [feed["x"]])
    with rec.phase("warm-up"):
        for _ in range(3):
            predict({"x": np.zeros((2, 4))})
    table = rec.table()
    assert table.shape[0] == 3
    assert (table[:, 1] == -1).all() and (table[:, 3] == 2).all()
    assert rec.phase_of(int(table[0, ISSUE])) == "warm-up"


def test_at_first_full_fires_once_after_the_first_queries() -> None:
    rec = QueryRecorder(first=10, sampled=10)
    calls: list[int] = []
    rec.at_first_full(lambda: calls.append(len(rec.rows) // STRIDE))
    run_queries(rec, 100)
    assert calls == [10]
    assert any(s.name == "framework profiler stopped" for s in rec.spans)
