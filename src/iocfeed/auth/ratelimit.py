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

When Redis is away
------------------
Limits stay enforced: a Redis that refuses, drops or does not answer within
``redis_timeout_seconds`` is set aside and the counts are taken from the database instead,
with a logged warning and the ``iocfeed_rate_limiter_redis_failures_total`` metric. Redis is
tried again after ``REDIS_RETRY_SECONDS`` (no restart needed); counts restart in whichever
store takes over, so a client may get up to one extra window's worth of requests at each
switch. Only if the database is away too is a request refused (503).

Failed authentication
---------------------
Requests with a missing or bad key are counted per client address in the same counters
(``FailedAuthLimiter``); past ``failed_auth_per_minute`` the address gets 429 until its
window ends, without a key lookup. Each worker remembers the addresses it saw exceed the
limit, so a blocked address costs neither a lookup nor a count.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis

from iocfeed.errors import DependencyUnavailable, RateLimited

log = logging.getLogger("iocfeed.ratelimit")

WINDOW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0


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

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )

    def _name(self, key_id: str, window_start: int) -> str:
        return f"iocfeed:rate:{key_id}:{window_start}"

    def increment(self, key_id: str, window_start: int) -> int:
        name = self._name(key_id, window_start)
        try:
            pipeline = self.client.pipeline()
            pipeline.incr(name)
            pipeline.expire(name, WINDOW_SECONDS * 2)
            count, _ = pipeline.execute()
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return int(count)

    def peek(self, key_id: str, window_start: int) -> int:
        try:
            value = self.client.get(self._name(key_id, window_start))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return int(value) if value is not None else 0

    def ping(self) -> None:
        """Nothing if Redis answers; DependencyUnavailable if not."""
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: redis.RedisError) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The rate limiter's Redis is unavailable ({type(exc).__name__})", dependency="redis"
    )


class FailoverCounters:
    """Redis counters, with the database's while Redis is unavailable (see the module notes)."""

    def __init__(
        self, primary: RedisCounters, fallback: Counters, retry_seconds: float = REDIS_RETRY_SECONDS
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self.failures = 0  # Redis errors seen; exported as a metric
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def _use_primary(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self, exc: DependencyUnavailable) -> None:
        with self._lock:
            self.failures += 1
            self._retry_at = time.monotonic() + self.retry_seconds
        log.warning(
            "%s; counting in the database, trying Redis again in %.0f s",
            exc.message,
            self.retry_seconds,
        )

    def increment(self, key_id: str, window_start: int) -> int:
        if self._use_primary():
            try:
                return self.primary.increment(key_id, window_start)
            except DependencyUnavailable as exc:
                self._failed(exc)
        return self.fallback.increment(key_id, window_start)

    def peek(self, key_id: str, window_start: int) -> int:
        if self._use_primary():
            try:
                return self.primary.peek(key_id, window_start)
            except DependencyUnavailable as exc:
                self._failed(exc)
        return self.fallback.peek(key_id, window_start)


class RateLimiter:
    """Applies a plan's requests per minute to a key, over shared counters."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    def redis_failures(self) -> int:
        """How many times Redis failed and the database counted instead (0 without Redis)."""
        return self.counters.failures if isinstance(self.counters, FailoverCounters) else 0

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


class FailedAuthLimiter:
    """Requests with a missing or bad key, limited per client address (see the module notes).

    A blocked address is refused before any key lookup, except for key ids that this worker
    saw authenticate within ``VOUCH_SECONDS``: those are looked up and checked as usual, so
    one noisy client behind a shared address (NAT, a proxy) does not lock out the working
    SIEMs beside it, while random keys still cost nothing.
    """

    VOUCH_SECONDS = 600

    def __init__(self, limiter: RateLimiter, per_minute: int) -> None:
        self.limiter = limiter
        self.per_minute = per_minute or None  # 0 = no limit
        self._blocked: dict[str, int] = {}  # counter id → epoch second its window ends
        self._vouched: dict[str, int] = {}  # key id → epoch second its vouching ends

    @staticmethod
    def _counter_id(address: str) -> str:
        # Counter ids are 32 characters at most; an IPv6 address may be longer.
        return "addr:" + hashlib.sha256(address.encode()).hexdigest()[:27]

    def check(self, address: str, now: datetime, key_id: str | None = None) -> None:
        """RateLimited if ``address`` is known to be over its limit this window, unless the
        request presents a key id that authenticated recently."""
        if self.per_minute is None:
            return
        until = self._blocked.get(self._counter_id(address))
        epoch = int(now.timestamp())
        if until is None or epoch >= until:
            return
        if key_id is not None and self._vouched.get(key_id, 0) > epoch:
            return
        raise self._refusal(until - epoch)

    def succeeded(self, key_id: str, now: datetime) -> None:
        """Remember that ``key_id`` authenticated, so a blocked address still lets it try."""
        if self.per_minute is None:
            return
        epoch = int(now.timestamp())
        if len(self._vouched) > 10_000:  # forget what has lapsed
            self._vouched = {k: v for k, v in self._vouched.items() if v > epoch}
        self._vouched[key_id] = epoch + self.VOUCH_SECONDS

    def failed(self, address: str, now: datetime) -> None:
        """Count a failed authentication; RateLimited if that puts ``address`` over its limit."""
        if self.per_minute is None:
            return
        counter = self._counter_id(address)
        decision = self.limiter.hit(counter, self.per_minute, now)
        if decision is None or decision.allowed:
            return
        if len(self._blocked) > 10_000:  # forget windows that have ended
            epoch = int(now.timestamp())
            self._blocked = {k: v for k, v in self._blocked.items() if v > epoch}
        self._blocked[counter] = int(now.timestamp()) + decision.reset_seconds
        raise self._refusal(decision.reset_seconds)

    def _refusal(self, retry_after: int) -> RateLimited:
        return RateLimited(
            f"Too many requests without a valid API key from this address "
            f"(limit {self.per_minute} per minute); retry in {retry_after} s",
            retry_after=retry_after,
            limit=self.per_minute or 0,
        )
