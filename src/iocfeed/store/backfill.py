"""Filling in the stored JSON of versions written before it was stored (migration 0011).

Rows are read in ``seq`` order, a batch at a time, each batch in a transaction of its own,
so an interrupted backfill resumes where it stopped and never holds the write lock: the
JSON depends only on columns a version never changes (``stix.stored``), so writers running
meanwhile cannot make a filled-in row wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, bindparam, func, select, update

from iocfeed.stix.stored import stored_json
from iocfeed.store.rows import row_to_indicator
from iocfeed.store.schema import DECODED_COLUMNS
from iocfeed.store.schema import indicator_versions as versions

Progress = Callable[[int, int], None]
"""Called after each batch with the rows filled in so far and the rows there were to fill."""

BATCH = 5000


def missing_stored_json(engine: Engine) -> int:
    """How many versions have no stored JSON yet."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(versions.c.stix_json.is_(None))
            ).scalar_one()
        )


def backfill_stored_json(
    engine: Engine, *, batch: int = BATCH, progress: Progress | None = None
) -> int:
    """Store the JSON of every version that lacks it; returns how many were filled in."""
    total = missing_stored_json(engine)
    done = 0
    after = -1
    statement = (
        update(versions)
        .where(versions.c.seq == bindparam("b_seq"))
        .values(stix_json=bindparam("b_json"))
    )
    while done < total:
        with engine.begin() as connection:
            rows = connection.execute(
                select(*DECODED_COLUMNS)
                .where(versions.c.stix_json.is_(None), versions.c.seq > after)
                .order_by(versions.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                break
            connection.execute(
                statement,
                [{"b_seq": row.seq, "b_json": stored_json(row_to_indicator(row))} for row in rows],
            )
        after = rows[-1].seq
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))
    return done
