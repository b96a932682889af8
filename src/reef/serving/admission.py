"""The request bodies one ``reef serve`` process holds at once (``--max-inflight-mb``).

``--max-body`` caps one request; nothing capped them together, so a burst of large requests
could each be read whole, parsed and queued before the batcher's ``--max-queue`` ever saw
them, and take the process past its memory. Each inference request takes its body's bytes
from this budget before they are read (its Content-Length), or chunk by chunk as a chunked
upload streams in, and gives them back once it is answered; a request the budget cannot
take is answered 503 with ``Retry-After``, in the protocol's ``{"error"}`` body, while
health probes, metadata and ``/metrics`` are never refused (uvicorn's ``limit_concurrency``
would refuse them too, in plain text). The budget is each process's own, so with
``--workers N`` the server holds at most N times it.

A request's parsed tensors take more memory than its body (JSON numbers most of all), so
the budget bounds the memory in proportion, not exactly. The event loop is the only thread
that takes and gives, so no lock is needed.
"""

from __future__ import annotations

from dataclasses import dataclass


class BodyBudget:
    """Bytes of request bodies being answered now, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def hold(self) -> Held:
        """One request's share, empty until it takes some."""
        return Held(self)

    def _take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True


@dataclass
class Held:
    """The bytes one request holds of the budget."""

    budget: BodyBudget
    size: int = 0

    def take(self, size: int) -> bool:
        """Take ``size`` more bytes; False (nothing taken) when the budget cannot."""
        if not self.budget._take(size):
            return False
        self.size += size
        return True

    def release(self) -> None:
        self.budget.held -= self.size
        self.size = 0

    def busy(self) -> str:
        """Why a request the budget could not take is refused."""
        mib = 1024 * 1024
        return (
            f"busy: the requests being answered hold {self.budget.held / mib:.1f} MiB of "
            f"bodies, this process's limit is {self.budget.limit / mib:.1f} MiB "
            "(reef serve --max-inflight-mb); retry later"
        )
