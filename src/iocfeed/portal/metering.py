"""Usage metering off the hot path: requests, objects and bytes per account, UTC day and
surface; each key's last use and client address; each key's last TAXII poll per collection.

Theory of operation. ``record`` and ``poll`` add to in-memory dictionaries under a lock (a
few dictionary operations per request, no I/O). A daemon thread, started by the first
record, hands the batch to the sink every ``usage_flush_seconds``; ``close`` (at shutdown)
flushes what is left. The sink adds counters to the database, or to Redis when one is
configured (``HINCRBY``, shared by every worker and host); last uses and polls always go to
the database, batched. A failed flush keeps its counts for the next one (bounded: one entry
per account, day and surface, key, or key and collection), so a database hiccup loses none.
A process killed with ``kill -9`` loses at most one interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

import redis

from iocfeed.store.keys import KeyStore
from iocfeed.store.usage import Counts, Poll, UsageKey, UsageStore

log = logging.getLogger("iocfeed.usage")

COUNTERS = ("requests", "objects", "bytes")
REDIS_TTL_SECONDS = 400 * 86_400  # a month's counters outlive the year they are shown for


def utc_day(moment: datetime) -> int:
    """YYYYMMDD of ``moment`` in UTC."""
    day = moment.astimezone(UTC)
    return day.year * 10_000 + day.month * 100 + day.day


def redis_name(account_id: int, day: int) -> str:
    """The Redis hash of one account's month; fields are ``<YYYYMMDD>:<surface>:<counter>``."""
    return f"iocfeed:usage:{account_id}:{day // 100}"


class UsageSink(Protocol):
    def write(
        self,
        counts: Mapping[UsageKey, Counts],
        uses: Mapping[str, tuple[datetime, str | None]],
        polls: Sequence[Poll],
    ) -> None: ...


class DatabaseSink:
    """Counters, last uses and polls into the database."""

    def __init__(self, usage: UsageStore, keys: KeyStore) -> None:
        self.usage = usage
        self.keys = keys

    def write(
        self,
        counts: Mapping[UsageKey, Counts],
        uses: Mapping[str, tuple[datetime, str | None]],
        polls: Sequence[Poll],
    ) -> None:
        self.usage.add(counts)
        self.keys.touch(uses)
        self.usage.record_polls(polls)


class RedisSink:
    """Counters into Redis (the database if Redis fails); last uses and polls into the
    database."""

    def __init__(self, client: redis.Redis, database: DatabaseSink) -> None:
        self.client = client
        self.database = database

    def write(
        self,
        counts: Mapping[UsageKey, Counts],
        uses: Mapping[str, tuple[datetime, str | None]],
        polls: Sequence[Poll],
    ) -> None:
        try:
            self.add(counts)
        except redis.RedisError as error:
            log.warning("usage counters go to the database: Redis failed (%s)", error)
            self.database.usage.add(counts)
        self.database.write({}, uses, polls)

    def add(self, counts: Mapping[UsageKey, Counts]) -> None:
        if not counts:
            return
        pipeline = self.client.pipeline(transaction=False)
        names = set()
        for key, value in counts.items():
            name = redis_name(key.account_id, key.day)
            names.add(name)
            for counter in COUNTERS:
                pipeline.hincrby(
                    name, f"{key.day}:{key.surface}:{counter}", getattr(value, counter)
                )
        for name in names:
            pipeline.expire(name, REDIS_TTL_SECONDS)
        pipeline.execute()

    def month(self, account_id: int, first_day: int) -> dict[UsageKey, Counts]:
        """The account's counters in Redis for the month of ``first_day``."""
        stored = self.client.hgetall(redis_name(account_id, first_day))
        found: dict[UsageKey, Counts] = {}
        for field, value in stored.items():
            text = field.decode() if isinstance(field, bytes) else str(field)
            day, surface, counter = text.split(":")
            counts = found.setdefault(UsageKey(account_id, int(day), surface), Counts())
            setattr(counts, counter, getattr(counts, counter) + int(value))
        return found


class UsageMeter:
    """Collects usage in memory and flushes it in batches (see the module notes)."""

    def __init__(self, sink: UsageSink, flush_seconds: float) -> None:
        self.sink = sink
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._counts: dict[UsageKey, Counts] = {}
        self._uses: dict[str, tuple[datetime, str | None]] = {}
        self._polls: dict[tuple[str, str], Poll] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        *,
        account_id: int,
        key_id: str,
        surface: str,
        objects: int,
        size: int,
        address: str | None,
        now: datetime,
    ) -> None:
        """Count one request of ``surface`` that served ``objects`` objects in ``size`` bytes."""
        usage_key = UsageKey(account_id, utc_day(now), surface)
        with self._lock:
            counts = self._counts.get(usage_key)
            if counts is None:
                counts = self._counts[usage_key] = Counts()
            counts.requests += 1
            counts.objects += objects
            counts.bytes += size
            self._uses[key_id] = (now, address)
        if self._thread is None:
            self._start()

    def poll(
        self, key_id: str, collection_id: str, added_after: datetime | None, now: datetime
    ) -> None:
        """Remember a key's TAXII poll of a collection and the ``added_after`` it used."""
        with self._lock:
            self._polls[(key_id, collection_id)] = Poll(key_id, collection_id, now, added_after)

    def flush(self) -> None:
        """Hand what was collected to the sink; on failure keep it for the next flush."""
        with self._flushing:
            with self._lock:
                counts, self._counts = self._counts, {}
                uses, self._uses = self._uses, {}
                polls, self._polls = self._polls, {}
            if not (counts or uses or polls):
                return
            try:
                self.sink.write(counts, uses, list(polls.values()))
            except Exception:  # the meter must outlive a database hiccup
                log.exception("usage flush failed; keeping the counts for the next one")
                self._restore(counts, uses, polls)

    def _restore(
        self,
        counts: dict[UsageKey, Counts],
        uses: dict[str, tuple[datetime, str | None]],
        polls: dict[tuple[str, str], Poll],
    ) -> None:
        with self._lock:
            for usage_key, value in counts.items():
                self._counts.setdefault(usage_key, Counts()).add(value)
            for key_id, use in uses.items():
                self._uses.setdefault(key_id, use)
            for pair, poll in polls.items():
                self._polls.setdefault(pair, poll)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="iocfeed-usage-flush", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        """Stop the flushing thread and flush what is left (at shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.flush_seconds + 5)
        self.flush()
