"""PostgreSQL's bulk path for writes: ``COPY`` into staging tables, then set-based statements.

A batch's writes are decided in Python by the one statement of the merge rules
(``indicators.merge``, ``store.indicators``); what is bulk is the I/O around that decision.
On PostgreSQL, per-row statements cost a round of parsing and binding each, so here:

* the batch's ``(type, value)`` keys are copied into a staging table and the current
  versions are read with one join (instead of one ``IN`` list per type and 2,000 values);
* the superseded row numbers are copied into a staging table and marked with one
  ``UPDATE … FROM``;
* the new versions are copied straight into ``indicator_versions`` (``COPY`` checks every
  constraint and index as ``INSERT`` does, so the partial unique index on the current version
  still refuses a second current row).

Staging tables are temporary, per connection, and emptied at every commit. Everything runs
inside the caller's transaction, after the ``write_clock`` lock, so the write rules (one
writer at a time, strictly increasing ``date_added``) hold as on the other path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, Row

from iocfeed.store.schema import DECODED_COLUMNS
from iocfeed.store.schema import indicator_versions as versions

_KEYS = "iocfeed_staged_keys"
_SUPERSEDED = "iocfeed_staged_superseded"
# Built from the schema's own names only; every value travels through COPY.
_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_KEYS} (type text, value text) ON COMMIT DELETE ROWS",
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_SUPERSEDED} (seq bigint, at bigint) "
    "ON COMMIT DELETE ROWS",
)
_DECODED = ", ".join(f"v.{column.name}" for column in DECODED_COLUMNS)
_READ_CURRENT = (
    f"SELECT {_DECODED} FROM {versions.name} v "  # noqa: S608
    f"JOIN {_KEYS} k ON v.type = k.type AND v.value = k.value "
    "WHERE v.superseded_at IS NULL"
)
_PROBE_ONLY = ("SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off")
_PLAN_FREELY = ("RESET enable_hashjoin", "RESET enable_mergejoin")
_SUPERSEDE = (
    f"UPDATE {versions.name} v SET superseded_at = s.at "  # noqa: S608
    f"FROM {_SUPERSEDED} s WHERE v.seq = s.seq"
)


def is_bulk(connection: Connection) -> bool:
    """Whether ``connection`` takes the bulk path (PostgreSQL through psycopg 3)."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def _driver(connection: Connection) -> psycopg.Connection[Any]:
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _staging(connection: Connection) -> psycopg.Cursor[Any]:
    cursor = _driver(connection).cursor()
    for statement in _STAGING:
        cursor.execute(statement)
    return cursor


def read_current(connection: Connection, keys: Iterable[tuple[str, str]]) -> list[Row[Any]]:
    """The current version rows (``schema.DECODED_COLUMNS``) of ``keys`` that exist."""
    cursor = _staging(connection)
    cursor.execute(f"TRUNCATE {_KEYS}")
    with cursor.copy(f"COPY {_KEYS} (type, value) FROM STDIN") as copy:
        for key in keys:
            copy.write_row(key)
    # Each staged key is one probe of the current-version index. The planner has no
    # statistics for the fresh staging rows and may otherwise hash the whole table.
    for statement in _PROBE_ONLY:
        cursor.execute(statement)
    try:
        return list(connection.exec_driver_sql(_READ_CURRENT))
    finally:
        for statement in _PLAN_FREELY:
            cursor.execute(statement)


def supersede(connection: Connection, superseded: Iterable[tuple[int, int]]) -> None:
    """Set ``superseded_at`` of each ``(seq, at)`` in one statement."""
    cursor = _staging(connection)
    cursor.execute(f"TRUNCATE {_SUPERSEDED}")
    with cursor.copy(f"COPY {_SUPERSEDED} (seq, at) FROM STDIN") as copy:
        for pair in superseded:
            copy.write_row(pair)
    cursor.execute(_SUPERSEDE)


def insert(connection: Connection, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert the new version ``rows`` (values in ``columns`` order) with one ``COPY``."""
    cursor = _driver(connection).cursor()
    statement = f"COPY {versions.name} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
