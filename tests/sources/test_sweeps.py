"""The expiry sweep runs in the worker; the web process sweeps only with sweep_in_server."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from iocfeed.clock import FixedClock
from iocfeed.config import Settings
from iocfeed.indicators.model import IocType
from iocfeed.services import build_services
from iocfeed.sweeps import sweep_expired
from iocfeed.web.app import create_app
from iocfeed.worker.loop import Worker
from tests.factories import ioc
from tests.sources.conftest import NOW
from tests.web.conftest import TestClient


def _expiring(url: str, **settings: object) -> tuple[Settings, FixedClock]:
    """A store holding one indicator past its valid_until, and settings for it."""
    chosen = Settings(database_url=url, access_log=False, **settings)  # type: ignore[arg-type]
    clock = FixedClock(NOW)
    built = build_services(chosen, clock)
    try:
        built.indicators.write(
            [ioc("domain", "old.example", valid_until=NOW - timedelta(days=1))],
            NOW - timedelta(days=2),
        )
    finally:
        built.close()
    return chosen, clock


def _revoked(settings: Settings) -> bool:
    built = build_services(settings)
    try:
        found = built.search.current(IocType.DOMAIN, "old.example")
        assert found is not None
        return found.revoked
    finally:
        built.close()


@pytest.mark.parametrize("in_server", [False, True])
def test_the_server_sweeps_only_when_told(database_url: str, in_server: bool) -> None:
    settings, clock = _expiring(database_url, expiry_sweep_seconds=0.05, sweep_in_server=in_server)
    with TestClient(create_app(settings, clock=clock)):
        time.sleep(0.5)
    assert _revoked(settings) is in_server


def test_the_worker_sweeps_at_once_then_every_interval(database_url: str) -> None:
    settings, clock = _expiring(database_url, expiry_sweep_seconds=3600)
    built = build_services(settings, clock)
    try:
        worker = Worker(built)
        worker.run_once()
        assert _revoked(settings)
        # Within the interval a later pass does not sweep again.
        built.indicators.write(
            [ioc("domain", "later.example", valid_until=NOW - timedelta(hours=1))],
            NOW - timedelta(days=1),
        )
        worker.run_once()
        later = built.search.current(IocType.DOMAIN, "later.example")
        assert later is not None and not later.revoked
    finally:
        built.close()


def test_two_workers_sweep_once_between_them(database_url: str) -> None:
    """Two workers (two sets of services, as two hosts have) run a pass at the same
    instant: one of them revokes, the other finds the sweep taken."""
    settings, clock = _expiring(database_url, expiry_sweep_seconds=3600)
    first, second = build_services(settings, clock), build_services(settings, clock)
    try:
        assert sweep_expired(first, "host-a:1") == 1
        assert sweep_expired(second, "host-b:1") is None
        clock.advance(hours=1)
        assert sweep_expired(second, "host-b:1") == 0  # due again: the other one wins it
        assert sweep_expired(first, "host-a:1") is None
    finally:
        first.close()
        second.close()
