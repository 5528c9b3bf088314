"""An in-process iocfeed app on a real database, with a key of every plan and every bad kind."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from iocfeed.clock import FixedClock
from iocfeed.config import DEFAULT_PLANS, Plan, Scope, Settings
from iocfeed.indicators.model import Indicator, IndicatorInput, Tlp
from iocfeed.services import Services
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from iocfeed.web.app import create_app
from tests.conftest import sqlite_url

with warnings.catch_warnings():
    # Starlette prefers the httpx2 fork; the httpx that is installed works the same here.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

# A plan small enough to run out of in a test.
TINY = Plan(
    title="Tiny",
    scopes=frozenset({Scope.READ_IOCS}),
    lookback_days=7,
    requests_per_minute=3,
    max_tlp=Tlp.GREEN,
)
PLANS = {**DEFAULT_PLANS, "tiny": TINY}
PLAN_NAMES = ("free", "pro", "enterprise", "admin")
BAD_KEYS = ("none", "bad", "expired", "revoked")
WRONG_KEY = "iocf_aaaaaaaaaaaa_" + "A" * 43


@dataclass
class Site:
    """A running app, its services, its fixed clock and a key per plan (plus bad ones)."""

    client: TestClient
    services: Services
    clock: FixedClock
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """Request headers authenticating as ``who``: a plan name or one of ``BAD_KEYS``."""
        if who == "none":
            return {}
        if who == "bad":
            return {"X-API-Key": WRONG_KEY}
        return {"X-API-Key": self.keys[who]}

    def get(self, url: str, who: str = "admin", **kwargs: Any) -> Any:
        return self.client.get(url, headers=self.headers(who), **kwargs)

    def load(self, inputs: Iterable[IndicatorInput], at: datetime | None = None) -> None:
        """Store indicators as if loaded at ``at`` (default: the clock's time)."""
        self.services.indicators.write(list(inputs), at or self.clock.now())

    def current(self, item: IndicatorInput) -> Indicator:
        found = self.services.search.current(item.type, item.value)
        assert found is not None
        return found


def migrated(url: str) -> str:
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def start_site(database_url: str, **settings: Any) -> Iterator[Site]:
    clock = FixedClock(NOW)
    # The clock stands still, so the failed-auth window never ends: tests that want that
    # limit ask for it.
    # An event stream ends after a moment: a test client reads a response to its end.
    chosen = {
        "expiry_sweep_seconds": 0,
        "failed_auth_per_minute": 0,
        "plans": PLANS,
        "stream_max_seconds": 0.5,
        **settings,
    }
    app = create_app(Settings(database_url=database_url, **chosen), clock=clock)
    built: Services = app.state.services
    keys: dict[str, str] = {}
    for plan in (*PLAN_NAMES, "tiny"):
        keys[plan] = built.keys.create(name=f"{plan} key", plan=plan, now=NOW)[1]
    keys["expired"] = built.keys.create(
        name="old key", plan="pro", now=NOW - timedelta(days=30), expires=NOW - timedelta(days=1)
    )[1]
    revoked, keys["revoked"] = built.keys.create(name="leaked key", plan="pro", now=NOW)
    built.keys.revoke(revoked.key_id, NOW)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Site(client, built, clock, keys)


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """The app on SQLite and on PostgreSQL (for behaviour that touches queries)."""
    yield from start_site(database_url)


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """The app on SQLite only (for behaviour that does not depend on the database)."""
    yield from start_site(migrated(sqlite_url(tmp_path)))
