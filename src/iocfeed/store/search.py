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

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

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

from iocfeed.indicators.model import Indicator, IocType
from iocfeed.indicators.query import (
    LATEST,
    IndicatorQuery,
    Keyset,
    Page,
    Status,
    VersionSelector,
)
from iocfeed.memo import Memo
from iocfeed.store.rows import from_us, row_to_indicator, to_us
from iocfeed.store.schema import indicator_sources, sources, write_clock
from iocfeed.store.schema import indicator_versions as versions

v = versions.c

# Decoded rows kept per store (a few pages): feeds read the same newest versions on every
# poll, and decoding a row costs more than the SQL that fetched it.
DECODED_ROWS = 5000


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


def _filters(query: IndicatorQuery, now: datetime) -> list[ColumnElement[bool]]:
    """The conditions every walk shares (everything but version selection and keyset)."""
    where: list[ColumnElement[bool]] = []
    if query.types:
        where.append(v.type.in_(sorted(t.value for t in query.types)))
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

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._decoded_rows: Memo[Indicator] = Memo(capacity=DECODED_ROWS)

    def _decoded(self, row: Row[Any]) -> Indicator:
        """A row's version; a row changes only in ``last_seen`` and ``source``, so with its
        row number and STIX id they name what it decodes to."""
        key = (row.seq, row.stix_id, row.last_seen, row.source)
        found = self._decoded_rows.get(key)
        return found if found is not None else self._decoded_rows.put(key, row_to_indicator(row))

    def newest_first(
        self, query: IndicatorQuery, *, limit: int, after: Keyset | None, now: datetime
    ) -> Page:
        """Latest versions, newest ``modified`` first (REST search, STIX export).

        With ``query.as_of`` the walk sees the latest versions as they stood then.
        """
        if query.as_of is None:
            where: list[ColumnElement[bool]] = [v.superseded_at.is_(None)]
        else:
            as_of = to_us(query.as_of)
            where = [v.date_added <= as_of, _versions_as_of(replace(query, versions=LATEST), as_of)]
        where += _filters(query, now)
        if after is not None:
            where.append(v.date_added < to_us(after.at))
        statement = select(versions).where(*where).order_by(v.date_added.desc())
        items = self._fetch(statement.limit(limit + 1))
        return _page(items, limit, key=lambda ind: Keyset(ind.date_added, ind.seq))

    def last_added(self) -> datetime:
        """The newest ``date_added`` handed out: the ``as_of`` that pins a walk starting now."""
        with self.engine.connect() as connection:
            return from_us(self._last_added(connection))

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
    ) -> tuple[Page, datetime]:
        """Versions by ascending ``date_added`` as of ``query.as_of`` (TAXII objects/manifest).

        Returns the page and the ``as_of`` that pins the walk (the newest ``date_added``
        when the query had none), for the ``next`` cursor.
        """
        with self.engine.connect() as connection:
            as_of = to_us(query.as_of) if query.as_of is not None else self._last_added(connection)
            where = [v.date_added <= as_of, _versions_as_of(query, as_of), *_filters(query, now)]
            if after is not None:
                where.append(v.date_added > to_us(after.at))
            statement = select(versions).where(*where).order_by(v.date_added).limit(limit + 1)
            items = [self._decoded(row) for row in connection.execute(statement)]
        page = _page(items, limit, key=lambda ind: Keyset(ind.date_added, ind.seq))
        return page, from_us(as_of)

    def current(self, ioc_type: IocType, value: str) -> Indicator | None:
        """The latest version of one indicator, revoked or not."""
        statement = select(versions).where(
            v.superseded_at.is_(None), v.type == ioc_type.value, v.value == value
        )
        items = self._fetch(statement)
        return items[0] if items else None

    def by_stix_id(self, stix_id: str) -> Indicator | None:
        """The latest version of the indicator a STIX id names, revoked or not.

        A STIX id belongs to one ``(type, value)`` for ever (a revoked value loaded again
        starts over with a new id), so this is at most one row.
        """
        statement = select(versions).where(v.superseded_at.is_(None), v.stix_id == stix_id)
        items = self._fetch(statement.limit(1))
        return items[0] if items else None

    def counts_by_type(self) -> dict[IocType, int]:
        """How many indicators of each type are stored (latest versions, revoked included)."""
        statement = select(v.type, func.count()).where(v.superseded_at.is_(None)).group_by(v.type)
        with self.engine.connect() as connection:
            found = {IocType(t): n for t, n in connection.execute(statement)}
        return {t: found.get(t, 0) for t in IocType}

    def enabled_sources(self) -> list[tuple[str, str]]:
        """The name and kind of every enabled source, by name (the per-source collections)."""
        statement = (
            select(sources.c.name, sources.c.kind)
            .where(sources.c.enabled.is_(True))
            .order_by(sources.c.name)
        )
        with self.engine.connect() as connection:
            return [(row.name, row.kind) for row in connection.execute(statement)]

    def _fetch(self, statement: Select[Any]) -> list[Indicator]:
        with self.engine.connect() as connection:
            return [self._decoded(row) for row in connection.execute(statement)]

    @staticmethod
    def _last_added(connection: Connection) -> int:
        return int(
            connection.execute(
                select(write_clock.c.last_date_added).where(write_clock.c.id == 1)
            ).scalar_one()
        )


def _page(items: list[Indicator], limit: int, key: Any) -> Page:
    if len(items) > limit:
        items = items[:limit]
        return Page(items, key(items[-1]))
    return Page(items, None)
