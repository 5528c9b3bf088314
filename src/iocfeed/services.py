"""The composition root shared by the web app and the CLI: one place builds every service."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from iocfeed.auth.ratelimit import (
    FailedAuthLimiter,
    FailoverCounters,
    RateLimiter,
    RedisCounters,
)
from iocfeed.clock import Clock, SystemClock
from iocfeed.config import Settings
from iocfeed.stix.ids import new_stix_id
from iocfeed.stix.objects import Producer
from iocfeed.store.audit import AuditLog
from iocfeed.store.engine import open_engine
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.keys import KeyStore
from iocfeed.store.ratelimits import DatabaseCounters
from iocfeed.store.search import IndicatorSearch
from iocfeed.store.statuses import StatusStore


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    engine: Engine
    indicators: IndicatorStore
    search: IndicatorSearch
    keys: KeyStore
    audit: AuditLog
    statuses: StatusStore
    limiter: RateLimiter
    failed_auth: FailedAuthLimiter
    redis: RedisCounters | None
    producer: Producer

    def close(self) -> None:
        self.engine.dispose()
        if self.redis is not None:
            self.redis.client.close()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Every service for ``settings``; nothing is created at import time."""
    engine = open_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    redis = (
        RedisCounters(settings.redis_url, settings.redis_timeout_seconds)
        if settings.redis_url
        else None
    )
    database_counters = DatabaseCounters(engine)
    limiter = RateLimiter(
        FailoverCounters(redis, database_counters) if redis else database_counters
    )
    return Services(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine,
        indicators=IndicatorStore(engine, new_stix_id),
        search=IndicatorSearch(engine),
        keys=KeyStore(engine),
        audit=AuditLog(engine),
        statuses=StatusStore(engine),
        limiter=limiter,
        failed_auth=FailedAuthLimiter(limiter, settings.failed_auth_per_minute),
        redis=redis,
        producer=Producer(
            identity_id=settings.identity_id,
            name=settings.identity_name,
            identity_class=settings.identity_class,
        ),
    )
