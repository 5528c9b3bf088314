"""Rate-limit window counters in the database, for deployments without Redis."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from iocfeed.store.engine import upsert_into
from iocfeed.store.schema import rate_counters


class DatabaseCounters:
    """One row per key and minute, incremented by an atomic upsert."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def increment(self, key_id: str, window_start: int) -> int:
        upsert = upsert_into(self.engine, rate_counters).values(
            key_id=key_id, window_start=window_start, hits=1
        )
        statement = upsert.on_conflict_do_update(
            index_elements=[rate_counters.c.key_id, rate_counters.c.window_start],
            set_={"hits": rate_counters.c.hits + 1},
        ).returning(rate_counters.c.hits)
        with self.engine.begin() as connection:
            count = int(connection.execute(statement).scalar_one())
            if count == 1:
                # First hit of a new window: old windows are of no further use.
                connection.execute(
                    delete(rate_counters).where(
                        rate_counters.c.key_id == key_id,
                        rate_counters.c.window_start < window_start,
                    )
                )
        return count

    def peek(self, key_id: str, window_start: int) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(rate_counters.c.hits).where(
                    rate_counters.c.key_id == key_id,
                    rate_counters.c.window_start == window_start,
                )
            ).scalar()
        return int(value or 0)
