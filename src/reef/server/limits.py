"""The server's limits: a request-rate token bucket per API token (or per client address
for requests without one), kept in memory by each server process, and the size cap on
request bodies, checked from ``Content-Length`` and again while the body is read."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from reef.errors import RateLimited, TooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Buckets kept before the idle (full) ones are dropped.
MAX_BUCKETS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """``rate`` requests a second per key on average, ``burst`` at once; ``rate`` 0 turns
    limiting off. Thread-safe: the server's endpoints run in a thread pool."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, who: str) -> None:
        """Spend one request of ``key``'s bucket; ``RateLimited`` (HTTP 429, with the
        seconds to wait) when it is empty. ``who`` names the key in the message."""
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            wait = max(1, math.ceil((1 - bucket.tokens) / self.rate))
        raise RateLimited(
            f"too many requests from {who}: the limit is {self.rate:g} a second "
            f"(bursts of {self.burst})",
            retry_after=wait,
            hint=f"retry after {wait} s",
        )

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


class _BodyTooLarge(Exception):
    pass


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"the request body is larger than this server takes ({limit} bytes)",
        hint="send fewer runs at a time, or ask the server's admin to raise --max-body",
    )


class BodyLimit:
    """ASGI middleware: a request whose body is over ``limit`` bytes is answered 413 with
    ``error_body`` (Reef's error shape), whether ``Content-Length`` says so up front or the
    body only turns out so while it is read; nothing of it reaches the endpoint's work."""

    def __init__(
        self, app: ASGIApp, limit: int, error_body: Callable[[TooLarge], dict[str, Any]]
    ) -> None:
        self.app = app
        self.limit = limit
        self.error_body = error_body

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(self.error_body(too_large(self.limit))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the server rejects it; the count below still holds
                if declared > self.limit:
                    await self._refuse(send)
                    return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app answers to the cut body, the answer is 413
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(send)
