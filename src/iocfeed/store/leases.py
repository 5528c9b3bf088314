"""Sweep leases: a periodic job runs once per interval per cluster, not once per process.

Every web worker (with ``sweep_in_server``) and every ``iocfeed worker`` on every host may
try to run a sweep; each attempt is one atomic claim on the job's row in ``sweep_leases``:
``UPDATE … SET due_at = now + interval WHERE name = ? AND due_at <= now``. The database
serialises the competing updates on the row lock (PostgreSQL re-checks the condition
against the winner's row; SQLite has one writer at a time), so exactly one claim per
interval succeeds, whichever process and host makes it. A claimer that dies mid-sweep
delays the next sweep by at most one interval; sweeps are idempotent, so nothing is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, update

from iocfeed.store.engine import upsert_into
from iocfeed.store.rows import to_us
from iocfeed.store.schema import sweep_leases

_MICROSECOND = timedelta(microseconds=1)

EXPIRY_SWEEP = "expiry"
"""The lease of the sweep that revokes indicators past ``valid_until``."""
DECAY_SWEEP = "decay"
"""The lease of the sweep that publishes decayed scores and revokes decayed indicators."""


class SweepLeases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, name: str, holder: str, now: datetime, interval: timedelta) -> bool:
        """Whether ``holder`` won the run of ``name`` that is due at ``now``; if it did,
        no one else wins before ``now + interval``."""
        at = to_us(now)
        with self.engine.begin() as connection:
            connection.execute(
                upsert_into(self.engine, sweep_leases)
                .values(name=name, due_at=at, holder=None, claimed_at=None)
                .on_conflict_do_nothing(index_elements=[sweep_leases.c.name])
            )
            won = connection.execute(
                update(sweep_leases)
                .where(sweep_leases.c.name == name, sweep_leases.c.due_at <= at)
                .values(due_at=at + interval // _MICROSECOND, holder=holder[:128], claimed_at=at)
            )
            return won.rowcount == 1
