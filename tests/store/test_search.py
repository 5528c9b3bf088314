"""Reading indicators on SQLite and PostgreSQL: filters, keyset walks, snapshot consistency."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select

from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.indicators.query import (
    IndicatorQuery,
    Keyset,
    Status,
    VersionMatch,
    VersionSelector,
)
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.engine import is_postgresql
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.keys import KeyStore
from iocfeed.store.rows import to_us
from iocfeed.store.schema import indicator_versions
from iocfeed.store.search import SERVED_COLUMNS, IndicatorSearch
from tests.factories import T0, ioc


def load_sample(store: IndicatorStore) -> None:
    store.write(
        [
            ioc("ipv4", "198.51.100.1", confidence=Confidence.HIGH, tags=("emotet",)),
            ioc("ipv4", "198.51.100.2", confidence=Confidence.LOW, source="osint"),
            ioc("domain", "c2.example", techniques=("T1071.001",), description="Beacon host"),
            ioc("domain", "red.example", tlp=Tlp.RED),
            ioc("url", "http://c2.example/x", valid_until=T0 + timedelta(days=1)),
        ],
        T0,
    )


def walk_newest(search: IndicatorSearch, query: IndicatorQuery, limit: int) -> list[Indicator]:
    items: list[Indicator] = []
    after: Keyset | None = None
    while True:
        page = search.newest_first(query, limit=limit, after=after, now=T0)
        items += page.items
        if page.next is None:
            return items
        after = page.next


def values(items: list[Indicator]) -> set[str]:
    return {item.value for item in items}


def test_filters(store: IndicatorStore, search: IndicatorSearch) -> None:
    load_sample(store)
    cases: list[tuple[IndicatorQuery, set[str]]] = [
        (IndicatorQuery(types=frozenset({IocType.IPV4})), {"198.51.100.1", "198.51.100.2"}),
        (IndicatorQuery(tag="emotet"), {"198.51.100.1"}),
        (IndicatorQuery(technique="T1071.001"), {"c2.example"}),
        (IndicatorQuery(confidences=frozenset({Confidence.LOW})), {"198.51.100.2"}),
        (IndicatorQuery(sources=frozenset({"osint"})), {"198.51.100.2"}),
        (IndicatorQuery(text="beacon"), {"c2.example"}),
        (IndicatorQuery(text="c2.ex"), {"c2.example", "http://c2.example/x"}),
        (IndicatorQuery(max_tlp=Tlp.GREEN), {"198.51.100.1", "198.51.100.2"}),
        (
            IndicatorQuery(max_tlp=Tlp.AMBER_STRICT),
            {"198.51.100.1", "198.51.100.2", "c2.example", "http://c2.example/x"},
        ),
        (IndicatorQuery(modified_since=T0 + timedelta(seconds=1)), set()),
    ]
    for query, expected in cases:
        assert values(walk_newest(search, query, 2)) == expected, query


def test_status_filter(store: IndicatorStore, search: IndicatorSearch) -> None:
    load_sample(store)
    store.revoke(IocType.DOMAIN, "c2.example", T0)
    later = T0 + timedelta(days=2)

    def with_status(status: Status) -> set[str]:
        return values(
            search.newest_first(
                IndicatorQuery(status=status), limit=50, after=None, now=later
            ).items
        )

    assert with_status(Status.EXPIRED) == {"http://c2.example/x"}
    assert with_status(Status.REVOKED) == {"c2.example"}
    assert with_status(Status.ACTIVE) == {"198.51.100.1", "198.51.100.2", "red.example"}


def test_newest_first_orders_by_modified_and_pages_exactly_once(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    for minute in range(7):
        store.write(
            [ioc("ipv4", f"198.51.100.{minute * 10 + i}") for i in range(3)],
            T0 + timedelta(minutes=minute),
        )
    items = walk_newest(search, IndicatorQuery(), limit=4)
    assert len(items) == 21 == len({i.stix_id for i in items})
    assert [i.modified for i in items] == sorted((i.modified for i in items), reverse=True)


def added_walk(
    search: IndicatorSearch,
    query: IndicatorQuery,
    limit: int,
    between_pages: list[object] | None = None,
) -> list[Indicator]:
    from dataclasses import replace

    items: list[Indicator] = []
    page, as_of = search.in_added_order(query, limit=limit, after=None, now=T0)
    while True:
        items += page.items
        if page.next is None:
            return items
        if between_pages:
            action = between_pages.pop(0)
            assert callable(action)
            action()
        page, as_of = search.in_added_order(
            replace(query, as_of=as_of), limit=limit, after=page.next, now=T0
        )


def test_version_selection(store: IndicatorStore, search: IndicatorSearch) -> None:
    store.write([ioc(tags=("a",)), ioc("ipv4", "198.51.100.9")], T0)
    store.write([ioc(tags=("b",))], T0 + timedelta(minutes=1))
    store.write([ioc(tags=("c",))], T0 + timedelta(minutes=2))

    def tags_for(*keywords: VersionSelector, stamps: frozenset = frozenset()) -> list:  # type: ignore[type-arg]
        match = VersionMatch(frozenset(keywords), stamps)
        query = IndicatorQuery(types=frozenset({IocType.DOMAIN}), versions=match)
        return [i.tags for i in added_walk(search, query, 2)]

    assert tags_for(VersionSelector.LAST) == [("a", "b", "c")]
    assert tags_for(VersionSelector.FIRST) == [("a",)]
    assert tags_for(VersionSelector.ALL) == [("a",), ("a", "b"), ("a", "b", "c")]
    assert tags_for(VersionSelector.FIRST, VersionSelector.LAST) == [("a",), ("a", "b", "c")]
    middle = frozenset({T0 + timedelta(minutes=1)})
    assert tags_for(stamps=middle) == [("a", "b")]


def test_added_after_is_strict(store: IndicatorStore, search: IndicatorSearch) -> None:
    load_sample(store)
    everything = added_walk(search, IndicatorQuery(), 100)
    cut = everything[1].date_added
    rest = added_walk(search, IndicatorQuery(added_after=cut), 100)
    assert [i.stix_id for i in rest] == [i.stix_id for i in everything[2:]]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    page_size=st.integers(1, 7),
    writes=st.lists(
        st.lists(
            st.tuples(st.integers(0, 29), st.sampled_from(["add", "change", "revoke"])), max_size=4
        ),
        max_size=6,
    ),
)
def test_walk_during_writes_never_skips_or_repeats(
    sqlite_engine: Engine, page_size: int, writes: list[list[tuple[int, str]]]
) -> None:
    """Every object present when a walk starts is served exactly once, whatever is written."""
    from sqlalchemy import text

    with sqlite_engine.begin() as connection:
        connection.execute(text("DELETE FROM indicator_versions"))
    store = IndicatorStore(sqlite_engine, new_stix_id)
    search = IndicatorSearch(sqlite_engine)
    store.write([ioc("ipv4", f"198.51.100.{n}") for n in range(20)], T0)
    at_start = {i.stix_id for i in added_walk(search, IndicatorQuery(), 1000)}

    def action(batch: list[tuple[int, str]]) -> object:
        def run() -> None:
            for n, kind in batch:
                value = f"198.51.100.{n}"
                if kind == "add" or n >= 20:
                    store.write([ioc("ipv4", value, tags=("new",))], T0)
                elif kind == "change":
                    store.write([ioc("ipv4", value, tags=(f"t{len(batch)}",))], T0)
                else:
                    store.revoke(IocType.IPV4, value, T0)

        return run

    served = added_walk(search, IndicatorQuery(), page_size, [action(b) for b in writes])
    ids = [i.stix_id for i in served]
    assert len(ids) == len(set(ids)), "an object was served twice"
    assert set(ids) == at_start, "an object present at the start was skipped"


def test_repeated_reads_see_in_place_changes(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    """Decoded rows are reused across reads; a change to last_seen must still show."""
    store.write([ioc(last_seen=T0)], T0)
    first = search.newest_first(IndicatorQuery(), limit=5, after=None, now=T0).items[0]
    store.write([ioc(last_seen=T0 + timedelta(days=3), source="honeypot")], T0)
    again = search.newest_first(IndicatorQuery(), limit=5, after=None, now=T0).items[0]
    assert (first.last_seen, first.source) == (T0, "")
    assert (again.last_seen, again.source) == (T0 + timedelta(days=3), "honeypot")


def test_served_objects_decode_their_page_once(
    store: IndicatorStore, search: IndicatorSearch, engine: Engine
) -> None:
    """A page of stored objects reads only what serving needs; asking one of them for its
    whole version reads the page's versions with one query, once, so ``last_seen`` (which a
    repeated report moves in place) stays what the page's first decoding read: an export's
    ETag and its objects are made from the same decoded versions."""
    seen = T0 - timedelta(days=2)
    store.write([ioc(value=f"d{n}.example", last_seen=seen) for n in range(30)], T0)
    page = search.objects_newest_first(IndicatorQuery(), limit=50, after=None, now=T0)
    store.write([ioc(value="d7.example", last_seen=T0)], T0 + timedelta(minutes=1))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    decoded = [item.decode() for item in page.items]
    assert len([s for s in statements if "indicator_versions" in s]) == 1
    assert [i.value for i in decoded] == [f"d{n}.example" for n in reversed(range(30))]
    assert decoded[22].last_seen == T0  # moved before the page was decoded
    assert {i.last_seen for i in decoded[:22] + decoded[23:]} == {seen}
    store.write([ioc(value="d8.example", last_seen=T0)], T0 + timedelta(minutes=2))
    statements.clear()
    assert [item.decode() for item in page.items] == decoded
    assert decoded[21].last_seen == seen
    assert not [s for s in statements if "indicator_versions" in s]


def test_served_pages_are_read_in_binary_on_postgresql_as_the_same_values(
    store: IndicatorStore, search: IndicatorSearch, engine: Engine
) -> None:
    """Pages of stored objects (TAXII, exports) come from PostgreSQL in its binary format,
    the stored JSON as raw bytes rather than hexadecimal, and hold what a plain read of the
    same rows gives; SQLite has one format."""
    load_sample(store)
    formats: list[int] = []

    def result_format(_connection: object, cursor: object, *_: object) -> None:
        pgresult = getattr(cursor, "pgresult", None)
        if pgresult is not None and pgresult.nfields:
            formats.append(pgresult.fformat(pgresult.nfields - 1))

    event.listen(engine, "after_cursor_execute", result_format)
    added, _ = search.objects_in_added_order(IndicatorQuery(), limit=10, after=None, now=T0)
    newest = search.objects_newest_first(IndicatorQuery(), limit=10, after=None, now=T0)
    with engine.connect() as connection:
        plain = connection.execute(
            select(*SERVED_COLUMNS).order_by(indicator_versions.c.date_added)
        ).all()
    served = [
        (
            o.seq,
            o.type.value,
            o.confidence.value,
            o.tlp and o.tlp.value,
            to_us(o.date_added),
            o.json,
        )
        for o in added.items
    ]
    assert served == [tuple(row) for row in plain]
    assert [o.json for o in newest.items] == [row[-1] for row in reversed(plain)]
    assert all(type(o.json) is bytes for o in added.items)
    if is_postgresql(engine):
        assert formats[-1] == 0  # the plain read: text
        assert set(formats[:-1]) == {0, 1}  # the pages' rows: binary; the write clock: text


def test_reads_run_without_a_transaction_on_postgresql_and_writes_still_in_one(
    store: IndicatorStore, search: IndicatorSearch, engine: Engine
) -> None:
    """A read-only transaction on PostgreSQL would cost a BEGIN and a ROLLBACK (two round
    trips) and give no snapshot that READ COMMITTED does not: a page's reads, and the key
    lookup of every request, run without one. The connection goes back to the pool with
    transactions on, so the writes that get it next are still atomic."""
    load_sample(store)
    keys = KeyStore(engine)
    key, _ = keys.create(name="reader", plan="pro", now=T0)
    autocommit: dict[str, bool] = {}

    def seen(_connection: object, cursor: object, statement: str, *_: object) -> None:
        dbapi = getattr(cursor, "connection", None)
        if is_postgresql(engine) and dbapi is not None:
            autocommit[statement.split()[0]] = dbapi.autocommit

    event.listen(engine, "before_cursor_execute", seen)
    search.objects_in_added_order(IndicatorQuery(), limit=10, after=None, now=T0)
    assert keys.find_with_account(key.key_id) is not None
    reads = dict(autocommit)
    autocommit.clear()
    store.write([ioc(value="later.example")], T0 + timedelta(minutes=1))
    if is_postgresql(engine):
        assert reads == {"SELECT": True}
        assert autocommit and not any(autocommit.values())
