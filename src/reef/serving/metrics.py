"""The server's Prometheus metrics, in a registry of its own (``/metrics``): requests and
failures per model (``_total`` counters), histograms (not summaries: they aggregate across
replicas) of the time a request waited in the queue, the model's compute time a batch and
the total time a request took, the batch sizes, and the requests in flight (the gauge an HPA
scales on).

With ``reef serve --workers N`` every worker process writes its values to files in the
directory ``PROMETHEUS_MULTIPROC_DIR`` names (the parent made it, private, and removes it at
exit), and any worker's ``/metrics`` reads them all (prometheus-client's multiprocess mode):
counters and histograms sum the workers'; the in-flight gauge sums the live workers'
(``livesum``); the batching limits and the drift share, which are each worker's own, carry a
``pid`` label (``liveall``); ``reef_drift_detected`` is the live workers' maximum
(``livemax``: 1 when any worker's last window drifted). A worker that stops marks itself dead
(``mark_process_dead``), so that its live gauges leave the sums; one that died without doing
so (killed, crashed) has its live gauges' files removed by the next ``/metrics`` any worker
answers (``forget_dead_workers``).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from a tenth of a millisecond (a batch of a small model) to ten seconds.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        # Several worker processes (reef serve --workers N): values live in the directory's
        # files; prometheus-client chose that when it was first imported, from the same variable.
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry()
        labels = ["model"]
        self.requests = Counter(
            "reef_requests", "Inference requests", labels, registry=self.registry
        )
        self.failures = Counter(
            "reef_request_failures",
            "Inference requests answered with an error",
            [*labels, "code"],
            registry=self.registry,
        )
        self.queue = Histogram(
            "reef_queue_seconds",
            "Time a request waited for its batch",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.compute = Histogram(
            "reef_compute_seconds",
            "The model's time for one batch",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.total = Histogram(
            "reef_request_seconds",
            "Time from a request's arrival to its answer",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch = Histogram(
            "reef_batch_size",
            "Rows in one call of the model",
            labels,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.inflight = Gauge(
            "reef_inflight_requests",
            "Inference requests being answered now",
            labels,
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.body_bytes = Gauge(
            "reef_inflight_body_bytes",
            "Bytes of request bodies being answered now (reef serve --max-inflight-mb)",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

        self.batch_limit = Gauge(
            "reef_batch_limit",
            "Rows a batch may hold now (moved by --slo-p99-ms)",
            labels,
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        self.batch_delay = Gauge(
            "reef_batch_delay_seconds",
            "How long a request may wait for its batch now (moved by --slo-p99-ms)",
            labels,
            multiprocess_mode="liveall",
            registry=self.registry,
        )

        self.drift_share = Gauge(
            "reef_drift_share",
            "Share of features drifted in the last drift window",
            labels,
            multiprocess_mode="liveall",
            registry=self.registry,
        )
        self.drift_detected = Gauge(
            "reef_drift_detected",
            "1 when the last drift window drifted",
            labels,
            multiprocess_mode="livemax",
            registry=self.registry,
        )
        self.drift_alert_failures = Counter(
            "reef_drift_alert_failures",
            "Drift alerts the webhook did not take",
            labels,
            registry=self.registry,
        )

        self.payloads_logged = Counter(
            "reef_payloads_logged", "Requests kept in the payload log", labels,
            registry=self.registry,
        )  # fmt: skip
        self.payloads_dropped = Counter(
            "reef_payloads_dropped",
            "Requests sampled for the payload log but dropped (its queue was full)",
            labels,
            registry=self.registry,
        )

    def limits(self, model: str, rows: int, delay_s: float) -> None:
        self.batch_limit.labels(model).set(rows)
        self.batch_delay.labels(model).set(delay_s)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not self.multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        forget_dead_workers(os.environ[MULTIPROC_ENV])
        every = CollectorRegistry()  # all the workers' files, read now
        MultiProcessCollector(every)  # type: ignore[no-untyped-call]
        return generate_latest(every), CONTENT_TYPE_LATEST

    def worker_stopped(self) -> None:
        """Take this worker's live gauges out of the sums (several workers only)."""
        if self.multiprocess:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def batch_done(self, model: str, stats: Any) -> None:
        self.batch.labels(model).observe(stats.rows)
        self.compute.labels(model).observe(stats.compute_s)
        for waited in stats.queued_s:
            self.queue.labels(model).observe(waited)


def forget_dead_workers(directory: str) -> list[int]:
    """Remove the live gauges' files of the worker processes that are gone without marking
    themselves dead (killed, or crashed: uvicorn starts another in their place), so that
    their last values (a crashed worker's requests in flight) leave the sums; the ids of
    those found. Its own files, and those of workers still running, stay."""
    import re
    from pathlib import Path

    found: set[int] = set()
    for path in Path(directory).glob("gauge_live*_*.db"):
        match = re.fullmatch(r"gauge_live[a-z]+_(\d+)\.db", path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _running(pid):
            continue
        found.add(pid)
        with contextlib.suppress(FileNotFoundError):  # another worker removed it first
            path.unlink()
    return sorted(found)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process of that id: not one of ours, but alive
        return True
    return True
