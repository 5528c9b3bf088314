"""What the health page shows of the store: its size, latency and the time of the last write
and the last source run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, text

from iocfeed.store.rows import from_us
from iocfeed.store.schema import source_runs, sources, write_clock


@dataclass(frozen=True, slots=True)
class LastRun:
    source: str
    finished: datetime
    outcome: str


class StoreStats:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latency_seconds(self) -> float:
        """Seconds for one ``SELECT 1`` round trip on a pooled connection."""
        with self.engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(text("SELECT 1"))
            return time.perf_counter() - started

    def size_bytes(self) -> int:
        """Bytes the store takes: the SQLite file's pages, or PostgreSQL's database size."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "sqlite":
                pages = connection.execute(text("PRAGMA page_count")).scalar_one()
                size = connection.execute(text("PRAGMA page_size")).scalar_one()
                return int(pages) * int(size)
            return int(
                connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )

    def last_write(self) -> datetime | None:
        """When indicators were last written (imports, sources, API writes); None if never."""
        with self.engine.connect() as connection:
            last = connection.execute(
                select(write_clock.c.last_date_added).where(write_clock.c.id == 1)
            ).scalar()
        return from_us(last) if last else None

    def last_source_run(self) -> LastRun | None:
        """The most recently finished source run."""
        query = (
            select(sources.c.name, source_runs.c.finished, source_runs.c.outcome)
            .join(sources, sources.c.source_id == source_runs.c.source_id)
            .where(source_runs.c.finished.is_not(None))
            .order_by(source_runs.c.finished.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return LastRun(row.name, from_us(row.finished), row.outcome) if row else None

    def count(self, table_name: str) -> int:
        """Rows of a table named in ``schema`` (accounts, users, api_keys, …)."""
        from iocfeed.store.schema import metadata

        table = metadata.tables[table_name]
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())
