"""Opening a database: URL handling and the per-connection settings each engine needs.

Errors that mean the database cannot serve right now (it refuses or drops connections, does
not answer within the connect timeout, or cancels a statement at the statement timeout) are
translated here, at the edge, into ``DependencyUnavailable``; nothing above the store sees a
driver's exception for them. Errors in a statement itself are left as they are.

A read marked with :func:`binary_rows` gets its rows from PostgreSQL in the binary format.
In the text format, the default, a ``bytea`` arrives as hexadecimal: twice its size on the
wire, encoded by the server and decoded by the driver. A TAXII page's 1000 stored objects
(650 KB of JSON) took 4.1 ms to read that way and 2.2 ms in binary (psycopg, loopback,
medians of 110). Every column such a read selects (integers, strings, booleans, ``bytea``)
loads as the same Python value either way.

A connection from :func:`reading` runs each statement on its own on PostgreSQL (autocommit).
At PostgreSQL's READ COMMITTED each statement takes a snapshot of its own even inside a
transaction, so a read-only transaction adds nothing but its ``BEGIN`` and ``ROLLBACK``,
two round trips of five for a TAXII page (ping, ``BEGIN``, write clock, page,
``ROLLBACK``). Reads of one request stay consistent without it: ``date_added`` follows
commit order, and a walk pins its snapshot to the write clock (``store.search``).
"""

from __future__ import annotations

import select
import time
from typing import Any, TypeVar

from psycopg.pq import Format
from sqlalchemy import Connection, Engine, Executable, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext, ExecutionContext, make_url
from sqlalchemy.exc import DisconnectionError

from iocfeed.errors import DependencyUnavailable

_BINARY_ROWS = "iocfeed_binary_rows"

# SQLite's own "cannot serve right now" errors; others (e.g. "no such table") are bugs.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def normalise_url(url: str) -> str:
    """``postgresql://…`` → the psycopg 3 driver; anything else as given."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def open_engine(
    url: str,
    *,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    **options: Any,
) -> Engine:
    """An engine for ``url`` with WAL and real transactions on SQLite.

    On PostgreSQL, ``connect_timeout`` bounds opening a connection and ``statement_timeout``
    (seconds; ``None`` or 0 = none) bounds each statement; a ``connect_timeout`` or
    ``options`` already in the URL is kept.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **options)
        _configure_sqlite(engine)
    else:
        connect_args = _postgresql_timeouts(url, connect_timeout, statement_timeout)
        connect_args.update(options.pop("connect_args", {}))
        if connect_timeout:
            # A pooled connection to a server that stopped answering would hang the pool's
            # own pre-ping for ever: ping it with a deadline instead.
            engine = create_engine(url, connect_args=connect_args, **options)
            event.listen(engine, "checkout", _ping_within(connect_timeout))
        else:
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)
        event.listen(engine, "before_cursor_execute", _rows_format)
    event.listen(engine, "handle_error", _translate_unavailable)
    return engine


_E = TypeVar("_E", bound=Executable)


def binary_rows(statement: _E) -> _E:
    """``statement``, its rows fetched in PostgreSQL's binary format (see the module's
    docstring); for reads of stored JSON. No effect on SQLite."""
    return statement.execution_options(**{_BINARY_ROWS: True})


def reading(engine: Engine) -> Connection:
    """A connection of ``engine`` for reads only: autocommit on PostgreSQL (see the module's
    docstring); on SQLite, a transaction, which is what gives its reads one snapshot. Not
    for a streamed read (``stream_results``): a server-side cursor lives in a transaction."""
    connection = engine.connect()
    if is_postgresql(engine):
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def _rows_format(
    _connection: Any,
    cursor: Any,
    _statement: str,
    _parameters: Any,
    context: ExecutionContext,
    _executemany: bool,
) -> None:
    if context.execution_options.get(_BINARY_ROWS):
        cursor.format = Format.BINARY


def _postgresql_timeouts(
    url: str, connect_timeout: float | None, statement_timeout: float | None
) -> dict[str, Any]:
    query = make_url(url).query
    connect_args: dict[str, Any] = {}
    if connect_timeout and "connect_timeout" not in query:
        # libpq takes whole seconds; anything below 2 s is raised to 2 s by libpq anyway.
        connect_args["connect_timeout"] = max(round(connect_timeout), 1)
    if statement_timeout:
        given = query.get("options", "")
        existing = given if isinstance(given, str) else " ".join(given)
        timeout = f"-c statement_timeout={int(statement_timeout * 1000)}"
        connect_args["options"] = f"{existing} {timeout}".strip()
    return connect_args


def _ping_within(timeout: float) -> Any:
    """A pool ``checkout`` hook: an empty query must be answered within ``timeout`` seconds,
    else the connection is discarded (``DisconnectionError``) and the pool opens a new one."""

    def ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        pgconn = dbapi_connection.pgconn
        deadline = time.monotonic() + timeout
        try:
            pgconn.send_query(b"")
            while pgconn.flush():
                _wait(pgconn.socket, deadline, write=True)
            pgconn.consume_input()
            while pgconn.is_busy():
                _wait(pgconn.socket, deadline, write=False)
                pgconn.consume_input()
            while pgconn.get_result() is not None:
                pass
        except DisconnectionError:
            raise
        except Exception as exc:  # the driver's own error on a dead socket
            raise DisconnectionError(str(exc)) from exc

    return ping


def _wait(fileno: int, deadline: float, *, write: bool) -> None:
    remaining = deadline - time.monotonic()
    waiting = ([], [fileno]) if write else ([fileno], [])
    if remaining <= 0 or not any(select.select(*waiting, [], remaining)[:2]):
        raise DisconnectionError("the database did not answer the ping in time")


def _translate_unavailable(context: ExceptionContext) -> BaseException | None:
    """``DependencyUnavailable`` for errors that mean the database cannot serve right now."""
    if context.is_pre_ping:  # the pool is probing a pooled connection; it reconnects itself
        return None
    original = context.original_exception
    operational = isinstance(original, context.dialect.loaded_dbapi.OperationalError)
    if context.dialect.name == "sqlite":
        text = str(original).lower()
        unavailable = operational and any(marker in text for marker in _SQLITE_UNAVAILABLE)
    else:
        unavailable = context.is_disconnect or operational
    if not unavailable:
        return None
    reason = "did not answer in time" if "timeout" in str(original).lower() else "is unavailable"
    return DependencyUnavailable(f"The database {reason}", dependency="database")


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and commits behind our back; hand
    # transactions to SQLAlchemy so a read sees one snapshot and writes are atomic.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def upsert_into(engine: Engine, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into ``table`` in ``engine``'s own dialect, whose ``on_conflict_do_*``
    make it an upsert (both databases take the same ``ON CONFLICT`` clause)."""
    return postgresql.insert(table) if is_postgresql(engine) else sqlite.insert(table)
