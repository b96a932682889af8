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


@dataclass
class BatchStats:
    """What one call of the model was: its rows and requests, how long its oldest request
    waited, and how long the model took."""

    rows: int
    requests: int
    queued_s: list[float]
    compute_s: float


class Batcher:
    def __init__(
        self,
        model: ServedModel,
        *,
        max_batch_size: int = 8,
        max_delay_ms: float = 2.0,
        max_queue: int = 256,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        self.model = model
        self.max_batch_size = max_batch_size if model.batchable else 1
        self.max_delay_s = max_delay_ms / 1000.0
        self.max_queue = max_queue
        self._on_batch = on_batch or (lambda stats: None)
        self._queue: deque[_Pending] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: Any = None
        self.in_flight = 0

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
        try:
            self._queue.append(_Pending(feeds, rows, key, future))
            self._wake.set()
            return await future
        finally:
            self.in_flight -= 1

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            first = self._queue[0]
            # Wait for company until the batch is full or the first request's delay is up.
            while True:
                rows = sum(p.rows for p in self._queue if p.key == first.key)
                left = first.arrived + self.max_delay_s - time.perf_counter()
                if rows >= self.max_batch_size or left <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=left)
                except TimeoutError:
                    break
            batch = self._take(first.key)
            await self._run(batch)

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
        for p in live:
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
