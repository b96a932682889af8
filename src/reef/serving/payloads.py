"""Payload logging (``reef serve --log-payloads RATE``): a sampled, size-bounded log of what a
model was asked and answered, for drift analysis (``reef drift REFERENCE CHUNK.npz``) and
replay.

A share ``rate`` of the requests is kept (each request drawn at random). Their rows gather in
memory and are written as one ``.npz`` file per ``chunk_rows`` rows (or at shutdown) under
``REEF_HOME/payloads/<model>/``: ``inputs`` (the first input's rows, flattened to features, the
array ``reef drift`` reads first), one ``input_<name>`` and ``output_<name>`` per tensor, the
requests' ``ids`` and arrival ``times`` (Unix seconds, one per row). Each file is written
aside and renamed into place; past ``max_bytes`` in all, the oldest files are removed. The
writing happens on a thread of its own behind a bounded queue: a request never waits for the
disk, and a request that finds the queue full is not logged (``reef_payloads_dropped_total``).
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from reef.serving.metrics import Metrics

QUEUE = 1024
CHUNK_ROWS = 1000


class PayloadLog:
    def __init__(
        self,
        model: str,
        folder: Path,
        *,
        rate: float,
        max_bytes: int,
        metrics: Metrics | None = None,
        chunk_rows: int = CHUNK_ROWS,
        seed: int | None = None,
    ) -> None:
        self.model, self.folder, self.rate, self.max_bytes = model, folder, rate, max_bytes
        self.chunk_rows = chunk_rows
        self.metrics = metrics
        self._random = random.Random(seed)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE)
        self._rows: list[tuple[str | None, float, dict[str, Any], dict[str, Any]]] = []
        self._count = 0
        self._seq = 0
        self.write_errors = 0  # chunks the disk did not take (their rows are dropped)
        folder.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._run, name=f"reef-payloads-{model}", daemon=True
        )
        self._thread.start()

    def offer(
        self, request_id: str | None, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]
    ) -> None:
        """Keep this request with probability ``rate`` (never blocking)."""
        if self._random.random() >= self.rate:
            return
        try:
            self._queue.put_nowait((request_id, time.time(), inputs, outputs))
        except queue.Full:
            if self.metrics is not None:
                self.metrics.payloads_dropped.labels(self.model).inc()

    def close(self) -> None:
        """Write what is gathered, then stop (never waiting more than about 30 s)."""
        try:
            self._queue.put(None, timeout=5)
        except queue.Full:  # the writer is stuck on the disk: shut down without it
            return
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    self._flush()
                    return
                self._take(item)
            except Exception:  # a full disk, a folder removed: the rows are lost, not the log
                self.write_errors += 1
                if self.metrics is not None:
                    self.metrics.payloads_dropped.labels(self.model).inc(max(len(self._rows), 1))
                self._rows.clear()
                self._count = 0
                if item is None:
                    return

    def _take(self, item: Any) -> None:
        request_id, at, inputs, outputs = item
        if self._rows and _shapes(self._rows[0][2]) != _shapes(inputs):
            self._flush()  # rows of another size: a chunk of their own
        self._rows.append((request_id, at, inputs, outputs))
        self._count += _rows_of(inputs)
        if self.metrics is not None:
            self.metrics.payloads_logged.labels(self.model).inc()
        if self._count >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        import numpy as np

        if not self._rows:
            return
        arrays: dict[str, Any] = {}
        ids: list[str] = []
        times: list[float] = []
        for request_id, at, inputs, _ in self._rows:
            n = _rows_of(inputs)
            ids += [request_id or ""] * n
            times += [at] * n
        first = next(iter(self._rows[0][2]))
        for name in self._rows[0][2]:
            arrays[f"input_{name}"] = np.concatenate([r[2][name] for r in self._rows])
        for name in self._rows[0][3]:
            arrays[f"output_{name}"] = np.concatenate([r[3][name] for r in self._rows])
        rows = arrays[f"input_{first}"]
        arrays = {"inputs": rows.reshape(rows.shape[0], -1), **arrays}
        arrays["ids"] = np.asarray(ids)
        arrays["times"] = np.asarray(times)
        self._seq += 1
        name = f"payloads-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{self._seq:06d}.npz"
        staged = self.folder / f".{name}.tmp"
        with staged.open("wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(staged, self.folder / name)
        self._rows.clear()
        self._count = 0
        self._trim()

    def _trim(self) -> None:
        # Several workers (reef serve --workers) trim one folder: a file may go between the
        # listing and its stat, which is no error.
        found: list[tuple[float, int, Path]] = []
        for path in self.folder.glob("payloads-*.npz"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found.append((stat.st_mtime, stat.st_size, path))
        found.sort()
        total = sum(size for _, size, _ in found)
        for _, size, path in found:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


def _shapes(inputs: dict[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(value.shape[1:])) for name, value in inputs.items()]


def _rows_of(inputs: dict[str, Any]) -> int:
    first = next(iter(inputs.values()))
    return int(first.shape[0]) if getattr(first, "ndim", 0) else 1
