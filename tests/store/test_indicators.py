"""Writing indicators on SQLite and PostgreSQL: merge, versions, revocation, expiry."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from iocfeed.errors import NotFound
from iocfeed.indicators.merge import Outcome, Writer
from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.indicators.query import IndicatorQuery, VersionMatch, VersionSelector
from iocfeed.store.engine import is_postgresql
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.schema import indicator_versions
from iocfeed.store.search import IndicatorSearch
from tests.factories import T0, ioc

ALL_VERSIONS = IndicatorQuery(versions=VersionMatch(frozenset({VersionSelector.ALL})))


def all_versions(search: IndicatorSearch) -> list:  # type: ignore[type-arg]
    page, _ = search.in_added_order(ALL_VERSIONS, limit=10_000, after=None, now=T0)
    return page.items


def test_load_merges_and_versions(store: IndicatorStore, search: IndicatorSearch) -> None:
    outcomes = store.write([ioc(tags=("a",)), ioc("ipv4", "198.51.100.7")], T0)
    assert outcomes == [Outcome.ADDED, Outcome.ADDED]
    first = search.current(IocType.DOMAIN, "evil.example")
    assert first is not None

    later = T0 + timedelta(minutes=1)
    assert store.write([ioc(tags=("b",), confidence=Confidence.HIGH)], later) == [Outcome.UPDATED]
    second = search.current(IocType.DOMAIN, "evil.example")
    assert second is not None
    assert second.stix_id == first.stix_id
    assert second.tags == ("a", "b")
    assert second.modified > first.modified
    assert second.date_added > first.date_added

    versions = [v for v in all_versions(search) if v.stix_id == first.stix_id]
    assert [v.tags for v in versions] == [("a",), ("a", "b")]


def test_same_import_twice_changes_nothing(store: IndicatorStore, engine) -> None:  # type: ignore[no-untyped-def]
    batch = [ioc(tags=("x",)), ioc("sha256", "a" * 64), ioc("cve", "CVE-2021-44228")]
    store.write(batch, T0)
    with engine.connect() as connection:
        before = connection.execute(select(indicator_versions)).all()
    assert store.write(batch, T0 + timedelta(hours=1)) == [Outcome.UNCHANGED] * 3
    with engine.connect() as connection:
        after = connection.execute(select(indicator_versions)).all()
    assert before == after


def test_repeated_value_in_one_batch_merges_in_order(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    outcomes = store.write([ioc(tags=("a",)), ioc(tags=("b",)), ioc(tags=("a",))], T0)
    assert outcomes == [Outcome.ADDED, Outcome.UPDATED, Outcome.UNCHANGED]
    current = search.current(IocType.DOMAIN, "evil.example")
    assert current is not None and current.tags == ("a", "b")
    assert len(all_versions(search)) == 2


def test_date_added_strictly_increases_across_batches(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    for n in range(3):
        store.write([ioc("ipv4", f"198.51.100.{n * 10 + i}") for i in range(10)], T0)
    stamps = [v.date_added for v in all_versions(search)]
    assert len(stamps) == 30
    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_in_place_fields_update_without_new_version(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    store.write([ioc(last_seen=T0)], T0)
    seen = T0 + timedelta(days=1)
    assert store.write([ioc(last_seen=seen, source="honeypot")], T0) == [Outcome.UNCHANGED]
    current = search.current(IocType.DOMAIN, "evil.example")
    assert current is not None
    assert (current.last_seen, current.source) == (seen, "honeypot")
    assert len(all_versions(search)) == 1


def test_revoke_publishes_a_revoked_version(store: IndicatorStore, search: IndicatorSearch) -> None:
    store.write([ioc()], T0)
    revoked = store.revoke(IocType.DOMAIN, "evil.example", T0 + timedelta(hours=1))
    assert revoked.revoked
    assert store.revoke(IocType.DOMAIN, "evil.example", T0 + timedelta(hours=2)) == revoked
    versions = all_versions(search)
    assert [v.revoked for v in versions] == [False, True]
    assert versions[0].stix_id == versions[1].stix_id
    with pytest.raises(NotFound):
        store.revoke(IocType.DOMAIN, "unknown.example", T0)


def test_reloading_a_revoked_indicator_starts_a_new_object(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    store.write([ioc()], T0)
    old = store.revoke(IocType.DOMAIN, "evil.example", T0)
    assert store.write([ioc()], T0 + timedelta(days=1)) == [Outcome.ADDED]
    new = search.current(IocType.DOMAIN, "evil.example")
    assert new is not None and not new.revoked and new.stix_id != old.stix_id
    assert [v.revoked for v in all_versions(search) if v.stix_id == old.stix_id] == [False, True]


def test_expire_due_revokes_only_past_valid_until(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    store.write(
        [
            ioc("domain", "old.example", valid_until=T0 + timedelta(days=1)),
            ioc("domain", "fresh.example", valid_until=T0 + timedelta(days=30)),
            ioc("domain", "forever.example"),
        ],
        T0,
    )
    assert store.expire_due(T0 + timedelta(days=2), batch_size=1) == 1
    assert store.expire_due(T0 + timedelta(days=2)) == 0
    states = {
        value: search.current(IocType.DOMAIN, value)
        for value in ("old.example", "fresh.example", "forever.example")
    }
    assert {value: ind.revoked for value, ind in states.items() if ind} == {
        "old.example": True,
        "fresh.example": False,
        "forever.example": False,
    }


def test_modified_is_date_added_at_millisecond_precision(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    """The invariant that lets one date_added index order exports by modified."""
    for n in range(5):
        store.write([ioc(tags=(f"t{n}",)), ioc("ipv4", f"198.51.100.{n}")], T0)
    store.revoke(IocType.DOMAIN, "evil.example", T0)
    versions = all_versions(search)
    assert len(versions) == 11
    for version in versions:
        assert version.modified == version.date_added.replace(
            microsecond=version.date_added.microsecond // 1000 * 1000
        )
    domain = [v.modified for v in versions if v.type is IocType.DOMAIN]
    assert all(a < b for a, b in itertools.pairwise(domain))


def test_preferred_ids_name_new_indicators_only(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    store.write([ioc("domain", "known.example")], T0)
    known = search.current(IocType.DOMAIN, "known.example")
    assert known is not None
    posted = "indicator--1f6a3f7e-33c5-4b4e-9a8e-2b3c4d5e6f70"
    other = "indicator--2f6a3f7e-33c5-4b4e-9a8e-2b3c4d5e6f71"
    store.write(
        [ioc("domain", "new.example"), ioc("domain", "known.example", tags=("x",))],
        T0,
        preferred_ids={
            (IocType.DOMAIN, "new.example"): posted,
            (IocType.DOMAIN, "known.example"): other,
        },
    )
    new = search.current(IocType.DOMAIN, "new.example")
    updated = search.current(IocType.DOMAIN, "known.example")
    assert new is not None and new.stix_id == posted
    assert updated is not None and updated.stix_id == known.stix_id


def test_refresh_statistics_shows_postgresql_the_loaded_table(
    store: IndicatorStore, engine: Engine
) -> None:
    store.write([ioc("ipv4", f"198.51.100.{n}") for n in range(200)], T0)
    store.refresh_statistics()
    if is_postgresql(engine):
        with engine.connect() as connection:
            estimated = connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = 'indicator_versions'::regclass"
            ).scalar_one()
        assert estimated == 200


def test_writes_above_the_ceiling_are_withheld_and_store_nothing(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    store.write([ioc(tlp=Tlp.RED, tags=("apt",))], T0)
    before = all_versions(search)
    later = T0 + timedelta(minutes=1)
    batch = [ioc(tlp=Tlp.CLEAR), ioc(revoked=True), ioc(tags=("x",), last_seen=later)]
    writer = Writer("k1", Tlp.AMBER)
    loaded = store.load([*batch, ioc("ipv4", "198.51.100.7")], later, writer=writer)
    assert loaded.outcomes == [Outcome.WITHHELD] * 3 + [Outcome.ADDED]
    assert [v for v in all_versions(search) if v.type is IocType.DOMAIN] == before
    assert store.write([ioc(tlp=Tlp.CLEAR)], later) == [Outcome.UPDATED]  # an operator may
