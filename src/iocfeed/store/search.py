"""Reading indicators: one ``IndicatorQuery`` → keyset SQL, for SQLite and PostgreSQL alike.

Theory of operation
-------------------
Two walks exist, both on the ``date_added`` index. *Newest first* (REST search, STIX
export) reads latest versions by ``date_added`` descending, which is newest ``modified``
first because the store stamps ``modified`` as ``date_added`` truncated to the millisecond
(see ``store.indicators``); for the same reason a bound on ``modified`` is a bound on
``date_added``. *Added order* (TAXII objects, manifest, versions) reads versions by
``date_added`` ascending, which the write clock makes unique and equal to commit order.
Both continue from a :class:`Keyset` (the last row served), never from an OFFSET, so the
millionth page costs what the first does.

An added-order walk is pinned to ``as_of``: it sees only versions added up to then, and takes
as "latest" the version that was latest then (``superseded_at`` NULL or later than
``as_of``). Writes during the walk therefore neither skip nor repeat an object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
)

from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.indicators.query import (
    LATEST,
    IndicatorQuery,
    Keyset,
    Page,
    Status,
    VersionSelector,
)
from iocfeed.stix.stored import StoredObject, StoredVersion, stored_json
from iocfeed.store.engine import binary_rows, reading
from iocfeed.store.replicas import ReadRouting
from iocfeed.store.rows import from_us, row_to_indicator, to_us
from iocfeed.store.schema import DECODED_COLUMNS, indicator_sources, sources, write_clock
from iocfeed.store.schema import indicator_versions as versions

v = versions.c
T = TypeVar("T")
_Walked = TypeVar("_Walked", Indicator, StoredObject, StoredVersion)
_TYPES = {member.value: member for member in IocType}
_CONFIDENCES = {member.value: member for member in Confidence}
_TLPS: dict[str | None, Tlp | None] = {None: None, **{member.value: member for member in Tlp}}


# What serving a stored version reads (``StoredObject``): the stored JSON and the columns a
# request's choices depend on. Each column more costs about 0.2 ms per 1000 rows on SQLite.
SERVED_COLUMNS = (v.seq, v.type, v.confidence, v.tlp, v.date_added, v.stix_json)
# What a manifest lists (``StoredVersion``): no JSON.
VERSION_COLUMNS = (v.seq, v.stix_id, v.confidence, v.tlp, v.modified, v.date_added)
# Row numbers per ``IN (...)`` list when a page's versions are decoded.
_DECODE_CHUNK = 2000


class _PageDecoder:
    """The whole versions behind one page of stored objects, read with one query the first
    time any of them is asked for (observables, relationships and sightings need them; most
    reads never do).

    Each version is decoded once per page, so what a page's ETag is computed from
    (``last_seen``, which changes in place) is what its objects show. A row written before
    versions kept their JSON (a store not yet backfilled) is decoded as it is read, to build
    its JSON.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._rows: list[Sequence[Any]] = []
        self._decoded: dict[int, Indicator] = {}

    def stored_objects(self, rows: Sequence[Sequence[Any]]) -> list[StoredObject]:
        """Rows of ``SERVED_COLUMNS`` as the read path serves them, built in one pass (a
        call per row costs twice as much: a page is a thousand rows). A row written before
        the JSON was stored (and not yet backfilled) gets its JSON built here."""
        self._rows.extend(rows)
        make, decode = StoredObject._make, self.decode
        return [
            make(
                (
                    seq,
                    _TYPES[ioc_type],
                    _CONFIDENCES[confidence],
                    _TLPS[tlp],
                    date_added,
                    stored if type(stored) is bytes else self._json(seq, stored),
                    decode,
                )
            )
            for seq, ioc_type, confidence, tlp, date_added, stored in rows
        ]

    def _json(self, seq: int, stored: Any) -> bytes:
        """The stored JSON as bytes (a driver may return a buffer), built if absent."""
        return stored_json(self.decode(seq)) if stored is None else bytes(stored)

    def decode(self, seq: int) -> Indicator:
        """The whole version of row ``seq``, one of this page's; the first call reads every
        row of the page read so far that is not decoded yet."""
        if seq not in self._decoded:
            self._decoded.update(
                self._read([row for row in self._rows if row[0] not in self._decoded])
            )
        return self._decoded[seq]

    def _read(self, rows: Sequence[Sequence[Any]]) -> dict[int, Indicator]:
        seqs = [row[0] for row in rows]
        decoded: dict[int, Indicator] = {}
        with reading(self._engine) as connection:
            for start in range(0, len(seqs), _DECODE_CHUNK):
                statement = select(*DECODED_COLUMNS).where(
                    v.seq.in_(seqs[start : start + _DECODE_CHUNK])
                )
                for row in connection.execute(statement).all():
                    decoded[row.seq] = row_to_indicator(row)
        return decoded


# A multiplicative hash of row numbers (Knuth's constant, modulo the largest prime below
# 2**32): seq * KNUTH fits in 64 bits for ten billion rows, and the sum of a million
# hashes does too (SQLite sums integers exactly and fails on overflow).
KNUTH = 2654435761
HASH_MODULUS = 4294967291


class ValueRow(NamedTuple):
    """A version's type and value: all a plain list shows."""

    type: str
    value: str


# Rows per read of a list export: big enough that a 100,000-entry list is 20 queries.
LIST_BATCH = 5000


def _reported_by(names: Sequence[str]) -> ColumnElement[bool]:
    """The indicator was reported by a source named in ``names`` (``indicator_sources``)."""
    return exists().where(
        sources.c.name.in_(names),
        indicator_sources.c.source_id == sources.c.source_id,
        indicator_sources.c.type == v.type,
        indicator_sources.c.value == v.value,
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_member(column: ColumnElement[str], member: str) -> ColumnElement[bool]:
    """``member`` is an element of the JSON string array stored in ``column``."""
    return column.like(f"%{_like_escape(orjson.dumps(member).decode())}%", escape="\\")


def _filters(
    query: IndicatorQuery, now: datetime, *, walk: bool = False
) -> list[ColumnElement[bool]]:
    """The conditions every walk shares (everything but version selection and keyset)."""
    where: list[ColumnElement[bool]] = []
    if query.types:
        column = v.type.concat("") if walk and len(query.types) > 1 else v.type
        where.append(column.in_(sorted(t.value for t in query.types)))
    if query.stix_ids:
        where.append(v.stix_id.in_(sorted(query.stix_ids)))
    if query.modified_since is not None:
        # modified = date_added truncated to the ms: modified >= s  <=>  date_added >= ceil_ms(s)
        since = to_us(query.modified_since)
        where.append(v.date_added >= since + (-since % 1000))
    if query.modified_until is not None:
        until = to_us(query.modified_until)
        where.append(v.date_added < until - until % 1000 + 1000)
    if query.added_after is not None:
        where.append(v.date_added > to_us(query.added_after))
    if query.confidences:
        where.append(v.confidence.in_(sorted(c.value for c in query.confidences)))
    if query.tag is not None:
        where.append(_json_member(v.tags, query.tag))
    if query.technique is not None:
        where.append(_json_member(v.techniques, query.technique))
    if query.sources:
        names = sorted(query.sources)
        where.append(or_(v.source.in_(names), _reported_by(names)))
    if query.reported_by is not None:
        where.append(_reported_by([query.reported_by]))
    if query.text is not None:
        pattern = f"%{_like_escape(query.text.lower())}%"
        where.append(
            or_(
                v.value.like(pattern, escape="\\"),
                func.lower(v.description).like(pattern, escape="\\"),
            )
        )
    if query.max_tlp.rank < 4:
        # The higher of the version's own TLP and its indicator's current one (SPEC §4).
        where.append(v.access_rank <= query.max_tlp.rank)
    if not query.include_flagged:
        # Flagged versions are few: left out while walking the date_added index, they
        # cost what they are, and the walk keeps its index (no index of its own needed).
        # A revoked version is always served: it is what makes a SIEM drop the indicator.
        where.append(or_(v.flagged.is_(False), v.revoked.is_(True)))
    if query.submitted_only:
        where.append(v.submitted.is_(True))
    if query.status is not None:
        where.append(_status(query.status, to_us(now)))
    return where


def _status(status: Status, now: int) -> ColumnElement[bool]:
    live = v.revoked.is_(False)
    past_expiry = and_(v.valid_until.is_not(None), v.valid_until <= now)
    if status is Status.ACTIVE:
        return and_(live, or_(v.valid_until.is_(None), v.valid_until > now))
    if status is Status.EXPIRED:
        return past_expiry
    return and_(v.revoked.is_(True), or_(v.valid_until.is_(None), v.valid_until > now))


def _versions_as_of(query: IndicatorQuery, as_of: int) -> ColumnElement[bool]:
    """Which versions ``match[version]`` selects, as the store stood at ``as_of``."""
    latest = or_(v.superseded_at.is_(None), v.superseded_at > as_of)
    if query.versions.is_latest_only:
        return latest
    chosen: list[ColumnElement[bool]] = []
    keywords = query.versions.keywords
    if VersionSelector.ALL in keywords:
        return v.date_added <= as_of
    if VersionSelector.LAST in keywords:
        chosen.append(latest)
    if VersionSelector.FIRST in keywords:
        # A first version is the only one whose modified equals created (merge keeps created
        # and makes every later modified strictly later).
        chosen.append(v.modified == v.created)
    if query.versions.timestamps:
        chosen.append(v.modified.in_(sorted(to_us(t) for t in query.versions.timestamps)))
    return or_(*chosen) if chosen else false()


class IndicatorSearch:
    """Read-only queries over the indicator versions."""

    def __init__(self, engine: Engine, reads: ReadRouting | None = None) -> None:
        # Reads go to the primary, or to a replica inside a request's replica scope.
        self.reads = reads if reads is not None else ReadRouting(engine)

    def newest_first(
        self, query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> Page[Indicator]:
        """Latest versions, newest ``modified`` first (REST search).

        With ``query.as_of`` the walk sees the latest versions as they stood then.
        """
        statement = self._newest_first(query, limit=limit, after=after, now=now)
        items = self._fetch(
            statement.with_only_columns(*DECODED_COLUMNS), row_to_indicator, query.as_of
        )
        return _page(items, limit, key=lambda ind: Keyset(ind.date_added, ind.seq))

    def objects_newest_first(
        self, query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> Page[StoredObject]:
        """``newest_first`` as stored objects, their JSON ready to serve (STIX export)."""
        statement = self._newest_first(query, limit=limit, after=after, now=now)
        engine = self.reads.engine(at_least=query.as_of)
        served = binary_rows(statement.with_only_columns(*SERVED_COLUMNS))
        with reading(engine) as connection:
            items = _PageDecoder(engine).stored_objects(connection.execute(served).all())
        return _page(items, limit, key=lambda ind: Keyset(ind.date_added, ind.seq))

    @staticmethod
    def _newest_first(
        query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> Select[Any]:
        where = _latest(query, now)
        if after is not None:
            where.append(v.date_added < to_us(after.at))
        return select(versions).where(*where).order_by(v.date_added.desc()).limit(limit + 1)

    def list_fingerprint(
        self, query: IndicatorQuery, *, limit: int, now: datetime, in_place: bool
    ) -> tuple[str, int, datetime | None]:
        """What a list of at most ``limit`` latest versions, newest first, is made of: a hex
        digest, the row count and the newest ``date_added``. Pin ``query.as_of`` so that
        the stream then reads the same rows.

        Without ``in_place`` (lists that show only what a version never changes: its value,
        type, TLP, STIX id, version) it is one aggregate query, computed by the database:
        the count, the newest ``date_added``, and two sums over the rows' numbers (plain and
        multiplicatively hashed), which tell one set of rows from another. With
        ``in_place`` (lists that show ``last_seen`` or ``source``, which a version changes
        in place) it is SHA-256 over each row's number, ``last_seen`` and ``source``, read in
        batches: memory does not grow with ``limit`` either way.
        """
        rows = _newest_order(
            select(v.seq, v.last_seen, v.source, v.date_added).where(
                *_latest(query, now, walk=True)
            ),
            query,
        ).limit(limit)
        # Not ``reading``: the batches come from a server-side cursor, which lives in a
        # transaction.
        with self.reads.engine(at_least=query.as_of).connect() as connection:
            if not in_place:
                chosen = rows.subquery()
                hashed = (chosen.c.seq * KNUTH) % HASH_MODULUS
                count, newest, total, spread = connection.execute(
                    select(
                        func.count(),
                        func.max(chosen.c.date_added),
                        func.coalesce(func.sum(chosen.c.seq), 0),
                        func.coalesce(func.sum(hashed), 0),
                    )
                ).one()
                digest = hashlib.sha256(f"{count}:{newest}:{total}:{spread}".encode())
            else:
                digest = hashlib.sha256()
                count, newest = 0, None
                result = connection.execution_options(stream_results=True, yield_per=LIST_BATCH)
                for batch in result.execute(rows).partitions():
                    if newest is None and batch:
                        newest = batch[0][3]
                    digest.update(orjson.dumps([tuple(row[:3]) for row in batch]))
                    count += len(batch)
        return digest.hexdigest(), int(count), from_us(newest) if newest is not None else None

    def stream_values(
        self, query: IndicatorQuery, *, limit: int, now: datetime
    ) -> Iterator[ValueRow]:
        """As :meth:`stream_newest_first`, only each version's type and value (what a
        firewall list, a hosts file or a zone shows), without decoding whole versions."""
        for row in self._batches(query, [v.type, v.value, v.date_added], limit, now):
            yield ValueRow(row[0], row[1])

    def stream_newest_first(
        self, query: IndicatorQuery, *, limit: int, now: datetime
    ) -> Iterator[Indicator]:
        """At most ``limit`` latest versions, newest first, read in keyset batches of
        :data:`LIST_BATCH` as of ``query.as_of`` (pin it: batches then see one snapshot),
        decoded as they are sent: memory does not grow with ``limit``."""
        for row in self._batches(query, [*DECODED_COLUMNS], limit, now):
            yield row_to_indicator(row)

    def stream_numbered(
        self, query: IndicatorQuery, *, limit: int, now: datetime
    ) -> Iterator[tuple[Indicator, int, int]]:
        """As :meth:`stream_newest_first`, each version with its indicator's number (the
        row number of its first version, which never changes) and its version number."""
        first = versions.alias("first_version")
        earlier = versions.alias("earlier_version")
        columns: list[Any] = [
            *DECODED_COLUMNS,
            select(func.min(first.c.seq)).where(first.c.stix_id == v.stix_id).scalar_subquery(),
            select(func.count())
            .where(earlier.c.stix_id == v.stix_id, earlier.c.date_added <= v.date_added)
            .scalar_subquery(),
        ]
        width = len(DECODED_COLUMNS)
        for row in self._batches(query, columns, limit, now):
            yield row_to_indicator(row[:width]), int(row[width]), int(row[width + 1])

    def _batches(
        self, query: IndicatorQuery, columns: list[Any], limit: int, now: datetime
    ) -> Iterator[Any]:
        if query.as_of is None:
            query = replace(query, as_of=self.last_added())
        where = _latest(query, now, walk=True)
        remaining = limit
        after: int | None = None
        while remaining > 0:
            bounded = where if after is None else [*where, v.date_added < after]
            batch = min(LIST_BATCH, remaining)
            statement = select(*columns).where(*bounded).order_by(v.date_added.desc()).limit(batch)
            with reading(self.reads.engine(at_least=query.as_of)) as connection:
                rows = connection.execute(statement).all()
            yield from rows
            if len(rows) < batch:
                return
            remaining -= len(rows)
            after = rows[-1].date_added

    def last_added(self) -> datetime:
        """The newest ``date_added`` handed out: the ``as_of`` that pins a walk starting now."""
        with reading(self.engine) as connection:
            return from_us(self._noted(self._last_added(connection)))

    def iter_newest_first(
        self, query: IndicatorQuery, *, now: datetime, batch: int = 1000
    ) -> Iterator[Indicator]:
        """Every match, newest first, fetched in keyset batches (bounded memory)."""
        after: Keyset | None = None
        while True:
            page = self.newest_first(query, limit=batch, after=after, now=now)
            yield from page.items
            if page.next is None:
                return
            after = page.next

    def in_added_order(
        self, query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> tuple[Page[Indicator], datetime]:
        """Versions by ascending ``date_added`` as of ``query.as_of``.

        Returns the page and the ``as_of`` that pins the walk (the newest ``date_added``
        when the query had none), for the ``next`` cursor.
        """
        return self._in_added_order(
            query, limit, after, now, read=(DECODED_COLUMNS, lambda _: _indicators)
        )

    def objects_in_added_order(
        self, query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> tuple[Page[StoredObject], datetime]:
        """``in_added_order`` as stored objects, their JSON ready to serve (TAXII)."""
        return self._in_added_order(
            query,
            limit,
            after,
            now,
            read=(SERVED_COLUMNS, lambda engine: _PageDecoder(engine).stored_objects),
        )

    def versions_in_added_order(
        self, query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> tuple[Page[StoredVersion], datetime]:
        """``in_added_order`` as the versions a manifest lists, without their JSON (TAXII)."""
        return self._in_added_order(
            query, limit, after, now, read=(VERSION_COLUMNS, lambda _: _stored_versions)
        )

    def _in_added_order(
        self,
        query: IndicatorQuery,
        limit: int,
        after: Keyset | None,
        now: datetime,
        *,
        read: tuple[
            Sequence[ColumnElement[Any]],
            Callable[[Engine], Callable[[Sequence[Row[Any]]], list[_Walked]]],
        ],
    ) -> tuple[Page[_Walked], datetime]:
        """``read``: the columns to select, and the reader of a page of their rows on an
        engine."""
        columns, reader = read
        engine = self.reads.engine(at_least=query.as_of)
        read_page = reader(engine)
        with reading(engine) as connection:
            as_of = (
                to_us(query.as_of)
                if query.as_of is not None
                else self._noted(self._last_added(connection))
            )
            where = [v.date_added <= as_of, _versions_as_of(query, as_of), *_filters(query, now)]
            if after is not None:
                where.append(v.date_added > to_us(after.at))
            statement = binary_rows(
                select(*columns).where(*where).order_by(v.date_added).limit(limit + 1)
            )
            items = read_page(connection.execute(statement).all())
        page = _page(items, limit, key=lambda item: Keyset(item.date_added, item.seq))
        return page, from_us(as_of)

    def current(self, ioc_type: IocType, value: str) -> Indicator | None:
        """The latest version of one indicator, revoked or not."""
        statement = select(*DECODED_COLUMNS).where(
            v.superseded_at.is_(None), v.type == ioc_type.value, v.value == value
        )
        items = self._fetch(statement, row_to_indicator)
        return items[0] if items else None

    def by_stix_id(self, stix_id: str) -> Indicator | None:
        """The latest version of the indicator a STIX id names, revoked or not.

        A STIX id belongs to one ``(type, value)`` for ever (a revoked value loaded again
        starts over with a new id), so this is at most one row.
        """
        statement = select(*DECODED_COLUMNS).where(v.superseded_at.is_(None), v.stix_id == stix_id)
        items = self._fetch(statement.limit(1), row_to_indicator)
        return items[0] if items else None

    def counts_by_type(self) -> dict[IocType, int]:
        """How many indicators of each type are stored (latest versions, revoked included)."""
        statement = select(v.type, func.count()).where(v.superseded_at.is_(None)).group_by(v.type)
        with reading(self.engine) as connection:
            found = {IocType(t): n for t, n in connection.execute(statement)}
        return {t: found.get(t, 0) for t in IocType}

    def enabled_sources(self) -> list[tuple[str, str]]:
        """The name and kind of every enabled source, by name (the per-source collections)."""
        statement = (
            select(sources.c.name, sources.c.kind)
            .where(sources.c.enabled.is_(True))
            .order_by(sources.c.name)
        )
        with reading(self.engine) as connection:
            return [(row.name, row.kind) for row in connection.execute(statement)]

    @property
    def engine(self) -> Engine:
        """The engine of the next read (``store.replicas``)."""
        return self.reads.engine()

    def _fetch(
        self,
        statement: Select[Any],
        read: Callable[[Row[Any]], T],
        at_least: datetime | None = None,
    ) -> list[T]:
        """``read`` of each row of ``statement``, on the next read's engine, no older than
        ``at_least``."""
        with reading(self.reads.engine(at_least=at_least)) as connection:
            return [read(row) for row in connection.execute(statement).all()]

    def _noted(self, clock: int) -> int:
        self.reads.note_clock(clock)
        return clock

    @staticmethod
    def _last_added(connection: Connection) -> int:
        return int(
            connection.execute(
                select(write_clock.c.last_date_added).where(write_clock.c.id == 1)
            ).scalar_one()
        )


def _newest_order(statement: Select[Any], query: IndicatorQuery) -> Select[Any]:
    """Newest first, for list reads. With several types SQLite reads each type's range of
    the ``(type, date_added)`` index and sorts every match for each batch; walking the
    ``date_added`` index instead needs no sort, and each keyset batch starts where the last
    one ended: :func:`_latest` with ``walk`` writes such a type test as ``type || ''``, which no
    index can serve, so SQLite walks ``date_added``."""
    return statement.order_by(v.date_added.desc())


def _latest(
    query: IndicatorQuery, now: datetime, *, walk: bool = False
) -> list[ColumnElement[bool]]:
    """Latest versions matching ``query`` (as they stood at ``query.as_of``, if set);
    ``walk``: a list read that walks the ``date_added`` index (see :func:`_newest_order`)."""
    if query.as_of is None:
        where: list[ColumnElement[bool]] = [v.superseded_at.is_(None)]
    else:
        as_of = to_us(query.as_of)
        where = [v.date_added <= as_of, _versions_as_of(replace(query, versions=LATEST), as_of)]
    return where + _filters(query, now, walk=walk)


def _indicators(rows: Sequence[Row[Any]]) -> list[Indicator]:
    """Rows of ``DECODED_COLUMNS``, decoded."""
    return [row_to_indicator(row) for row in rows]


def _stored_versions(rows: Sequence[Sequence[Any]]) -> list[StoredVersion]:
    """Rows of ``VERSION_COLUMNS``, in one pass (as ``_PageDecoder.stored_objects``)."""
    make = StoredVersion._make
    return [
        make((seq, stix_id, _CONFIDENCES[confidence], _TLPS[tlp], modified, date_added))
        for seq, stix_id, confidence, tlp, modified, date_added in rows
    ]


def _page(items: list[T], limit: int, key: Callable[[T], Keyset]) -> Page[T]:
    if len(items) > limit:
        items = items[:limit]
        return Page(items, key(items[-1]))
    return Page(items, None)
