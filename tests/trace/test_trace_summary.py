"""The summary's figures, from queries whose stage times are known."""

from __future__ import annotations

import time

import pytest
from trace_support import add_query, phase

from reef.trace.ort import FrameworkEvent
from reef.trace.recorder import QueryRecorder
from reef.trace.summary import summarize


def test_stage_shares_cold_median_and_slowest() -> None:
    rec = QueryRecorder()
    with phase(rec, "warm-up"):
        t = time.perf_counter_ns()
        t = add_query(rec, t, 900_000, qid=-1, pre_ns=0, post_ns=0, complete_ns=0)  # cold
    with phase(rec, "performance"):
        for predict_us in (10, 20, 30, 40, 50):
            t = add_query(rec, t + 1000, predict_us * 1000, prev=t)
    s = summarize(rec, "model", ["model"])
    assert s.phase == "performance" and s.queries == 5
    stages = {st.stage: st for st in s.stages}
    # per query: issue 1 us, pre 0.1, predict 10..50, post 0.2, complete 0.3
    total_us = 5 * (1 + 0.1 + 0.2 + 0.3) + 150
    assert stages["predict"].share == pytest.approx(150 / total_us)
    assert stages["predict"].mean_us == pytest.approx(30)
    assert stages["issue"].total_ms == pytest.approx(5 * 1 / 1000)
    assert sum(st.share for st in s.stages) == pytest.approx(1)
    assert s.cold is not None and s.cold.seq == 0 and s.cold.query_id is None
    assert s.cold.phase == "warm-up" and s.cold.stages_us == {"predict": 900}
    assert s.median is not None and s.median.stages_us["predict"] == pytest.approx(30)
    assert s.cold_over_median == pytest.approx(30)
    assert s.slowest is not None and s.slowest.stages_us["predict"] == pytest.approx(50)


def test_top_operators_by_total_and_by_mean() -> None:
    rec = QueryRecorder()
    with phase(rec, "performance"):
        t0 = time.perf_counter_ns()
        add_query(rec, t0, 100_000)
    pre = t0 + 100
    ops = [FrameworkEvent("conv", "operator", 1, pre + 10, 5_000, {"op_name": "Conv"})] * 10
    ops += [FrameworkEvent("gemm", "operator", 1, pre + 20, 30_000, {"op_name": "Gemm"})]
    s = summarize(rec, "framework", ["model", "framework"], ops)
    assert [o.name for o in s.operators_by_total] == ["conv", "gemm"]
    assert [o.name for o in s.operators_by_mean] == ["gemm", "conv"]
    conv = s.operators_by_total[0]
    assert conv.calls == 10 and conv.total_ms == pytest.approx(0.05) and conv.op == "Conv"
    assert conv.share == pytest.approx(50 / 80)
    assert s.median is not None and s.median.operators_us[0] == ("gemm", 30.0)
