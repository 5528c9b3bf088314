"""Service health for the admin page: store size and latency, last write, limiter backend."""

from __future__ import annotations

from iocfeed.clock import FixedClock
from iocfeed.config import Settings
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.portal.actors import OPERATOR
from iocfeed.services import Services, build_services
from tests.conftest import REDIS_URL
from tests.portal.conftest import CHEAP_HASHES, NOW

USAGE_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/11"


def test_health_reports_the_store_and_the_limiter(built: Services) -> None:
    empty = built.health.report()
    assert empty.last_write is None
    assert empty.limiter_backend == "database"
    built.indicators.write([IndicatorInput(IocType.DOMAIN, "a.example", Confidence.HIGH)], NOW)
    account = built.accounts.create("Acme", "pro", OPERATOR)
    built.accounts.create_key(account.account_id, "k", OPERATOR)
    report = built.health.report()
    assert report.database in {"sqlite", "postgresql"}
    assert report.store_bytes > 0
    assert report.database_latency_ms >= 0
    assert report.last_write is not None and report.last_write >= NOW
    assert report.indicators[IocType.DOMAIN] == 1
    assert (report.accounts, report.users, report.keys) == (1, 0, 1)
    assert report.last_source_run is None


def test_health_names_redis_when_it_answers_and_when_it_does_not(database_url: str) -> None:
    for url, backend in (
        (USAGE_REDIS_URL, "redis"),
        ("redis://127.0.0.1:1/0", "database (Redis unavailable)"),
    ):
        settings = Settings(
            database_url=database_url, redis_url=url, redis_timeout_seconds=0.5, **CHEAP_HASHES
        )
        services = build_services(settings, FixedClock(NOW))
        try:
            report = services.health.report()
        finally:
            services.close()
        assert report.limiter_backend == backend
        assert (report.redis_latency_ms is not None) == (backend == "redis")
