"""PostgreSQL's bulk path for writes: arrays bound once, set-based statements and ``COPY``.

A batch's writes are decided in Python by the one statement of the merge rules
(``indicators.merge``, ``store.indicators``); what is bulk is the I/O around that decision.
On PostgreSQL, per-row statements cost a round of parsing and binding each, so here:

* the current versions of the batch's ``(type, value)`` keys are read with one statement
  that binds the keys as two arrays and probes the current-version index once per key
  (instead of one ``IN`` list per type and 2,000 values);
* the superseded row numbers are marked with one ``UPDATE … FROM unnest(…)``;
* the new versions are copied straight into ``indicator_versions`` (``COPY`` checks every
  constraint and index as ``INSERT`` does, so the partial unique index on the current version
  still refuses a second current row).

The probe is a ``LATERAL`` subquery with ``LIMIT 1`` (at most one current version exists per
key), which the planner cannot flatten into a join: whatever the table's statistics say, each
key costs one index probe. A plain join was planned, before the first ``ANALYZE`` of a
growing table, as a scan of every row per batch, which made imports into a new store
quadratic (3 s per 5,000-row batch at 50,000 rows).

Everything runs inside the caller's transaction, after the ``write_clock`` lock, so the
write rules (one writer at a time, strictly increasing ``date_added``) hold as on the other
path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, Row

from iocfeed.store.schema import DECODED_COLUMNS
from iocfeed.store.schema import indicator_versions as versions

_DECODED = ", ".join(f"v.{column.name}" for column in DECODED_COLUMNS)
# Built from the schema's own names only; every value is bound.
_READ_CURRENT = (
    f"SELECT {_DECODED} FROM unnest(%s::text[], %s::text[]) AS k(type, value) "  # noqa: S608
    f"CROSS JOIN LATERAL (SELECT * FROM {versions.name} c "
    "WHERE c.type = k.type AND c.value = k.value AND c.superseded_at IS NULL LIMIT 1) v"
)
_SUPERSEDE = (
    f"UPDATE {versions.name} v SET superseded_at = s.at "  # noqa: S608
    "FROM unnest(%s::bigint[], %s::bigint[]) AS s(seq, at) WHERE v.seq = s.seq"
)


def is_bulk(connection: Connection) -> bool:
    """Whether ``connection`` takes the bulk path (PostgreSQL through psycopg 3)."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def _driver(connection: Connection) -> psycopg.Connection[Any]:
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def read_current(connection: Connection, keys: Iterable[tuple[str, str]]) -> list[Row[Any]]:
    """The current version rows (``schema.DECODED_COLUMNS``) of ``keys`` that exist."""
    types, values = _columns(keys)
    return list(connection.exec_driver_sql(_READ_CURRENT, (types, values)))


def supersede(connection: Connection, superseded: Iterable[tuple[int, int]]) -> None:
    """Set ``superseded_at`` of each ``(seq, at)`` in one statement."""
    seqs, moments = _columns(superseded)
    connection.exec_driver_sql(_SUPERSEDE, (seqs, moments))


def insert(connection: Connection, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert the new version ``rows`` (values in ``columns`` order) with one ``COPY``."""
    cursor = _driver(connection).cursor()
    statement = f"COPY {versions.name} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _columns(pairs: Iterable[tuple[Any, Any]]) -> tuple[list[Any], list[Any]]:
    """Pairs as two arrays, the form ``unnest`` takes them in."""
    firsts: list[Any] = []
    seconds: list[Any] = []
    for first, second in pairs:
        firsts.append(first)
        seconds.append(second)
    return firsts, seconds
