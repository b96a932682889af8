"""Adaptive batching: concurrent requests coalesced into one call of the model.

Requests wait in a bounded queue. A batch starts with the oldest request and takes the ones
after it whose inputs stack with it (the same dimensions after the first, the batch axis)
until it holds ``max_batch_size`` rows or ``max_delay_ms`` has passed since its first request
arrived; the model answers the stacked inputs in one call, and each request gets back exactly
its own rows of every output (numpy slices of the one answer, copied). A request that does
not stack with the batch waits for the next one. A model without a batch axis answers one
request a call. Past ``max_queue`` waiting requests, a new one is refused (``Overloaded``:
HTTP 503 with Retry-After) rather than waiting without bound.

The model runs in one thread of its own, so that the event loop keeps taking requests while
it computes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from reef.api.serving import ServedModel


class Overloaded(Exception):
    """The queue is full: the request is refused (HTTP 503)."""


@dataclass
class _Pending:
    feeds: dict[str, np.ndarray]
    rows: int
    key: tuple[Any, ...]  # what must match for two requests to stack
    future: asyncio.Future[dict[str, np.ndarray]]
    arrived: float = field(default_factory=time.perf_counter)
    batch_rows: int = 0  # the rows of the batch it was answered in


@dataclass
class BatchStats:
    """What one call of the model was: its rows and requests, how long its oldest request
    waited, and how long the model took."""

    rows: int
    requests: int
    queued_s: list[float]
    compute_s: float


class SloController:
    """Keeps a model's p99 within ``slo_s`` while raising its throughput, by moving the
    batcher's two limits online.

    Every ``every`` answered requests it looks at the p99 of the last ``window`` of them
    (arrival to answer). Over the SLO, it waits less for company (the delay halves), and once
    there is no delay left to give, it makes batches smaller (halves the batch limit). Well
    under it (below ``low`` of it) it asks for more: a larger batch limit while batches fill
    to their limit (up to the configured one), else a longer wait (up to the configured one).
    Between the two it holds: a setting that meets the SLO is kept, not hunted around.
    """

    def __init__(
        self,
        slo_s: float,
        max_batch_size: int,
        max_delay_s: float,
        *,
        window: int = 200,
        every: int = 50,
        low: float = 0.7,
    ) -> None:
        self.slo_s, self.ceiling_batch, self.ceiling_delay = slo_s, max_batch_size, max_delay_s
        self.batch, self.delay_s = max_batch_size, max_delay_s
        self.window, self.every, self.low = window, every, low
        self._latencies: deque[float] = deque(maxlen=window)
        self._rows: deque[int] = deque(maxlen=window)
        self._since = 0
        self.changes = 0

    def observe(self, latency_s: float, batch_rows: int) -> None:
        self._latencies.append(latency_s)
        self._rows.append(batch_rows)
        self._since += 1
        if self._since >= self.every and len(self._latencies) >= min(self.window, 2 * self.every):
            self._since = 0
            self._adjust()

    def p99(self) -> float:
        ordered = sorted(self._latencies)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0

    def _adjust(self) -> None:
        p99 = self.p99()
        before = (self.batch, self.delay_s)
        if p99 > self.slo_s:
            if self.delay_s > 1e-4:
                self.delay_s /= 2
            else:
                self.delay_s = 0.0
                self.batch = max(1, self.batch // 2)
        elif p99 < self.low * self.slo_s:
            full = sum(self._rows) / len(self._rows) >= 0.8 * self.batch
            if full and self.batch < self.ceiling_batch:
                self.batch = min(self.ceiling_batch, self.batch * 2)
            elif self.delay_s < self.ceiling_delay:
                self.delay_s = min(self.ceiling_delay, self.delay_s * 1.5 + 0.0005)
        if (self.batch, self.delay_s) != before:
            self.changes += 1
            self._latencies.clear()  # judge the new setting on its own answers
            self._rows.clear()


class Batcher:
    def __init__(
        self,
        model: ServedModel,
        *,
        max_batch_size: int = 8,
        max_delay_ms: float = 2.0,
        max_queue: int = 256,
        on_batch: Callable[[BatchStats], None] | None = None,
        slo_p99_ms: float | None = None,
        arriving: Callable[[], int] | None = None,
    ) -> None:
        """``arriving``: how many requests for the model the server is handling now (read,
        parsed or queued, not yet answered); without it, those inside ``infer``."""
        self.model = model
        self.max_batch_size = max_batch_size if model.batchable else 1
        self.max_delay_s = max_delay_ms / 1000.0
        self.controller = (
            SloController(slo_p99_ms / 1000.0, self.max_batch_size, self.max_delay_s)
            if slo_p99_ms is not None
            else None
        )
        self.max_queue = max_queue
        self._on_batch = on_batch or (lambda stats: None)
        self._queue: deque[_Pending] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: Any = None
        self.in_flight = 0
        self._arriving = arriving or (lambda: self.in_flight)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reef-model")
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Finish the requests already queued, then stop."""
        while self._queue or self.in_flight:
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def infer(self, feeds: dict[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
        """The model's outputs for one request's inputs (``rows`` along the batch axis)."""
        if len(self._queue) >= self.max_queue:
            raise Overloaded(f"{len(self._queue)} requests are waiting already")
        assert self._wake is not None, "the batcher was not started"
        key = tuple((n, a.dtype.str, a.shape[1:]) for n, a in sorted(feeds.items()))
        future: asyncio.Future[dict[str, np.ndarray]] = asyncio.get_running_loop().create_future()
        self.in_flight += 1
        pending = _Pending(feeds, rows, key, future)
        try:
            self._queue.append(pending)
            self._wake.set()
            answer = await future
        finally:
            self.in_flight -= 1
        if self.controller is not None:
            self.controller.observe(time.perf_counter() - pending.arrived, pending.batch_rows)
            self.max_batch_size = self.controller.batch
            self.max_delay_s = self.controller.delay_s
        return answer

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            first = self._queue[0]
            # Wait for company until the batch is full or the first request's delay is up,
            # and only while company can come: when every request the server is answering
            # is queued already (one client sending one request after another, or every
            # concurrent client waiting here), waiting would only add the delay.
            while True:
                rows = sum(p.rows for p in self._queue if p.key == first.key)
                left = first.arrived + self.max_delay_s - time.perf_counter()
                coming = self._arriving() > len(self._queue)
                if rows >= self.max_batch_size or left <= 0 or not coming:
                    break
                self._wake.clear()
                try:
                    # Woken by a request joining the queue; a request still being read and
                    # parsed is looked for again within a millisecond.
                    await asyncio.wait_for(self._wake.wait(), timeout=min(left, 0.001))
                except TimeoutError:
                    continue
            batch = self._take(first.key)
            try:
                await self._run(batch)
            except Exception as exc:  # splitting the answer failed (a model answering fewer
                # rows than it was given, a callback): these requests fail, the loop goes on,
                # rather than every later request waiting on a loop that has died
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)

    def _take(self, key: tuple[Any, ...]) -> list[_Pending]:
        taken: list[_Pending] = []
        rows = 0
        kept: deque[_Pending] = deque()
        while self._queue:
            pending = self._queue.popleft()
            fits = pending.key == key and (not taken or rows + pending.rows <= self.max_batch_size)
            if fits:
                taken.append(pending)
                rows += pending.rows
            else:
                kept.append(pending)
        self._queue.extendleft(reversed(kept))
        return taken

    async def _run(self, batch: list[_Pending]) -> None:
        import numpy as np

        live = [p for p in batch if not p.future.cancelled()]
        if not live:
            return
        started = time.perf_counter()
        if len(live) == 1:
            feeds = live[0].feeds
        else:
            feeds = {n: np.concatenate([p.feeds[n] for p in live]) for n in live[0].feeds}
        loop = asyncio.get_running_loop()
        try:
            outputs = await loop.run_in_executor(self._executor, self.model.predict, feeds)
        except Exception as exc:
            for p in live:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        compute = time.perf_counter() - started
        offset = 0
        total_rows = sum(p.rows for p in live)
        short = [n for n, v in outputs.items() if len(live) > 1 and len(v) != total_rows]
        if short:
            raise ValueError(
                f"the model answered {len(outputs[short[0]])} rows of {short[0]!r} for a batch "
                f"of {total_rows}"
            )
        for p in live:
            p.batch_rows = total_rows
            if len(live) == 1:
                own = outputs
            else:
                own = {n: v[offset : offset + p.rows].copy() for n, v in outputs.items()}
            offset += p.rows
            if not p.future.done():
                p.future.set_result(own)
        self._on_batch(
            BatchStats(
                rows=sum(p.rows for p in live),
                requests=len(live),
                queued_s=[started - p.arrived for p in live],
                compute_s=compute,
            )
        )
