"""Systems under test: how each scenario's queries reach the predictor.

Queries are served inline, on LoadGen's issue thread: each is answered before ``IssueQuery``
returns, which is what a bare loop does and costs the least. For Server this is a single
worker serving a FIFO queue: LoadGen measures each latency from the query's *scheduled*
time, so the wait of a query that arrives while another runs is counted, as it should be.
Only Server with ``batch_size`` > 1 goes through a queue to a worker thread, which coalesces
the queries waiting there into one batch.

In accuracy mode each sample's outputs are serialised with ``np.save`` (never pickled) into
the response, so that LoadGen writes them to ``mlperf_log_accuracy.json`` and the accuracy
is computed from LoadGen's own log.

Tracing hooks: given a ``QueryRecorder``, each query (each batch) appends one row of
timestamps (issue, start, pre-processed, predicted, post-processed, completed) to it. The
hooks are separate paths chosen when the SUT is constructed, so an untraced run takes exactly
the paths it takes without them.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import mlperf_loadgen as lg
import numpy as np

from reef.bench.samples import SampleSet

if TYPE_CHECKING:
    from reef.trace.recorder import QueryRecorder

Predict = Callable[[dict[str, Any]], list[Any]]
_clock = time.perf_counter_ns


def encode_outputs(
    outputs: list[Any], row: int | None, argmax: frozenset[int] = frozenset()
) -> np.ndarray:
    """One sample's outputs as LoadGen logs them (row None: a model without a batch, whose
    whole outputs are the one sample's); those in ``argmax`` reduced to the index of their
    best class along the last axis."""
    buf = io.BytesIO()
    for i, out in enumerate(outputs):
        value = np.asarray(out if row is None else out[row])
        if i in argmax:
            value = value.argmax(axis=-1).astype(np.int32)
        elif value.dtype.kind == "S":
            # Fixed-width bytes (a served model's BYTES) are as wide as the longest element of
            # the whole answer: narrowed to the sample's own, its logged bytes do not depend on
            # the samples it was batched with (TEST01 compares them byte for byte).
            value = np.array(value.tolist(), dtype=bytes) if value.size else value.astype("S1")
        np.save(buf, value, allow_pickle=False)
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def decode_outputs(data: bytes) -> list[np.ndarray]:
    buf = io.BytesIO(data)
    arrays = []
    while buf.tell() < len(data):
        arrays.append(np.load(buf, allow_pickle=False))
    return arrays


class SystemUnderTest:
    def __init__(
        self,
        predict: Predict,
        samples: SampleSet,
        scenario: str,
        batch_size: int,
        accuracy: bool,
        raw_latencies: bool = True,
        log_argmax: frozenset[int] = frozenset(),
        tracer: QueryRecorder | None = None,
    ) -> None:
        self.predict = predict
        self.tracer = tracer
        # LoadGen issues the next query when one completes in these scenarios: the time in
        # between is LoadGen's own, traced as the query's issue stage.
        self._sequential = scenario in ("SingleStream", "MultiStream")
        self._last_done = 0
        self._batch = self._run_batch if tracer is None else self._traced_batch
        self.log_argmax = log_argmax
        self.samples = samples
        self.scenario = scenario
        self.batch_size = samples.fixed_batch or batch_size
        self.accuracy = accuracy
        self.raw_latencies = raw_latencies
        # Per query (per batch in Offline). An array of int64 rather than a list: each value is
        # converted on append and its Python int freed at once, so nothing piles up in memory.
        self.latencies = array("q")
        self.error: BaseException | None = None
        self._queue: queue.SimpleQueue[tuple[int, list[int], list[int]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._feeds = samples.single_feeds()

    # -- LoadGen handles -------------------------------------------------------------------

    def construct(self) -> Any:
        issue: Callable[[list[int], list[int]], None]
        if self.scenario == "Server" and self.batch_size > 1:
            self._start_worker()
            issue = self._enqueue
        elif self.scenario == "SingleStream" and not self.accuracy:
            issue = _single_stream_path(self) if self.tracer is None else _traced_single(self)
        else:
            issue = self._inline
        return lg.ConstructFastSUT(issue, self._flush)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        self._threads.clear()

    # -- query paths -----------------------------------------------------------------------

    def _inline(self, ids: list[int], indices: list[int]) -> None:
        t0 = _clock()
        per_batch = self.scenario == "Offline"
        if self._run_batches(ids, indices, per_batch, 0 if per_batch else t0) and not per_batch:
            self.latencies.append(_clock() - t0)

    def _run_batches(
        self, ids: list[int], indices: list[int], time_each: bool, issued: int = 0
    ) -> bool:
        """Answer every sample in batches; False if a batch failed (the rest are answered
        empty, each sample exactly once, so that LoadGen can finish)."""
        for start in range(0, len(ids), self.batch_size):
            tb = _clock()
            end = start + self.batch_size
            try:
                first = start == 0
                self._batch(
                    ids[start:end], indices[start:end], issued if first and issued else tb, first
                )
            except BaseException as exc:
                self._fail(exc, ids[start:])
                return False
            if time_each:
                self.latencies.append(_clock() - tb)
        return True

    def _enqueue(self, ids: list[int], indices: list[int]) -> None:
        self._queue.put((_clock(), ids, indices))

    def _flush(self) -> None:
        pass

    # -- helpers ---------------------------------------------------------------------------

    def _run_batch(
        self, ids: list[int], indices: list[int], _issued: int = 0, _first: bool = True
    ) -> None:
        n = len(indices)
        fixed = self.samples.fixed_batch
        if fixed is not None and n < fixed:
            # A model with a fixed batch dimension gets a full batch; the padding is dropped.
            indices = indices + [indices[0]] * (fixed - n)
        feed = self._feeds[indices[0]] if len(indices) == 1 else self.samples.feed(indices)
        outputs = self.predict(feed)
        if self.accuracy:
            payloads = [encode_outputs(outputs, r, self.log_argmax) for r in self._rows(n)]
            responses = [
                lg.QuerySampleResponse(qid, p.ctypes.data, p.nbytes)
                for qid, p in zip(ids, payloads, strict=True)
            ]
            lg.QuerySamplesComplete(responses)  # payloads stay alive until this returns
        else:
            lg.QuerySamplesComplete([lg.QuerySampleResponse(qid, 0, 0) for qid in ids])

    def _rows(self, n: int) -> list[int | None]:
        """Where each of ``n`` samples' answers lie in the outputs (None: all of them)."""
        return [None] if not self.samples.batchable else list(range(n))

    def _start_worker(self) -> None:
        t = threading.Thread(target=self._worker, name="reef-sut-worker", daemon=True)
        t.start()
        self._threads.append(t)

    def _worker(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            pending = [item]
            count = len(item[1])
            # Coalesce queries that are already waiting, up to the batch size.
            while count < self.batch_size:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                pending.append(more)
                count += len(more[1])
            ids = [q for _, qids, _ in pending for q in qids]
            indices = [i for _, _, idx in pending for i in idx]
            if self._run_batches(ids, indices, time_each=False, issued=pending[0][0]):
                done = _clock()
                self.latencies.extend(done - t for t, _, _ in pending)

    def _traced_batch(
        self, ids: list[int], indices: list[int], issued: int, first: bool = True
    ) -> None:
        """``_run_batch`` with a row of timestamps for the tracer."""
        tracer = self.tracer
        assert tracer is not None
        start = _clock()
        n = len(indices)
        fixed = self.samples.fixed_batch
        if fixed is not None and n < fixed:
            indices = indices + [indices[0]] * (fixed - n)
        feed = self._feeds[indices[0]] if len(indices) == 1 else self.samples.feed(indices)
        pre = _clock()
        outputs = self.predict(feed)
        pred = _clock()
        if self.accuracy:
            payloads = [encode_outputs(outputs, r, self.log_argmax) for r in self._rows(n)]
            responses = [
                lg.QuerySampleResponse(qid, p.ctypes.data, p.nbytes)
                for qid, p in zip(ids, payloads, strict=True)
            ]
        else:
            responses = [lg.QuerySampleResponse(qid, 0, 0) for qid in ids]
        post = _clock()
        lg.QuerySamplesComplete(responses)
        done = _clock()
        # LoadGen's issue time belongs to a query's first batch only.
        prev = self._last_done if self._sequential and first else 0
        tracer.rows.extend(
            (next(tracer.seq), ids[0], indices[0], n, prev, issued, start, pre, pred, post, done)
        )
        self._last_done = done
        if len(tracer.rows) >= tracer.limit:
            tracer.overflow()
            self._last_done = _clock()

    def _fail(self, exc: BaseException, ids: list[int]) -> None:
        if self.error is None:
            self.error = exc
        lg.QuerySamplesComplete([lg.QuerySampleResponse(q, 0, 0) for q in ids])


def _single_stream_path(sut: SystemUnderTest) -> Callable[[list[int], list[int]], None]:
    # SingleStream's hot path: try/except costs nothing in CPython 3.11 until it raises,
    # but an extra Python frame does, so the guard is folded into this one function.
    # Everything the path touches is a closure variable: no global or attribute lookups.
    predict, feeds, record = sut.predict, sut._feeds, sut.latencies.append
    complete, response, clock = lg.QuerySamplesComplete, lg.QuerySampleResponse, _clock

    def untimed(ids: list[int], indices: list[int]) -> None:
        try:
            predict(feeds[indices[0]])
        except BaseException as exc:
            sut._fail(exc, ids)
            return
        complete([response(ids[0], 0, 0)])

    def single_stream(ids: list[int], indices: list[int]) -> None:
        t0 = clock()
        try:
            predict(feeds[indices[0]])
        except BaseException as exc:
            sut._fail(exc, ids)
            return
        record(clock() - t0)
        complete([response(ids[0], 0, 0)])

    return single_stream if sut.raw_latencies else untimed


def _traced_single(sut: SystemUnderTest) -> Callable[[list[int], list[int]], None]:
    """SingleStream's hot path with a row of timestamps per query for the tracer."""
    tracer = sut.tracer
    assert tracer is not None
    predict, feeds, record = sut.predict, sut._feeds, sut.latencies.append
    complete, response, clock = lg.QuerySamplesComplete, lg.QuerySampleResponse, _clock
    rows, extend, seq, keep = tracer.rows, tracer.rows.extend, tracer.seq, sut.raw_latencies
    last = [0]

    def single_stream(ids: list[int], indices: list[int]) -> None:
        t0 = clock()
        i = indices[0]
        feed = feeds[i]
        t1 = clock()
        try:
            predict(feed)
        except BaseException as exc:
            sut._fail(exc, ids)
            return
        t2 = clock()
        if keep:
            record(t2 - t0)
        r = [response(ids[0], 0, 0)]
        t3 = clock()
        complete(r)
        t4 = clock()
        extend((next(seq), ids[0], i, 1, last[0], t0, t0, t1, t2, t3, t4))
        last[0] = t4
        if len(rows) >= tracer.limit:
            tracer.overflow()  # compaction, or the framework profiler's stop: not LoadGen's
            last[0] = clock()

    return single_stream
