"""The portal's use cases on a real store of each kind, with a clock that stands still."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from iocfeed.clock import FixedClock
from iocfeed.config import Settings
from iocfeed.services import Services, build_services

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# argon2id at its cheapest allowed cost: the same algorithm, fast enough for many tests.
CHEAP_HASHES: dict[str, Any] = {"password_hash_memory_kib": 8192, "password_hash_time_cost": 1}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def built(database_url: str, clock: FixedClock) -> Iterator[Services]:
    services = build_services(Settings(database_url=database_url, **CHEAP_HASHES), clock)
    yield services
    services.close()
