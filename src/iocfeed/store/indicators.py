"""Writing indicators: merge-on-load, versions, revocation and expiry, in batches.

Every write transaction first takes the one-row ``write_clock`` lock (see ``schema``), reads
the current versions of the batch's values, merges in Python (``indicators.merge``) and
writes: superseded versions get ``superseded_at``, new versions are inserted with strictly
increasing ``date_added``, and unchanged indicators get ``last_seen``/``source`` in place.

The store stamps every new version: ``modified`` is its ``date_added`` truncated to the
millisecond (STIX precision), and where that would not be later than the object's previous
``modified`` the clock is moved forward to the next millisecond. So ``modified`` grows with
``date_added``: "newest modified first" is "newest added first", and one index on
``date_added`` serves TAXII walks, exports and searches alike.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, or_, select, update

from iocfeed.errors import NotFound
from iocfeed.indicators.merge import Merge, Outcome, Writer, merge, revoke
from iocfeed.indicators.model import Indicator, IndicatorInput, IocType, Tlp
from iocfeed.lifecycle.decay import DecayPolicy
from iocfeed.stix.stored import stored_json
from iocfeed.store import bulk
from iocfeed.store.engine import is_postgresql
from iocfeed.store.rows import from_us, indicator_to_row, row_to_indicator, to_us
from iocfeed.store.schema import DECODED_COLUMNS, write_clock
from iocfeed.store.schema import indicator_versions as versions
from iocfeed.store.shadows import answer_withheld

NewStixId = Callable[[IocType], str]

# Values per IN (...) list: well below SQLite's and PostgreSQL's bound-parameter limits.
_LOOKUP_CHUNK = 2000


class _DateAddedClock:
    """Hands out strictly increasing ``date_added`` microseconds within one transaction."""

    def __init__(self, last: int, now: int) -> None:
        self.last = max(last, now - 1)

    def tick(self) -> int:
        self.last += 1
        return self.last

    def advance_to(self, micros: int) -> int:
        self.last = max(self.last, micros)
        return self.last


@dataclass(slots=True)
class CurrentVersion:
    """The latest version of one ``(type, value)`` while a batch is being merged."""

    indicator: Indicator
    modified: int  # the stamped ``modified`` of this version, epoch microseconds
    seq: int | None  # stored row, or None when the version is pending in this batch
    row: dict[str, Any] | None  # the pending row to insert, when seq is None

    @classmethod
    def stored(cls, indicator: Indicator, seq: int) -> CurrentVersion:
        return cls(indicator, to_us(indicator.modified), seq, None)


def lock_write_clock(connection: Connection, now: datetime) -> _DateAddedClock:
    """Serialise writers on the clock row and return this transaction's clock."""
    connection.execute(
        update(write_clock)
        .where(write_clock.c.id == 1)
        .values(last_date_added=write_clock.c.last_date_added)
    )
    last = connection.execute(
        select(write_clock.c.last_date_added).where(write_clock.c.id == 1)
    ).scalar_one()
    return _DateAddedClock(last, to_us(now))


def save_write_clock(connection: Connection, clock: _DateAddedClock) -> None:
    """Keep the last ``date_added`` this transaction handed out (see ``lock_write_clock``)."""
    connection.execute(
        update(write_clock).where(write_clock.c.id == 1).values(last_date_added=clock.last)
    )


def current_versions(
    connection: Connection, keys: Iterable[tuple[IocType, str]]
) -> dict[tuple[IocType, str], tuple[Indicator, int]]:
    """The stored latest version (and its row number) of each ``(type, value)`` that exists."""
    by_type: dict[IocType, list[str]] = defaultdict(list)
    for ioc_type, value in keys:
        by_type[ioc_type].append(value)
    found: dict[tuple[IocType, str], tuple[Indicator, int]] = {}
    if bulk.is_bulk(connection):
        staged = [(kind.value, value) for kind, values in by_type.items() for value in values]
        for row in bulk.read_current(connection, staged):
            indicator = row_to_indicator(row)
            found[(indicator.type, indicator.value)] = (indicator, row.seq)
        return found
    for ioc_type, values in by_type.items():
        for start in range(0, len(values), _LOOKUP_CHUNK):
            chunk = values[start : start + _LOOKUP_CHUNK]
            rows = connection.execute(
                select(*DECODED_COLUMNS).where(
                    versions.c.superseded_at.is_(None),
                    versions.c.type == ioc_type.value,
                    versions.c.value.in_(chunk),
                )
            )
            for row in rows:
                indicator = row_to_indicator(row)
                found[(indicator.type, indicator.value)] = (indicator, row.seq)
    return found


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a batch did: one outcome per input, and for each withheld input (by position)
    its merge into the writer's shadow, which is what the writer is told."""

    outcomes: list[Outcome]
    withheld: dict[int, Merge]

    def answered(self, number: int) -> Outcome:
        """The outcome the writer of input ``number`` is told."""
        shadow = self.withheld.get(number)
        return shadow.outcome if shadow is not None else self.outcomes[number]


@dataclass(slots=True)
class DecaySweep:
    """What one decay sweep did."""

    published: int = 0
    """New versions with a lower score (and the same ``valid_until``)."""
    revoked: int = 0
    batches: int = 0


class IndicatorStore:
    """Loads, revokes and expires indicators; reads live in ``store.search``."""

    def __init__(
        self, engine: Engine, new_stix_id: NewStixId, decay: DecayPolicy | None = None
    ) -> None:
        self.engine = engine
        self._new_stix_id = new_stix_id
        self.decay = decay
        """How scores fall with time (``lifecycle.decay``); ``None``: they do not."""

    def write(
        self,
        inputs: Sequence[IndicatorInput],
        now: datetime,
        *,
        preferred_ids: Mapping[tuple[IocType, str], str] | None = None,
        submitted: bool = False,
    ) -> list[Outcome]:
        """Merge ``inputs`` as an operator, whom nothing is withheld from; see ``load``."""
        return self.load(inputs, now, preferred_ids=preferred_ids, submitted=submitted).outcomes

    def load(
        self,
        inputs: Sequence[IndicatorInput],
        now: datetime,
        *,
        writer: Writer | None = None,
        preferred_ids: Mapping[tuple[IocType, str], str] | None = None,
        submitted: bool = False,
    ) -> Loaded:
        """Merge ``inputs`` in one transaction; one outcome per input, in order.

        ``writer`` is who loads (``None``: an operator). An input whose indicator is
        currently above the writer's TLP ceiling changes nothing and is reported
        ``WITHHELD``; it merges into the writer's shadow of the value instead, which gives
        the answer the writer gets (``indicators.merge``, ``store.shadows``). Only a batch
        with withheld inputs reads or writes shadows.

        An indicator stored for the first time gets a fresh STIX id, or the one
        ``preferred_ids`` names for its ``(type, value)`` (a producer's own id, kept when a
        TAXII client posts it); the caller makes sure no other indicator holds that id.
        ``submitted`` marks the new versions as posted to the TAXII Submissions collection,
        which serves only such versions.
        """

        def new_id(incoming: IndicatorInput) -> str:
            if preferred_ids:
                preferred = preferred_ids.get((incoming.type, incoming.value))
                if preferred is not None:
                    return preferred
            return self._new_stix_id(incoming.type)

        if not inputs:
            return Loaded([], {})
        ceiling = writer.ceiling if writer is not None else Tlp.RED
        with self.engine.begin() as connection:
            clock = lock_write_clock(connection, now)
            stored = current_versions(connection, {(i.type, i.value) for i in inputs})
            state = {key: CurrentVersion.stored(ind, seq) for key, (ind, seq) in stored.items()}
            writes = BatchWrites(submitted=submitted)
            outcomes = []
            withheld: list[int] = []
            decay = self.decay
            for number, stated in enumerate(inputs):
                key = (stated.type, stated.value)
                current = state.get(key)
                previous = current.indicator if current else None
                incoming = stated
                if decay is not None and previous is not None and stated.last_seen is None:
                    # A report that states no time is a sighting now: it restarts the decay.
                    incoming = replace(stated, last_seen=max(now, stated.first_seen or now))
                result = merge(previous, incoming, now, new_id, ceiling=ceiling)
                if decay is not None:
                    result = decay.rescore(previous, result, now)
                outcomes.append(result.outcome)
                if result.outcome is Outcome.WITHHELD:
                    withheld.append(number)
                else:
                    state[key] = writes.add(current, result, clock)
            answers: dict[int, Merge] = {}
            if withheld:
                assert writer is not None  # nothing is withheld from an operator
                shadowed = answer_withheld(
                    connection, writer, [inputs[n] for n in withheld], now, new_id
                )
                answers = dict(zip(withheld, shadowed, strict=True))
            writes.flush(connection)
            save_write_clock(connection, clock)
        return Loaded(outcomes, answers)

    def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see the table as it now is, after a large load.

        With statistics of a much smaller table the planner turns the per-batch lookup of
        current versions into a scan of every row of a type (measured: 7x slower at 600,000
        rows); autovacuum catches up only about once a minute. SQLite plans these lookups
        from the index alone and needs nothing.
        """
        if is_postgresql(self.engine):
            with self.engine.begin() as connection:
                connection.exec_driver_sql(f"ANALYZE {versions.name}")

    def revoke(self, ioc_type: IocType, value: str, now: datetime) -> Indicator:
        """Publish a revoked version of the indicator; revoking twice is a no-op."""
        with self.engine.begin() as connection:
            clock = lock_write_clock(connection, now)
            stored = current_versions(connection, [(ioc_type, value)]).get((ioc_type, value))
            if stored is None:
                raise NotFound(f"no {ioc_type.value} indicator {value!r}")
            indicator, seq = stored
            if indicator.revoked:
                return indicator
            writes = BatchWrites()
            writes.add(
                CurrentVersion.stored(indicator, seq),
                Merge(Outcome.UPDATED, revoke(indicator, now)),
                clock,
            )
            writes.flush(connection)
            save_write_clock(connection, clock)
            return current_versions(connection, [(ioc_type, value)])[(ioc_type, value)][0]

    def current_after(self, after_seq: int, limit: int) -> list[Indicator]:
        """Live current versions in row order after row ``after_seq``: a sweep's walk."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(*DECODED_COLUMNS)
                .where(
                    versions.c.seq > after_seq,
                    versions.c.superseded_at.is_(None),
                    versions.c.revoked.is_(False),
                )
                .order_by(versions.c.seq)
                .limit(limit)
            )
            return [row_to_indicator(row) for row in rows]

    def republish(
        self,
        keys: Iterable[tuple[IocType, str]],
        now: datetime,
        change: Callable[[Indicator, datetime], Indicator | None],
    ) -> int:
        """Publish ``change(current, now)`` as a new version of each live indicator of
        ``keys`` (``None``: leave it); re-read under the write lock, so a concurrent change
        is never overwritten. The number of new versions."""
        changed = 0
        with self.engine.begin() as connection:
            clock = lock_write_clock(connection, now)
            writes = BatchWrites()
            for indicator, seq in current_versions(connection, keys).values():
                if indicator.revoked:
                    continue
                new = change(indicator, now)
                if new is not None:
                    writes.add(
                        CurrentVersion.stored(indicator, seq), Merge(Outcome.UPDATED, new), clock
                    )
                    changed += 1
            writes.flush(connection)
            save_write_clock(connection, clock)
        return changed

    def decay_due(
        self, now: datetime, *, batch_size: int = 1000, max_batches: int = 100
    ) -> DecaySweep:
        """Publish what decay has changed by ``now``: lower scores and revocations.

        Walks the current versions whose ``decay_next`` has come, oldest first, keyset-paged
        on ``(decay_next, seq)`` and at most ``max_batches`` batches per call (the rest waits
        for the next sweep). As ``expire_due`` does, it finds candidates without the write
        lock and re-reads them under it. A version whose exported score is still within
        ``step`` only gets a later ``decay_next``, in place; no new version.
        """
        swept = DecaySweep()
        policy = self.decay
        if policy is None:
            return swept
        due = to_us(now)
        after: tuple[int, int] = (-1, -1)
        for _ in range(max_batches):
            with self.engine.connect() as connection:
                rows = connection.execute(
                    select(versions.c.decay_next, versions.c.seq, versions.c.type, versions.c.value)
                    .where(
                        versions.c.superseded_at.is_(None),
                        versions.c.decay_next <= due,
                        or_(
                            versions.c.decay_next > after[0],
                            and_(versions.c.decay_next == after[0], versions.c.seq > after[1]),
                        ),
                    )
                    .order_by(versions.c.decay_next, versions.c.seq)
                    .limit(batch_size)
                ).all()
            if not rows:
                break
            after = (rows[-1].decay_next, rows[-1].seq)
            with self.engine.begin() as connection:
                clock = lock_write_clock(connection, now)
                current = current_versions(connection, [(IocType(r.type), r.value) for r in rows])
                writes = BatchWrites()
                retimed: list[dict[str, Any]] = []
                for indicator, seq in current.values():
                    if indicator.decay_next is None or indicator.decay_next > now:
                        continue  # changed since it was found
                    moved = policy.moved(indicator, now)
                    if moved is not None:
                        writes.add(
                            CurrentVersion.stored(indicator, seq),
                            Merge(Outcome.UPDATED, moved),
                            clock,
                        )
                        swept.revoked += moved.revoked
                        swept.published += not moved.revoked
                        continue
                    later = policy.retimed(indicator, now)
                    retimed.append({"b_seq": seq, "b_next": to_us(later) if later else None})
                writes.flush(connection)
                if retimed:
                    connection.execute(
                        update(versions)
                        .where(versions.c.seq == bindparam("b_seq"))
                        .values(decay_next=bindparam("b_next")),
                        retimed,
                    )
                save_write_clock(connection, clock)
            swept.batches += 1
        return swept

    def expire_due(self, now: datetime, batch_size: int = 5000) -> int:
        """Revoke every live indicator whose ``valid_until`` has passed (SPEC §1).

        Candidates are found without the write lock (a scan that must not stall imports),
        then re-read and revoked under it, so a concurrent change is never overwritten.
        """
        expired = 0
        due = to_us(now)
        while True:
            with self.engine.connect() as connection:
                keys = connection.execute(
                    select(versions.c.type, versions.c.value)
                    .where(
                        versions.c.superseded_at.is_(None),
                        versions.c.revoked.is_(False),
                        versions.c.valid_until <= due,
                    )
                    .limit(batch_size)
                ).all()
            if not keys:
                return expired
            with self.engine.begin() as connection:
                clock = lock_write_clock(connection, now)
                current = current_versions(connection, [(IocType(t), v) for t, v in keys])
                writes = BatchWrites()
                for indicator, seq in current.values():
                    still_due = indicator.valid_until is not None and indicator.valid_until <= now
                    if still_due and not indicator.revoked:
                        writes.add(
                            CurrentVersion.stored(indicator, seq),
                            Merge(Outcome.UPDATED, revoke(indicator, now)),
                            clock,
                        )
                        expired += 1
                writes.flush(connection)
                save_write_clock(connection, clock)


_INSERT_COLUMNS = tuple(column.name for column in versions.columns if column.name != "seq")
_insert_values = operator.itemgetter(*_INSERT_COLUMNS)


@functools.cache
def _insert_statement(paramstyle: str) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"
    # Built from the schema's own table and column names only; every value is bound.
    return (
        f"INSERT INTO {versions.name} ({', '.join(_INSERT_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join([marker] * len(_INSERT_COLUMNS))})"
    )


class BatchWrites:
    """The statements one batch will run, collected so each runs once as an executemany.

    When a new version changes its indicator's TLP rank, every earlier version of the
    indicator (the same STIX id, or the revoked object a reloaded value replaces) gets its
    ``access_rank`` raised or lowered to the higher of its own rank and the new one, so a
    version is served only where both its own and its indicator's current TLP may go.
    """

    def __init__(self, *, submitted: bool = False) -> None:
        self.submitted = submitted
        self.inserts: list[dict[str, Any]] = []
        self.supersede: list[dict[str, int]] = []
        self.touch: dict[int, dict[str, Any]] = {}
        # Per (type, value) whose TLP rank changed: the STIX ids to re-rank, the final rank.
        self.reranked: dict[tuple[str, str], tuple[set[str], int]] = {}

    def add(
        self, current: CurrentVersion | None, result: Merge, clock: _DateAddedClock
    ) -> CurrentVersion:
        indicator = result.indicator
        if result.outcome is Outcome.UNCHANGED:
            assert current is not None
            if (indicator.last_seen, indicator.source) != (
                current.indicator.last_seen,
                current.indicator.source,
            ):
                self._touch(current, indicator)
            return CurrentVersion(indicator, current.modified, current.seq, current.row)
        date_added = clock.tick()
        modified = date_added - date_added % 1000
        same_object = current is not None and current.indicator.stix_id == indicator.stix_id
        if same_object and current is not None and modified <= current.modified:
            modified = current.modified + 1000
            date_added = clock.advance_to(modified)
        if current is not None:
            if current.row is not None:
                current.row["superseded_at"] = date_added
            else:
                assert current.seq is not None
                self.supersede.append({"b_seq": current.seq, "b_at": date_added})
        row = indicator_to_row(indicator)
        if current is not None:
            self._rerank(current, row)
        row["date_added"] = date_added
        row["submitted"] = self.submitted
        row["modified"] = modified
        if result.outcome is Outcome.ADDED:
            row["created"] = modified
        row["superseded_at"] = None
        # The object as a read of this row decodes it, serialised once (``stix.stored``).
        stamped = from_us(modified)
        row["stix_json"] = stored_json(
            indicator,
            created=stamped if result.outcome is Outcome.ADDED else None,
            modified=stamped,
        )
        self.inserts.append(row)
        return CurrentVersion(indicator, modified, None, row)

    def _rerank(self, current: CurrentVersion, row: dict[str, Any]) -> None:
        key = (row["type"], row["value"])
        known = self.reranked.get(key)
        if known is not None:
            known[0].update((current.indicator.stix_id, row["stix_id"]))
            self.reranked[key] = (known[0], row["tlp_rank"])
            return
        before = (
            current.row["tlp_rank"]
            if current.row is not None
            else current.indicator.effective_tlp.rank
        )
        if before != row["tlp_rank"]:
            self.reranked[key] = ({current.indicator.stix_id, row["stix_id"]}, row["tlp_rank"])

    def _touch(self, current: CurrentVersion, indicator: Indicator) -> None:
        changes = {"last_seen": to_us(indicator.last_seen), "source": indicator.source}
        if current.row is not None:
            current.row.update(changes)
        else:
            assert current.seq is not None
            self.touch[current.seq] = {
                "b_seq": current.seq,
                **{f"b_{k}": v for k, v in changes.items()},
            }

    def flush(self, connection: Connection) -> None:
        if bulk.is_bulk(connection):
            # COPY and set-based statements (``store.bulk``).
            if self.supersede:
                bulk.supersede(connection, [(s["b_seq"], s["b_at"]) for s in self.supersede])
            if self.inserts:
                bulk.insert(connection, _INSERT_COLUMNS, map(_insert_values, self.inserts))
        else:
            if self.supersede:
                connection.execute(
                    update(versions)
                    .where(versions.c.seq == bindparam("b_seq"))
                    .values(superseded_at=bindparam("b_at")),
                    self.supersede,
                )
            if self.inserts:
                # The hot path of every import: hand plain tuples to the driver's
                # executemany (SQLAlchemy's per-parameter processing would cost more than
                # the insert).
                connection.exec_driver_sql(
                    _insert_statement(connection.dialect.paramstyle),
                    [_insert_values(row) for row in self.inserts],
                )
        if self.reranked:
            # After the inserts, so versions superseded within this batch are re-ranked too.
            connection.execute(
                update(versions)
                .where(
                    versions.c.stix_id == bindparam("b_stix_id"),
                    versions.c.superseded_at.is_not(None),
                )
                .values(
                    access_rank=case(
                        (versions.c.tlp_rank > bindparam("b_rank"), versions.c.tlp_rank),
                        else_=bindparam("b_rank"),
                    )
                ),
                [
                    {"b_stix_id": stix_id, "b_rank": rank}
                    for stix_ids, rank in self.reranked.values()
                    for stix_id in sorted(stix_ids)
                ],
            )
        if self.touch:
            connection.execute(
                update(versions)
                .where(versions.c.seq == bindparam("b_seq"))
                .values(last_seen=bindparam("b_last_seen"), source=bindparam("b_source")),
                list(self.touch.values()),
            )
