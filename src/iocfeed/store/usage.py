"""Usage at rest: counters per account, UTC day and surface, added to in batches; each
key's last TAXII poll of each collection. Writes are upserts that add (or overwrite the poll),
so any number of workers may flush at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from iocfeed.store.engine import upsert_into
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import api_keys, taxii_polls, usage_daily


@dataclass(frozen=True, slots=True)
class UsageKey:
    account_id: int
    day: int
    """UTC date as YYYYMMDD."""
    surface: str


@dataclass(slots=True)
class Counts:
    requests: int = 0
    objects: int = 0
    bytes: int = 0

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.objects += other.objects
        self.bytes += other.bytes


@dataclass(frozen=True, slots=True)
class Poll:
    key_id: str
    collection_id: str
    polled: datetime
    added_after: datetime | None


class UsageStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, batch: Mapping[UsageKey, Counts]) -> None:
        """Add each batch's counts to the stored ones (one transaction)."""
        if not batch:
            return
        statement = upsert_into(self.engine, usage_daily)
        statement = statement.on_conflict_do_update(
            index_elements=[usage_daily.c.account_id, usage_daily.c.day, usage_daily.c.surface],
            set_={
                name: usage_daily.c[name] + statement.excluded[name]
                for name in ("requests", "objects", "bytes")
            },
        )
        rows = [
            {
                "account_id": key.account_id,
                "day": key.day,
                "surface": key.surface,
                "requests": counts.requests,
                "objects": counts.objects,
                "bytes": counts.bytes,
            }
            # Sorted: concurrent flushes lock rows in one order and cannot deadlock.
            for key, counts in sorted(
                batch.items(), key=lambda item: (item[0].account_id, item[0].day, item[0].surface)
            )
        ]
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    def between(self, account_id: int, first_day: int, last_day: int) -> dict[UsageKey, Counts]:
        """The account's counts for days ``first_day`` … ``last_day`` (YYYYMMDD, inclusive)."""
        query = select(usage_daily).where(
            usage_daily.c.account_id == account_id,
            usage_daily.c.day >= first_day,
            usage_daily.c.day <= last_day,
        )
        with self.engine.connect() as connection:
            return {
                UsageKey(row.account_id, row.day, row.surface): Counts(
                    row.requests, row.objects, row.bytes
                )
                for row in connection.execute(query)
            }

    def record_polls(self, polls: Sequence[Poll]) -> None:
        """Keep each key's latest poll of each collection."""
        if not polls:
            return
        statement = upsert_into(self.engine, taxii_polls)
        statement = statement.on_conflict_do_update(
            index_elements=[taxii_polls.c.key_id, taxii_polls.c.collection_id],
            set_={
                "polled": statement.excluded.polled,
                "added_after": statement.excluded.added_after,
            },
            where=taxii_polls.c.polled <= statement.excluded.polled,
        )
        rows = [
            {
                "key_id": poll.key_id,
                "collection_id": poll.collection_id,
                "polled": to_us(poll.polled),
                "added_after": to_us(poll.added_after) if poll.added_after else None,
            }
            for poll in sorted(polls, key=lambda p: (p.key_id, p.collection_id))
        ]
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    def polls(self, account_id: int) -> list[Poll]:
        """The last poll of each collection by each of the account's keys, newest first."""
        query = (
            select(taxii_polls)
            .join(api_keys, api_keys.c.key_id == taxii_polls.c.key_id)
            .where(api_keys.c.account_id == account_id)
            .order_by(taxii_polls.c.polled.desc(), taxii_polls.c.key_id)
        )
        with self.engine.connect() as connection:
            return [
                Poll(
                    row.key_id,
                    row.collection_id,
                    from_us(row.polled),
                    from_us(row.added_after) if row.added_after is not None else None,
                )
                for row in connection.execute(query)
            ]
