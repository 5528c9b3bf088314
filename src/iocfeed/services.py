"""The composition root shared by the web app and the CLI: one place builds every service."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from iocfeed.auth.ratelimit import (
    FailedAuthLimiter,
    FailoverCounters,
    RateLimiter,
    RedisCounters,
)
from iocfeed.clock import Clock, SystemClock
from iocfeed.config import Settings
from iocfeed.indicators.cursor import CursorCodec
from iocfeed.lifecycle.decay import DecayModel, DecayPolicy
from iocfeed.lifecycle.sightings import SightingPolicy
from iocfeed.portal.accounts import Accounts
from iocfeed.portal.health import Health
from iocfeed.portal.metering import DatabaseSink, RedisSink, UsageMeter, UsageSink
from iocfeed.portal.people import People
from iocfeed.portal.usage import Usage
from iocfeed.stix.ids import new_object_id, new_stix_id
from iocfeed.stix.objects import Producer
from iocfeed.store.accounts import AccountStore
from iocfeed.store.audit import AuditLog
from iocfeed.store.engine import open_engine
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.keys import KeyStore
from iocfeed.store.leases import SweepLeases
from iocfeed.store.people import PeopleStore
from iocfeed.store.pushers import PusherStore
from iocfeed.store.ratelimits import DatabaseCounters
from iocfeed.store.replicas import ReadRouting
from iocfeed.store.search import IndicatorSearch
from iocfeed.store.secrets import shared_secret
from iocfeed.store.sightings import SightingStore
from iocfeed.store.sources import SourceStore
from iocfeed.store.stats import StoreStats
from iocfeed.store.statuses import StatusStore
from iocfeed.store.usage import UsageStore
from iocfeed.store.warninglists import WarninglistStore
from iocfeed.store.webhooks import WebhookStore
from iocfeed.warninglists import Warninglists

STORED_SECRET = "secret_key"  # noqa: S105 (a row name, not a secret)
"""The name of the stored server secret, used when the ``secret_key`` setting is unset."""


class PagingTokens:
    """The codec of ``next`` tokens, keyed by ``secret_key`` or else the store's shared
    secret (read on first use, so that commands which never page need no migrated store)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self._codec: CursorCodec | None = None
        self._lock = threading.Lock()

        self._secret: bytes | None = None

    def secret(self) -> bytes:
        """The server secret: ``secret_key``, else the store's shared one (also derives
        webhook signing secrets, ``push.signatures``)."""
        with self._lock:
            if self._secret is None:
                configured = self._settings.secret_key
                self._secret = (
                    configured.get_secret_value().encode("utf-8")
                    if configured is not None
                    else shared_secret(self._engine, STORED_SECRET)
                )
            return self._secret

    @property
    def codec(self) -> CursorCodec:
        secret = self.secret()
        with self._lock:
            if self._codec is None:
                self._codec = CursorCodec(secret)
            return self._codec


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    engine: Engine
    indicators: IndicatorStore
    sightings: SightingStore
    search: IndicatorSearch
    reads: ReadRouting
    keys: KeyStore
    audit: AuditLog
    statuses: StatusStore
    sources: SourceStore
    leases: SweepLeases
    webhooks: WebhookStore
    pushers: PusherStore
    limiter: RateLimiter
    failed_auth: FailedAuthLimiter
    redis: RedisCounters | None
    producer: Producer
    tokens: PagingTokens
    accounts: Accounts
    people: People
    meter: UsageMeter
    usage: Usage
    health: Health
    warninglists: Warninglists

    def close(self) -> None:
        self.meter.close()
        self.engine.dispose()
        for replica in self.reads.replicas:
            replica.dispose()
        if self.redis is not None:
            self.redis.client.close()


def decay_policy(settings: Settings) -> DecayPolicy:
    """The decay models and publication rule the settings declare."""
    return DecayPolicy(
        models={
            ioc_type: DecayModel(
                lifetime=timedelta(days=rule.lifetime_days),
                speed=rule.speed,
                threshold=rule.threshold,
            )
            for ioc_type, rule in settings.decay_rules.items()
        },
        step=settings.decay_step,
        slack=timedelta(hours=settings.decay_slack_hours),
    )


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Every service for ``settings``; nothing is created at import time."""
    engine = open_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    reads = ReadRouting(
        engine,
        [
            open_engine(
                url,
                connect_timeout=settings.database_connect_timeout_seconds,
                statement_timeout=settings.database_statement_timeout_seconds,
            )
            for url in settings.database_replica_urls
        ],
        wait_seconds=settings.database_replica_wait_seconds,
        retry_seconds=settings.database_replica_retry_seconds,
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
    clock = clock or SystemClock()
    indicators = IndicatorStore(engine, new_stix_id, decay_policy(settings))
    keys, audit, account_store = KeyStore(engine), AuditLog(engine), AccountStore(engine)
    usage_store = UsageStore(engine)
    database_sink = DatabaseSink(usage_store, keys)
    redis_sink = RedisSink(redis.client, database_sink) if redis else None
    sink: UsageSink = redis_sink or database_sink
    meter = UsageMeter(sink, settings.usage_flush_seconds)
    search = IndicatorSearch(engine, reads)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        indicators=indicators,
        sightings=SightingStore(
            indicators,
            SightingPolicy(
                penalty=settings.false_positive_penalty,
                revoke_accounts=settings.false_positive_accounts,
            ),
            new_object_id,
        ),
        search=search,
        reads=reads,
        keys=keys,
        audit=audit,
        statuses=StatusStore(engine),
        sources=SourceStore(engine),
        leases=SweepLeases(engine),
        webhooks=WebhookStore(engine),
        pushers=PusherStore(engine),
        limiter=limiter,
        failed_auth=FailedAuthLimiter(limiter, settings.failed_auth_per_minute),
        redis=redis,
        producer=Producer(
            identity_id=settings.identity_id,
            name=settings.identity_name,
            identity_class=settings.identity_class,
        ),
        tokens=PagingTokens(settings, engine),
        accounts=Accounts(settings.plans, account_store, keys, audit, clock),
        people=People(settings, PeopleStore(engine), account_store, audit, clock),
        meter=meter,
        usage=Usage(usage_store, meter, redis_sink),
        health=Health(StoreStats(engine), search, limiter, redis),
        warninglists=Warninglists(WarninglistStore(engine), indicators, audit, clock),
    )
