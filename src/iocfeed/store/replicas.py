"""Reads from PostgreSQL streaming replicas, never behind the snapshot a walk is pinned to.

Theory of operation
-------------------
With ``database_replica_urls`` set, the reads of a read-only request (the web layer opens a
:meth:`ReadRouting.replica_reads` scope for GET and HEAD) go to one replica, chosen round
robin among those that answer, and stay on it for the whole request, so that a request's
snapshot (``last_added``) and its page come from the same server. Every other request, the
CLI and the worker read and write the primary; no request writes after a replica read,
because requests that write (POST, PUT, DELETE) never open the scope.

The point a ``next`` token was issued at is the walk's snapshot ``as_of`` (the newest
``date_added`` when the walk began; ``indicators.cursor``), already in every token: the
walk's later pages show exactly the versions added up to ``as_of``. The write clock makes
``date_added`` equal to commit order, and a replica replays commits in that order, so a
replica whose ``write_clock`` has reached ``as_of`` holds every version the walk may serve,
and a replica behind it may not (it would skip them). A read pinned to a snapshot therefore
asks for an engine that has reached it: the request's replica if its clock is there, else
the same replica polled until it gets there within ``database_replica_wait_seconds``,
else the primary, which has everything. This needs no WAL positions, so tokens stay as they
were and remain valid on every worker, host and replica.

A first page (no token) is read on whichever replica the request got, however far it lags:
it is a consistent snapshot of the store at that replica's clock, and the token it hands
out pins later pages to it. A replica that fails (refuses, times out, drops a connection)
is left out for ``database_replica_retry_seconds``; with none answering, reads go to the
primary. A request already reading a replica when it fails gets the 503 of an unavailable
database, and the next requests read elsewhere. Which replica a request gets is decided
on the replica's write clock as last read (at most ``CLOCK_MAX_AGE_SECONDS`` old), so a
request costs no extra query unless its token asks for a newer snapshot.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Engine, event, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import SQLAlchemyError

from iocfeed.errors import DependencyUnavailable
from iocfeed.store.rows import to_us
from iocfeed.store.schema import write_clock

log = logging.getLogger("iocfeed.replicas")

POLL_SECONDS = 0.01
# A replica's write clock, as last read, picks the replica of a request without a query of
# its own for this long. Clocks only move forward, so an old reading is never too new.
CLOCK_MAX_AGE_SECONDS = 1.0
PRIMARY = "primary"


@dataclass(slots=True)
class _Choice:
    """The engine one request reads from, and its write clock as last seen (µs)."""

    engine: Engine | None = None
    name: str = PRIMARY
    clock: int | None = None


_current: ContextVar[_Choice | None] = ContextVar("iocfeed_read_choice", default=None)


class ReadRouting:
    """Which engine each read uses: the primary, or the request's replica."""

    def __init__(
        self,
        primary: Engine,
        replicas: Sequence[Engine] = (),
        *,
        wait_seconds: float = 0.5,
        retry_seconds: float = 5.0,
    ) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.wait_seconds = wait_seconds
        self.retry_seconds = retry_seconds
        self.reads: Counter[str] = Counter()
        """Reads per engine (``primary``, ``replica 1``, …): what went where."""
        self._turn = itertools.count()
        self._down_until: dict[int, float] = {}
        self._seen: dict[int, tuple[float, int]] = {}  # replica → (monotonic time, clock)
        for index, replica in enumerate(self.replicas):
            # A replica that fails mid-request is left out from then on, not only at a probe.
            event.listen(replica, "handle_error", partial(self._on_error, index))
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def replica_reads(self) -> Iterator[None]:
        """Inside, reads may go to a replica: a request that writes nothing."""
        if not self.replicas:
            yield
            return
        token = _current.set(_Choice())
        try:
            yield
        finally:
            _current.reset(token)

    def engine(self, at_least: datetime | None = None) -> Engine:
        """The engine for one read; with ``at_least``, one whose store has reached it."""
        choice = _current.get()
        if choice is None:
            return self._count(PRIMARY, self.primary)
        if choice.engine is None:
            self._choose(choice)
        assert choice.engine is not None
        if at_least is not None and choice.engine is not self.primary:
            wanted = to_us(at_least)
            behind = choice.clock is None or choice.clock < wanted
            if behind and not self._wait_for(choice, wanted):
                choice.engine, choice.name, choice.clock = self.primary, PRIMARY, None
        return self._count(choice.name, choice.engine)

    def note_clock(self, clock: int) -> None:
        """The request's engine showed write clock ``clock`` (µs), e.g. for a snapshot."""
        choice = _current.get()
        if choice is not None and (choice.clock is None or clock > choice.clock):
            choice.clock = clock

    def _count(self, name: str, engine: Engine) -> Engine:
        with self._lock:
            self.reads[name] += 1
        return engine

    def _choose(self, choice: _Choice) -> None:
        """The next replica that answers, round robin; the primary when none does."""
        for _ in range(len(self.replicas)):
            index = next(self._turn) % len(self.replicas)
            now = time.monotonic()
            if self._down_until.get(index, 0.0) > now:
                continue
            seen = self._seen.get(index)
            fresh = seen is not None and now - seen[0] < CLOCK_MAX_AGE_SECONDS
            clock = seen[1] if fresh and seen is not None else self._clock(index)
            if clock is not None:
                choice.engine, choice.name, choice.clock = (
                    self.replicas[index],
                    f"replica {index + 1}",
                    clock,
                )
                return
        choice.engine, choice.name, choice.clock = self.primary, PRIMARY, None

    def _wait_for(self, choice: _Choice, wanted: int) -> bool:
        """Poll the request's replica until its clock reaches ``wanted``, within the wait."""
        index = self.replicas.index(choice.engine)  # type: ignore[arg-type]
        deadline = time.monotonic() + self.wait_seconds
        while True:
            clock = self._clock(index)
            if clock is None:
                return False
            choice.clock = clock
            if clock >= wanted:
                return True
            if time.monotonic() >= deadline:
                log.info("replica %d is behind a paging token; reading the primary", index + 1)
                return False
            time.sleep(POLL_SECONDS)

    def _on_error(self, index: int, context: ExceptionContext) -> None:
        if context.is_disconnect or isinstance(
            context.original_exception, context.dialect.loaded_dbapi.OperationalError
        ):
            self._left_out(index)

    def _left_out(self, index: int) -> None:
        self._down_until[index] = time.monotonic() + self.retry_seconds
        self._seen.pop(index, None)

    def _clock(self, index: int) -> int | None:
        """Replica ``index``'s write clock (µs), or ``None`` (and left out a while) if it
        does not answer."""
        try:
            with self.replicas[index].connect() as connection:
                clock = int(
                    connection.execute(
                        select(write_clock.c.last_date_added).where(write_clock.c.id == 1)
                    ).scalar_one()
                )
            self._seen[index] = (time.monotonic(), clock)
            return clock
        except (DependencyUnavailable, SQLAlchemyError) as exc:
            log.warning("replica %d is unavailable (%s); reading elsewhere", index + 1, exc)
            self._left_out(index)
            return None
