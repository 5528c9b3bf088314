"""Sources at rest: definitions, checkpoints, leases, run records and provenance.

``indicator_sources`` holds one row per (source, indicator) the source has reported, with
the source's own first and last seen, the run that last listed it, and how many successful
runs of a full-dump source in a row have not listed it (``missing_after_run``).

Provenance records who reported an indicator, not what each said: confidence (like TLP,
description and ``valid_until``) combines by SPEC §1's merge rule, the newer report wins.
The indicator carries the confidence of the source that listed it last (its own, or the
source's default); a source that lists it again with the same confidence changes nothing.

A run is claimed by a lease (``claim``): one UPDATE that succeeds only when no unexpired
lease is held, so two workers, or a worker and ``iocfeed sources run``, never run one source
at once on either database; a crashed worker's lease simply expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from iocfeed.errors import InvalidQuery, NotFound
from iocfeed.indicators.model import IocType
from iocfeed.sources.model import (
    Credentials,
    NewSource,
    RunCounts,
    RunOutcome,
    Source,
    SourceKind,
    SourceRun,
    SourceSettings,
)
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import indicator_sources, source_runs, sources

_CHUNK = 1000


def _source(row: Any) -> Source:
    return Source(
        source_id=row.source_id,
        name=row.name,
        kind=SourceKind(row.kind),
        url=row.url,
        interval_seconds=row.interval_seconds,
        enabled=row.enabled,
        credentials=(
            Credentials.from_json(orjson.loads(row.credentials)) if row.credentials else None
        ),
        settings=SourceSettings.from_json(orjson.loads(row.settings)),
        checkpoint=orjson.loads(row.checkpoint),
        created=from_us(row.created),
        next_run=from_us(row.next_run),
    )


def _run(row: Any) -> SourceRun:
    return SourceRun(
        run_id=row.run_id,
        source_id=row.source_id,
        started=from_us(row.started),
        finished=from_us(row.finished) if row.finished is not None else None,
        outcome=RunOutcome(row.outcome),
        counts=RunCounts(row.added, row.updated, row.unchanged, row.rejected, row.revoked),
        error=row.error,
    )


class SourceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- definitions ---------------------------------------------------------------------

    def add(self, new: NewSource, now: datetime) -> Source:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(sources).values(
                        name=new.name,
                        kind=new.kind.value,
                        url=new.url,
                        interval_seconds=new.interval_seconds,
                        enabled=True,
                        credentials=(
                            orjson.dumps(new.credentials.as_json()).decode()
                            if new.credentials
                            else None
                        ),
                        settings=orjson.dumps(new.settings.as_json()).decode(),
                        checkpoint="{}",
                        created=to_us(now),
                        next_run=to_us(now),
                        lease_until=None,
                    )
                )
        except IntegrityError:
            raise InvalidQuery(f"a source named {new.name!r} exists", parameter="name") from None
        return self.get(new.name)

    def list_all(self) -> list[Source]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(sources).order_by(sources.c.name))
            return [_source(row) for row in rows]

    def get(self, name: str) -> Source:
        with self.engine.connect() as connection:
            row = connection.execute(select(sources).where(sources.c.name == name)).first()
        if row is None:
            raise NotFound(f"no source {name[:64]!r}")
        return _source(row)

    def set_enabled(self, name: str, enabled: bool) -> Source:
        with self.engine.begin() as connection:
            connection.execute(
                update(sources).where(sources.c.name == name).values(enabled=enabled)
            )
        return self.get(name)

    def remove(self, name: str) -> Source:
        """Forget the source, its runs and its provenance rows (indicators stay)."""
        source = self.get(name)
        with self.engine.begin() as connection:
            for table in (indicator_sources, source_runs, sources):
                connection.execute(delete(table).where(table.c.source_id == source.source_id))
        return source

    def due(self, now: datetime) -> list[Source]:
        """Enabled sources whose next run is due, most overdue first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(sources)
                .where(sources.c.enabled.is_(True), sources.c.next_run <= to_us(now))
                .order_by(sources.c.next_run, sources.c.source_id)
            )
            return [_source(row) for row in rows]

    # --- leases and checkpoints ----------------------------------------------------------

    def claim(
        self, source_id: int, now: datetime, lease: timedelta, *, only_if_due: bool = False
    ) -> bool:
        """Take the source's lease until ``now + lease``; False when someone else holds it
        (or, ``only_if_due``, when it is no longer due: another worker has just run it)."""
        conditions = [
            sources.c.source_id == source_id,
            or_(sources.c.lease_until.is_(None), sources.c.lease_until < to_us(now)),
        ]
        if only_if_due:
            conditions += [sources.c.enabled.is_(True), sources.c.next_run <= to_us(now)]
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(sources).where(*conditions).values(lease_until=to_us(now + lease))
            )
            return claimed.rowcount == 1

    def release(
        self, source_id: int, checkpoint: dict[str, Any] | None, next_run: datetime
    ) -> None:
        """Give the lease back, with the next run's time and (if given) a new checkpoint."""
        values: dict[str, Any] = {"lease_until": None, "next_run": to_us(next_run)}
        if checkpoint is not None:
            values["checkpoint"] = orjson.dumps(checkpoint).decode()
        with self.engine.begin() as connection:
            connection.execute(
                update(sources).where(sources.c.source_id == source_id).values(**values)
            )

    # --- runs ----------------------------------------------------------------------------

    def start_run(self, source_id: int, now: datetime) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(source_runs)
                .values(
                    source_id=source_id,
                    started=to_us(now),
                    finished=None,
                    outcome=RunOutcome.RUNNING.value,
                    added=0,
                    updated=0,
                    unchanged=0,
                    rejected=0,
                    revoked=0,
                    error=None,
                )
                .returning(source_runs.c.run_id)
            )
            return int(result.scalar_one())

    def finish_run(
        self,
        run_id: int,
        now: datetime,
        outcome: RunOutcome,
        counts: RunCounts,
        error: str | None = None,
    ) -> SourceRun:
        with self.engine.begin() as connection:
            connection.execute(
                update(source_runs)
                .where(source_runs.c.run_id == run_id)
                .values(
                    finished=to_us(now),
                    outcome=outcome.value,
                    added=counts.added,
                    updated=counts.updated,
                    unchanged=counts.unchanged,
                    rejected=counts.rejected,
                    revoked=counts.revoked,
                    error=error,
                )
            )
            row = connection.execute(
                select(source_runs).where(source_runs.c.run_id == run_id)
            ).one()
        return _run(row)

    def abandon_running(self, source_id: int, now: datetime) -> int:
        """Close the runs a crashed process left open, as failed; how many there were."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(source_runs)
                .where(
                    source_runs.c.source_id == source_id,
                    source_runs.c.outcome == RunOutcome.RUNNING.value,
                )
                .values(
                    finished=to_us(now),
                    outcome=RunOutcome.FAILED.value,
                    error="the run was interrupted (its process stopped before it finished)",
                )
            )
            return int(result.rowcount)

    def runs(self, source_id: int, limit: int = 20) -> list[SourceRun]:
        """The source's latest runs, newest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(source_runs)
                .where(source_runs.c.source_id == source_id)
                .order_by(source_runs.c.run_id.desc())
                .limit(limit)
            )
            return [_run(row) for row in rows]

    # --- provenance and delta ------------------------------------------------------------

    def record_seen(
        self,
        source_id: int,
        run_id: int,
        seen: Iterable[tuple[IocType, str, datetime, datetime]],
    ) -> None:
        """Remember that this run of the source listed these (type, value, first, last)."""
        latest: dict[tuple[str, str], tuple[int, int]] = {}
        for ioc_type, value, first, last in seen:
            key = (ioc_type.value, value)
            known = latest.get(key)
            span = (to_us(first), to_us(last))
            latest[key] = (
                span if known is None else (min(known[0], span[0]), max(known[1], span[1]))
            )
        if not latest:
            return
        table = indicator_sources
        with self.engine.begin() as connection:
            stored: set[tuple[str, str]] = set()
            keys = list(latest)
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                for type_name in {t for t, _ in chunk}:
                    values = [v for t, v in chunk if t == type_name]
                    rows = connection.execute(
                        select(table.c.type, table.c.value).where(
                            table.c.source_id == source_id,
                            table.c.type == type_name,
                            table.c.value.in_(values),
                        )
                    )
                    stored.update((row.type, row.value) for row in rows)
            updates = [{"k_type": t, "k_value": v, "k_last": latest[(t, v)][1]} for t, v in stored]
            if updates:
                connection.execute(
                    update(table)
                    .where(
                        table.c.source_id == source_id,
                        table.c.type == bindparam("k_type"),
                        table.c.value == bindparam("k_value"),
                    )
                    .values(
                        last_seen=func.max(table.c.last_seen, bindparam("k_last"))
                        if self.engine.dialect.name == "sqlite"
                        else func.greatest(table.c.last_seen, bindparam("k_last")),
                        last_run_id=run_id,
                        missing_runs=0,
                    ),
                    updates,
                )
            inserts = [
                {
                    "source_id": source_id,
                    "type": t,
                    "value": v,
                    "first_seen": first,
                    "last_seen": last,
                    "last_run_id": run_id,
                    "missing_runs": 0,
                }
                for (t, v), (first, last) in latest.items()
                if (t, v) not in stored
            ]
            if inserts:
                connection.execute(insert(table), inserts)

    def missing_after_run(
        self, source_id: int, run_id: int, threshold: int
    ) -> list[tuple[IocType, str]]:
        """Count one more successful run that did not list each of the source's other
        indicators; those now missing ``threshold`` runs in a row, and listed by no other
        source's latest run, are returned to be revoked."""
        table = indicator_sources
        other = table.alias("other")
        with self.engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.source_id == source_id, table.c.last_run_id != run_id)
                .values(missing_runs=table.c.missing_runs + 1)
            )
            rows = connection.execute(
                select(table.c.type, table.c.value).where(
                    table.c.source_id == source_id,
                    table.c.missing_runs == threshold,
                    ~exists().where(
                        and_(
                            other.c.type == table.c.type,
                            other.c.value == table.c.value,
                            other.c.source_id != source_id,
                            other.c.missing_runs == 0,
                        )
                    ),
                )
            )
            return [(IocType(row.type), row.value) for row in rows]

    def reporters(self, ioc_type: IocType, value: str) -> list[dict[str, Any]]:
        """Every source that reported the indicator, with its own first and last seen."""
        table = indicator_sources
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(sources.c.name, table.c.first_seen, table.c.last_seen, table.c.missing_runs)
                .join(sources, sources.c.source_id == table.c.source_id)
                .where(table.c.type == ioc_type.value, table.c.value == value)
                .order_by(sources.c.name)
            )
            return [
                {
                    "source": row.name,
                    "first_seen": from_us(row.first_seen),
                    "last_seen": from_us(row.last_seen),
                    "listed": row.missing_runs == 0,
                }
                for row in rows
            ]
