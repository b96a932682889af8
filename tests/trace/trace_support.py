"""Synthetic model-level rows, appended the way the system under test appends them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from reef.trace.recorder import DONE, QueryRecorder


def add_query(
    rec: QueryRecorder,
    t0: int,
    predict_ns: int,
    *,
    qid: int = 1000,
    pre_ns: int = 100,
    post_ns: int = 200,
    complete_ns: int = 300,
    prev: int = 0,
) -> int:
    """One query issued at ``t0``; returns its completion time."""
    pre = t0 + pre_ns
    pred = pre + predict_ns
    post = pred + post_ns
    done = post + complete_ns
    rec.rows.extend((next(rec.seq), qid, 0, 1, prev, t0, t0, pre, pred, post, done))
    if len(rec.rows) >= rec.limit:
        rec.overflow()
    return done


def run_queries(rec: QueryRecorder, count: int, predict_ns: int = 10_000, start: int = 0) -> int:
    """``count`` back-to-back queries from ``start`` (default: now); returns the last end."""
    t = start or time.perf_counter_ns()
    for i in range(count):
        t = add_query(rec, t + 50, predict_ns, qid=10_000 + i, prev=t)
    return t


@contextlib.contextmanager
def phase(rec: QueryRecorder, name: str) -> Iterator[None]:
    """``rec.phase(name)``, ending no earlier than the last synthetic query (synthetic time
    runs ahead of the real clock)."""
    with rec.phase(name):
        yield
    last = rec.table()[:, DONE].max(initial=0)
    rec.spans[-1].end_ns = max(rec.spans[-1].end_ns, int(last))
