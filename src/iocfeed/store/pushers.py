"""Pushers at rest: definitions, checkpoints, leases and run records (as sources have).

A run is claimed by a lease (``claim``), so one worker of the cluster runs a pusher at a
time. ``checkpoint`` is the ``date_added`` of the last version the SIEM has taken; it is
moved after each accepted request, so a run that stops half way resumes there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from iocfeed.errors import InvalidQuery, NotFound
from iocfeed.push.model import (
    PushCounts,
    Pusher,
    PusherKind,
    PushOutcome,
    PushRun,
    RecordError,
    SentinelSettings,
)
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import pusher_runs, pushers

p = pushers.c
r = pusher_runs.c
KEPT_RECORD_ERRORS = 200
"""Refused objects kept per run record (the count is exact; the list stops here)."""


def _pusher(row: Any) -> Pusher:
    return Pusher(
        pusher_id=row.pusher_id,
        name=row.name,
        kind=PusherKind(row.kind),
        settings=SentinelSettings.from_json(orjson.loads(row.settings)),
        client_secret=orjson.loads(row.credentials)["client_secret"],
        interval_seconds=row.interval_seconds,
        enabled=row.enabled,
        checkpoint=from_us(row.checkpoint),
        created=from_us(row.created),
        next_run=from_us(row.next_run),
    )


def _run(row: Any) -> PushRun:
    return PushRun(
        run_id=row.run_id,
        pusher_id=row.pusher_id,
        started=from_us(row.started),
        finished=from_us(row.finished) if row.finished is not None else None,
        outcome=PushOutcome(row.outcome),
        counts=PushCounts(row.uploaded, row.rejected, row.requests, row.throttled),
        record_errors=tuple(
            RecordError(item["object_id"], tuple(item["messages"]))
            for item in orjson.loads(row.record_errors)
        ),
        error=row.error,
    )


class PusherStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        *,
        name: str,
        settings: SentinelSettings,
        client_secret: str,
        interval_seconds: int,
        checkpoint: datetime,
        now: datetime,
    ) -> Pusher:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(pushers).values(
                        name=name,
                        kind=PusherKind.SENTINEL.value,
                        settings=orjson.dumps(settings.as_json()).decode(),
                        credentials=orjson.dumps({"client_secret": client_secret}).decode(),
                        interval_seconds=interval_seconds,
                        enabled=True,
                        checkpoint=to_us(checkpoint),
                        created=to_us(now),
                        next_run=to_us(now),
                        lease_until=None,
                    )
                )
        except IntegrityError:
            raise InvalidQuery(f"a pusher named {name!r} exists", parameter="name") from None
        return self.get(name)

    def get(self, name: str) -> Pusher:
        with self.engine.connect() as connection:
            row = connection.execute(select(pushers).where(p.name == name)).first()
        if row is None:
            raise NotFound(f"no pusher {name[:64]!r}")
        return _pusher(row)

    def list_all(self) -> list[Pusher]:
        with self.engine.connect() as connection:
            return [_pusher(row) for row in connection.execute(select(pushers).order_by(p.name))]

    def remove(self, name: str) -> Pusher:
        pusher = self.get(name)
        with self.engine.begin() as connection:
            connection.execute(delete(pusher_runs).where(r.pusher_id == pusher.pusher_id))
            connection.execute(delete(pushers).where(p.pusher_id == pusher.pusher_id))
        return pusher

    def due(self, now: datetime) -> list[Pusher]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(pushers)
                .where(p.enabled.is_(True), p.next_run <= to_us(now))
                .order_by(p.next_run, p.pusher_id)
            )
            return [_pusher(row) for row in rows]

    def claim(
        self, pusher_id: int, now: datetime, lease: timedelta, *, only_if_due: bool = False
    ) -> bool:
        conditions = [
            p.pusher_id == pusher_id,
            or_(p.lease_until.is_(None), p.lease_until < to_us(now)),
        ]
        if only_if_due:
            conditions += [p.enabled.is_(True), p.next_run <= to_us(now)]
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(pushers).where(*conditions).values(lease_until=to_us(now + lease))
            )
            return claimed.rowcount == 1

    def checkpoint(self, pusher_id: int, position: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(pushers).where(p.pusher_id == pusher_id).values(checkpoint=to_us(position))
            )

    def release(self, pusher_id: int, next_run: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(pushers)
                .where(p.pusher_id == pusher_id)
                .values(lease_until=None, next_run=to_us(next_run))
            )

    def start_run(self, pusher_id: int, now: datetime) -> int:
        with self.engine.begin() as connection:
            # Holding the lease, any run still open is a crashed process's.
            connection.execute(
                update(pusher_runs)
                .where(r.pusher_id == pusher_id, r.outcome == PushOutcome.RUNNING.value)
                .values(
                    finished=to_us(now),
                    outcome=PushOutcome.FAILED.value,
                    error="the run was interrupted (its process stopped before it finished)",
                )
            )
            result = connection.execute(
                insert(pusher_runs)
                .values(
                    pusher_id=pusher_id,
                    started=to_us(now),
                    finished=None,
                    outcome=PushOutcome.RUNNING.value,
                    uploaded=0,
                    rejected=0,
                    requests=0,
                    throttled=0,
                    record_errors="[]",
                    error=None,
                )
                .returning(r.run_id)
            )
            return int(result.scalar_one())

    def finish_run(
        self,
        run_id: int,
        now: datetime,
        outcome: PushOutcome,
        counts: PushCounts,
        *,
        record_errors: list[RecordError],
        error: str | None = None,
    ) -> PushRun:
        kept = [item.as_json() for item in record_errors[:KEPT_RECORD_ERRORS]]
        with self.engine.begin() as connection:
            connection.execute(
                update(pusher_runs)
                .where(r.run_id == run_id)
                .values(
                    finished=to_us(now),
                    outcome=outcome.value,
                    uploaded=counts.uploaded,
                    rejected=counts.rejected,
                    requests=counts.requests,
                    throttled=counts.throttled,
                    record_errors=orjson.dumps(kept).decode(),
                    error=error,
                )
            )
            row = connection.execute(select(pusher_runs).where(r.run_id == run_id)).one()
        return _run(row)

    def runs(self, pusher_id: int, limit: int = 20) -> list[PushRun]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(pusher_runs)
                .where(r.pusher_id == pusher_id)
                .order_by(r.run_id.desc())
                .limit(limit)
            )
            return [_run(row) for row in rows]
