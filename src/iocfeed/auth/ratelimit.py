"""Per-key request rate limits, with state shared by every worker process.

Theory of operation
-------------------
Fixed one-minute windows: each request increments the counter of ``(key id, current
minute)`` atomically and is allowed while the count is within the plan's requests per
minute. A fixed window lets a client send up to twice the rate across a window boundary; in
exchange it needs one atomic increment per request and no clock agreement between workers
beyond the minute, which suits a feed that is polled. The counter lives in Redis
(``INCR`` + ``EXPIRE``) when ``IOCFEED_REDIS_URL`` is set, else in the database (an upsert
that returns the new count), so every worker and every machine sees the same count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one request against its key's limit; the numbers the headers carry."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class Counters(Protocol):
    def increment(self, key_id: str, window_start: int) -> int:
        """Add one hit to the window and return the new count."""
        ...

    def peek(self, key_id: str, window_start: int) -> int:
        """The window's count without adding to it."""
        ...


class RedisCounters:
    """Window counters in Redis, expiring with their window."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def _name(self, key_id: str, window_start: int) -> str:
        return f"iocfeed:rate:{key_id}:{window_start}"

    def increment(self, key_id: str, window_start: int) -> int:
        name = self._name(key_id, window_start)
        pipeline = self.client.pipeline()
        pipeline.incr(name)
        pipeline.expire(name, WINDOW_SECONDS * 2)
        count, _ = pipeline.execute()
        return int(count)

    def peek(self, key_id: str, window_start: int) -> int:
        value = self.client.get(self._name(key_id, window_start))
        return int(value) if value is not None else 0


class RateLimiter:
    """Applies a plan's requests per minute to a key, over shared counters."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    @staticmethod
    def _window(now: datetime) -> tuple[int, int]:
        epoch = int(now.timestamp())
        start = epoch - epoch % WINDOW_SECONDS
        return start, start + WINDOW_SECONDS - epoch

    def hit(self, key_id: str, per_minute: int | None, now: datetime) -> RateDecision | None:
        """Count one request; ``None`` when the plan is unlimited."""
        if per_minute is None:
            return None
        start, reset = self._window(now)
        count = self.counters.increment(key_id, start)
        return RateDecision(count <= per_minute, per_minute, max(per_minute - count, 0), reset)

    def status(self, key_id: str, per_minute: int | None, now: datetime) -> RateDecision | None:
        """The key's standing in the current window, without counting a request."""
        if per_minute is None:
            return None
        start, reset = self._window(now)
        count = self.counters.peek(key_id, start)
        return RateDecision(count < per_minute, per_minute, max(per_minute - count, 0), reset)
