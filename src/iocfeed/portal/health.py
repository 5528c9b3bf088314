"""Use case: the service's health for the admin page: store size and latency, the last
write and source run, indicators by type, and which backend the rate limiter and the usage
meter count in (Redis when configured and answering, else the database)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from iocfeed.auth.ratelimit import RateLimiter, RedisCounters
from iocfeed.errors import DependencyUnavailable
from iocfeed.indicators.model import IocType
from iocfeed.store.search import IndicatorSearch
from iocfeed.store.stats import LastRun, StoreStats


@dataclass(frozen=True, slots=True)
class HealthReport:
    database: str
    """``sqlite`` or ``postgresql``."""
    database_latency_ms: float
    store_bytes: int
    indicators: dict[IocType, int]
    last_write: datetime | None
    last_source_run: LastRun | None
    limiter_backend: str
    """``redis``, ``database`` (no Redis configured), or ``database (Redis unavailable)``."""
    redis_latency_ms: float | None
    redis_failures: int
    """Times the limiter fell back from Redis to the database since this process started."""
    accounts: int
    users: int
    keys: int


class Health:
    def __init__(
        self,
        stats: StoreStats,
        search: IndicatorSearch,
        limiter: RateLimiter,
        redis: RedisCounters | None,
    ) -> None:
        self.stats = stats
        self.search = search
        self.limiter = limiter
        self.redis = redis

    def report(self) -> HealthReport:
        latency = self.stats.latency_seconds()
        backend, redis_ms = "database", None
        if self.redis is not None:
            started = time.perf_counter()
            try:
                self.redis.ping()
                backend, redis_ms = "redis", (time.perf_counter() - started) * 1000
            except DependencyUnavailable:
                backend = "database (Redis unavailable)"
        return HealthReport(
            database=self.stats.engine.dialect.name,
            database_latency_ms=round(latency * 1000, 2),
            store_bytes=self.stats.size_bytes(),
            indicators=self.search.counts_by_type(),
            last_write=self.stats.last_write(),
            last_source_run=self.stats.last_source_run(),
            limiter_backend=backend,
            redis_latency_ms=round(redis_ms, 2) if redis_ms is not None else None,
            redis_failures=self.limiter.redis_failures(),
            accounts=self.stats.count("accounts"),
            users=self.stats.count("users"),
            keys=self.stats.count("api_keys"),
        )
