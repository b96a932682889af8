"""The request bodies one ``reef serve`` process holds at once (``--max-inflight-mb``).

``--max-body`` caps one request; nothing capped them together, so a burst of large requests
could each be read whole, parsed and queued before the batcher's ``--max-queue`` ever saw
them, and take the process past its memory. Each inference request takes its body's bytes
from this budget chunk by chunk as they arrive, and gives them back once it is answered; a
request whose declared Content-Length the budget could not take now is refused before a byte
is read, and one the budget cannot take as it streams in is refused then. Taking as bytes
arrive, not the whole declared length up front, means a client that declares a large body
and stalls holds only what it sent. A refused request is answered 503 with ``Retry-After``,
in the protocol's ``{"error"}`` body, while
health probes, metadata and ``/metrics`` are never refused (uvicorn's ``limit_concurrency``
would refuse them too, in plain text). The budget is each process's own, so with
``--workers N`` the server holds at most N times it.

A request's parsed tensors take more memory than its body (JSON numbers most of all), so
the budget bounds the memory in proportion, not exactly. The event loop is the only thread
that takes and gives, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class BodyBudget:
    """Bytes of request bodies being answered now, at most ``limit``; ``changed`` is told the
    bytes held after each change (the gauge)."""

    def __init__(self, limit: int, changed: Callable[[int], None] | None = None) -> None:
        self.limit = limit
        self.held = 0
        self._changed = changed

    def hold(self) -> Held:
        """One request's share, empty until it takes some."""
        return Held(self)

    def room(self) -> int:
        """Bytes the budget could take now."""
        return self.limit - self.held

    def _move(self, size: int) -> None:
        self.held += size
        if self._changed is not None:
            self._changed(self.held)

    def _take(self, size: int) -> bool:
        if size > self.room():
            return False
        self._move(size)
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
        if self.size:
            self.budget._move(-self.size)
        self.size = 0

    def busy(self) -> str:
        """Why a request the budget could not take is refused."""
        mib = 1024 * 1024
        others = self.budget.held - self.size  # not this request's own, given back next
        return (
            f"busy: the requests being answered hold {others / mib:.1f} MiB of "
            f"bodies, this process's limit is {self.budget.limit / mib:.1f} MiB "
            "(reef serve --max-inflight-mb); retry later"
        )
