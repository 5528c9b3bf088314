"""Each version's access rank follows its indicator's current TLP, on SQLite and PostgreSQL.

A version is served to a key only when both its own TLP and its indicator's current TLP are
within the key's highest TLP (SPEC §4): raising an indicator withdraws its earlier versions,
lowering it does not publish what an earlier, higher version said.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.indicators.query import IndicatorQuery, VersionMatch, VersionSelector
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.schema import indicator_versions
from iocfeed.store.search import IndicatorSearch
from tests.factories import T0, ioc

v = indicator_versions.c


def ranks(engine: Engine, value: str) -> list[tuple[int, int]]:
    """(own rank, access rank) of each version of ``value``, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(v.tlp_rank, v.access_rank).where(v.value == value).order_by(v.date_added)
        )
        return [(own, access) for own, access in rows]


def served(search: IndicatorSearch, max_tlp: Tlp, keyword: VersionSelector) -> list[Tlp]:
    query = IndicatorQuery(max_tlp=max_tlp, versions=VersionMatch(keywords=frozenset({keyword})))
    page, _ = search.in_added_order(query, limit=100, after=None, now=T0)
    return [item.effective_tlp for item in page.items]


def test_raising_withdraws_earlier_versions_and_lowering_keeps_them_hidden(
    store: IndicatorStore, search: IndicatorSearch, engine: Engine
) -> None:
    store.write([ioc(value="moved.example", tlp=Tlp.GREEN)], T0)
    store.write([ioc(value="moved.example", tlp=Tlp.RED)], T0 + timedelta(minutes=1))
    assert ranks(engine, "moved.example") == [(1, 4), (4, 4)]
    assert served(search, Tlp.AMBER, VersionSelector.ALL) == []
    assert served(search, Tlp.AMBER, VersionSelector.FIRST) == []
    store.write([ioc(value="moved.example", tlp=Tlp.GREEN)], T0 + timedelta(minutes=2))
    assert ranks(engine, "moved.example") == [(1, 1), (4, 4), (1, 1)]
    assert served(search, Tlp.AMBER, VersionSelector.ALL) == [Tlp.GREEN, Tlp.GREEN]
    assert served(search, Tlp.RED, VersionSelector.ALL) == [Tlp.GREEN, Tlp.RED, Tlp.GREEN]


def test_a_batch_that_changes_an_indicator_twice_ranks_by_its_last_version(
    store: IndicatorStore, engine: Engine
) -> None:
    store.write([ioc(value="b.example", confidence=Confidence.LOW)], T0)  # clear
    store.write(
        [
            ioc(value="b.example", tlp=Tlp.AMBER_STRICT),
            ioc(value="b.example", tlp=Tlp.AMBER_STRICT, description="again"),
            ioc(value="b.example", tlp=Tlp.AMBER),
        ],
        T0 + timedelta(minutes=1),
    )
    assert ranks(engine, "b.example") == [(0, 2), (3, 3), (3, 3), (2, 2)]


def test_revocation_keeps_the_rank_and_a_reloaded_value_ranks_the_old_object(
    store: IndicatorStore, engine: Engine
) -> None:
    store.write([ioc(value="r.example", tlp=Tlp.GREEN)], T0)
    store.revoke(IocType.DOMAIN, "r.example", T0 + timedelta(minutes=1))
    assert ranks(engine, "r.example") == [(1, 1), (1, 1)]
    # Loaded again as live, the value starts a new object; the revoked one follows its TLP.
    store.write([ioc(value="r.example", tlp=Tlp.RED)], T0 + timedelta(minutes=2))
    assert ranks(engine, "r.example") == [(1, 4), (1, 4), (4, 4)]


def test_unchanged_tlp_touches_no_earlier_version(store: IndicatorStore, engine: Engine) -> None:
    store.write([ioc(value="same.example", tlp=Tlp.AMBER)], T0)
    store.write([ioc(value="same.example", tlp=Tlp.AMBER, description="x")], T0 + timedelta(1))
    assert ranks(engine, "same.example") == [(2, 2), (2, 2)]
