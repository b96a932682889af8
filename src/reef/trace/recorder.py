"""The model-level record: one row of timestamps per query, and a few spans.

The system under test appends one row per query (per batch in Offline) to ``rows``, a flat
``array('q')``; that is the whole cost on the hot path. Every time is ``time.perf_counter_ns``.

Cap policy: the first ``first`` rows are kept in full. After them, when the buffer reaches
``first + 2 * sampled`` rows, it is compacted: only rows whose sequence number is a multiple of
``k`` are kept, ``k`` doubling while more than ``sampled`` would remain, and at the end the same
rule is applied once more, so that the file holds the first queries and every k-th one after
them (at most ``sampled``). What
is left out is never lost silently: each phase counts the rows dropped and adds up their stage
times (so that the shares of time per stage cover every query), and the slowest dropped query is
kept as well.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

STRIDE = 11
SEQ, QID, SAMPLE, N, PREV, ISSUE, START, PRE, PRED, POST, DONE = range(STRIDE)
COLUMNS = ("seq", "qid", "sample", "n", "prev", "issue", "start", "pre", "pred", "post", "done")
STAGES = ("issue", "queue", "pre-process", "predict", "post-process", "complete")
WARMUP_QID = -1  # a warm-up call, made outside LoadGen

_clock = time.perf_counter_ns


def epoch_offset_ns(samples: int = 7) -> int:
    """``time.time_ns() - time.perf_counter_ns()``, read where the two reads are closest."""
    best: tuple[int, int] | None = None
    for _ in range(samples):
        a = _clock()
        e = time.time_ns()
        b = _clock()
        if best is None or b - a < best[0]:
            best = (b - a, e - (a + b) // 2)
    assert best is not None
    return best[1]


def stage_durations(rows: np.ndarray) -> np.ndarray:
    """Nanoseconds per stage (columns in ``STAGES`` order) for rows shaped (n, STRIDE).

    ``issue`` is LoadGen's own time between the previous query's completion and this one's
    issue, known only where queries follow one another on one thread (else 0)."""
    import numpy as np

    out = np.zeros((rows.shape[0], len(STAGES)), dtype=np.int64)
    if rows.shape[0]:
        out[:, 0] = np.where(rows[:, PREV] > 0, rows[:, ISSUE] - rows[:, PREV], 0)
        out[:, 1] = rows[:, START] - rows[:, ISSUE]
        out[:, 2] = rows[:, PRE] - rows[:, START]
        out[:, 3] = rows[:, PRED] - rows[:, PRE]
        out[:, 4] = rows[:, POST] - rows[:, PRED]
        out[:, 5] = rows[:, DONE] - rows[:, POST]
    return out


@dataclass
class Span:
    name: str
    cat: str
    start_ns: int
    end_ns: int
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dropped:
    """Rows of one phase left out of the file: how many, and their stage times added up."""

    count: int = 0
    stage_ns: list[int] = field(default_factory=lambda: [0] * len(STAGES))


class QueryRecorder:
    def __init__(self, first: int = 1000, sampled: int = 1000) -> None:
        self.rows = array("q")
        self.seq = itertools.count()
        self.first = first
        self.sampled = sampled
        self.k = 1
        self._cap_rows = first + 2 * sampled
        # The hot path calls ``overflow`` when ``len(rows)`` reaches ``limit``.
        self.limit = self._cap_rows * STRIDE
        self.spans: list[Span] = []
        self.dropped: dict[str, Dropped] = {}
        self.slowest_dropped: dict[str, list[int]] = {}  # per phase
        self.origin_ns = _clock()
        self.epoch_offset_ns = epoch_offset_ns()
        self._at_first: Callable[[], None] | None = None
        self._phase: tuple[str, int] | None = None

    # -- recording --------------------------------------------------------------------------

    def at_first_full(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the first ``first`` rows are in (the framework profiler's
        stop: it cannot be sampled, so it covers the queries kept in full)."""
        self._at_first = callback
        self.limit = min(self.limit, self.first * STRIDE)

    def overflow(self) -> None:
        n = len(self.rows) // STRIDE
        if self._at_first is not None and n >= self.first:
            callback, self._at_first = self._at_first, None
            t0 = _clock()
            callback()
            self.span("framework profiler stopped", "reef", t0, _clock(), after_rows=n)
        if n >= self._cap_rows:
            self._compact()
        self.limit = (self.first if self._at_first is not None else self._cap_rows) * STRIDE

    def span(self, name: str, cat: str, start_ns: int, end_ns: int, **args: Any) -> None:
        self.spans.append(Span(name, cat, start_ns, end_ns, args))

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = _clock()
        self._phase = (name, start)
        try:
            yield
        finally:
            self._phase = None
            self.span(name, "phase", start, _clock())

    def timed(self, predict: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """``predict`` recording each call as a warm-up row (outside LoadGen)."""
        extend, seq, rows, clock = self.rows.extend, self.seq, self.rows, _clock

        def run(feed: dict[str, Any]) -> Any:
            t0 = clock()
            out = predict(feed)
            t1 = clock()
            n = len(next(iter(feed.values()))) if feed else 0
            extend((next(seq), WARMUP_QID, -1, n, 0, t0, t0, t0, t1, t1, t1))
            if len(rows) >= self.limit:
                self.overflow()
            return out

        return run

    def finish(self) -> None:
        """Apply the cap policy to the rows recorded since the last compaction."""
        if self.k > 1 or len(self.rows) // STRIDE > self.first + self.sampled:
            self._compact()

    # -- reading ----------------------------------------------------------------------------

    @property
    def recorded(self) -> int:
        return len(self.rows) // STRIDE + sum(d.count for d in self.dropped.values())

    def table(self) -> np.ndarray:
        import numpy as np

        return np.array(self.rows, dtype=np.int64).reshape(-1, STRIDE)

    def phases(self) -> list[Span]:
        return [s for s in self.spans if s.cat == "phase"]

    def phase_of(self, t: int) -> str:
        for s in reversed(self.phases()):
            if s.start_ns <= t <= s.end_ns:
                return s.name
        if self._phase is not None and t >= self._phase[1]:
            return self._phase[0]
        return "other"

    def policy(self) -> str:
        after = (
            "every later query while they fit"
            if self.k == 1
            else f"after them every {self.k}-th query"
        )
        return (
            f"the first {self.first} queries (warm-up calls included) in full; {after} (at "
            f"most {self.sampled} kept once {2 * self.sampled} are exceeded, every k-th with k "
            "doubling); dropped queries are counted, and their stage times added, per phase; "
            "the slowest dropped query is kept"
        )

    # -- the cap ----------------------------------------------------------------------------

    def _compact(self) -> None:
        import numpy as np

        table = self.table()
        tail = table[self.first :]
        k = self.k
        while int(np.count_nonzero(tail[:, SEQ] % k == 0)) > self.sampled:
            k *= 2
        keep = tail[:, SEQ] % k == 0
        self._fold(tail[~keep])
        self.k = k
        kept = np.ascontiguousarray(tail[keep])
        del self.rows[self.first * STRIDE :]
        self.rows.frombytes(kept.tobytes())

    def _fold(self, drop: np.ndarray) -> None:
        if not drop.shape[0]:
            return
        import numpy as np

        stages = stage_durations(drop)
        latency = drop[:, DONE] - drop[:, ISSUE]
        issue = drop[:, ISSUE]
        left = np.ones(drop.shape[0], dtype=bool)
        windows = [(p.name, p.start_ns, p.end_ns) for p in self.phases()]
        if self._phase is not None:
            windows.append((self._phase[0], self._phase[1], 2**62))
        for name, start, end in [*windows, ("other", -(2**62), 2**62)]:
            mask = left & (issue >= start) & (issue <= end)
            if not mask.any():
                continue
            left &= ~mask
            agg = self.dropped.setdefault(name, Dropped())
            agg.count += int(mask.sum())
            sums = stages[mask].sum(axis=0)
            agg.stage_ns = [a + int(b) for a, b in zip(agg.stage_ns, sums, strict=True)]
            worst = int(np.flatnonzero(mask)[latency[mask].argmax()])
            kept = self.slowest_dropped.get(name)
            if kept is None or latency[worst] > kept[DONE] - kept[ISSUE]:
                self.slowest_dropped[name] = [int(v) for v in drop[worst]]
