"""Use case: what an account used in a month (requests, objects and bytes per surface and
day) and when its keys last polled each TAXII collection; for ``GET /api/v1/me/usage`` and
the overview page.

The counters are those flushed so far, from the database plus Redis when one is configured
(a flush that found Redis down wrote to the database); this process's unflushed counts are
flushed first, other workers' are at most ``usage_flush_seconds`` late.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import redis

from iocfeed.errors import DependencyUnavailable, InvalidInput
from iocfeed.portal.metering import RedisSink, UsageMeter
from iocfeed.store.usage import Counts, Poll, UsageStore


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: int
    """UTC date as YYYYMMDD."""
    surface: str
    requests: int
    objects: int
    bytes: int


@dataclass(frozen=True, slots=True)
class MonthUsage:
    """One account's usage in one UTC month: per surface, per day and in total."""

    account_id: int
    month: str
    """``YYYY-MM``."""
    surfaces: dict[str, Counts]
    days: list[DayUsage]
    total: Counts


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); InvalidInput naming ``month`` otherwise."""
    year, dash, month = text.partition("-")
    digits = year.isdigit() and month.isdigit() and len(year) == 4 and len(month) == 2
    if dash and digits and 1 <= int(month) <= 12 and int(year) >= 1970:
        return int(year), int(month)
    raise InvalidInput(
        f"month must be YYYY-MM (e.g. 2026-03), got {text[:20]!r}", parameter="month"
    )


class Usage:
    def __init__(self, store: UsageStore, meter: UsageMeter, redis_sink: RedisSink | None) -> None:
        self.store = store
        self.meter = meter
        self.redis_sink = redis_sink

    def month(self, account_id: int, year: int, month: int) -> MonthUsage:
        """The account's usage in ``year``-``month`` (UTC)."""
        self.meter.flush()
        first = year * 10_000 + month * 100 + 1
        last = year * 10_000 + month * 100 + calendar.monthrange(year, month)[1]
        found = self.store.between(account_id, first, last)
        if self.redis_sink is not None:
            try:
                extra = self.redis_sink.month(account_id, first)
            except redis.RedisError as error:
                raise DependencyUnavailable(
                    f"Usage counters in Redis are unavailable ({type(error).__name__})",
                    dependency="redis",
                ) from error
            for usage_key, counts in extra.items():
                found.setdefault(usage_key, Counts()).add(counts)
        surfaces: dict[str, Counts] = {}
        total = Counts()
        for usage_key, counts in found.items():
            surfaces.setdefault(usage_key.surface, Counts()).add(counts)
            total.add(counts)
        days = [
            DayUsage(k.day, k.surface, c.requests, c.objects, c.bytes)
            for k, c in sorted(found.items(), key=lambda item: (item[0].day, item[0].surface))
        ]
        return MonthUsage(
            account_id, f"{year:04d}-{month:02d}", dict(sorted(surfaces.items())), days, total
        )

    def polls(self, account_id: int) -> list[Poll]:
        """The last TAXII poll of each collection by each of the account's keys."""
        self.meter.flush()
        return self.store.polls(account_id)
