"""Writers' shadows in the store: withheld loads merge into the writer's own shadow, in one
batch and across batches, and nothing real changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from iocfeed.indicators.merge import Outcome, Writer
from iocfeed.indicators.model import IocType, Tlp
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.schema import indicator_shadows, indicator_versions
from iocfeed.store.search import IndicatorSearch
from tests.factories import T0, ioc

WRITER = Writer("k1", Tlp.AMBER_STRICT)
LATER = T0 + timedelta(minutes=1)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(indicator_versions)).scalar_one(),
            connection.execute(select(func.count()).select_from(indicator_shadows)).scalar_one(),
        )


def test_withheld_loads_merge_into_the_writers_shadow(
    store: IndicatorStore, search: IndicatorSearch, engine: Engine
) -> None:
    store.write([ioc(tlp=Tlp.RED, tags=("apt",))], T0)
    real = search.current(IocType.DOMAIN, "evil.example")
    batch = [ioc(tlp=Tlp.CLEAR), ioc(tlp=Tlp.CLEAR), ioc(tlp=Tlp.CLEAR, tags=("x",))]
    loaded = store.load(batch, LATER, writer=WRITER)
    assert loaded.outcomes == [Outcome.WITHHELD] * 3
    assert [loaded.answered(n) for n in range(3)] == [
        Outcome.ADDED,
        Outcome.UNCHANGED,
        Outcome.UPDATED,
    ]
    shadow_id = loaded.withheld[0].indicator.stix_id
    assert real is not None and shadow_id != real.stix_id
    again = store.load([ioc(tlp=Tlp.CLEAR, tags=("x",))], LATER, writer=WRITER)
    assert again.answered(0) is Outcome.UNCHANGED
    assert again.withheld[0].indicator.stix_id == shadow_id
    assert search.current(IocType.DOMAIN, "evil.example") == real
    assert counts(engine) == (1, 1)
    other = store.load([ioc(tlp=Tlp.CLEAR)], LATER, writer=Writer("k2", Tlp.AMBER_STRICT))
    assert other.answered(0) is Outcome.ADDED
    assert counts(engine) == (1, 2)


def test_a_first_withheld_load_takes_the_preferred_id(store: IndicatorStore) -> None:
    store.write([ioc(tlp=Tlp.RED)], T0)
    posted = "indicator--21111111-2222-4333-8444-000000000001"
    preferred = {(IocType.DOMAIN, "evil.example"): posted}
    loaded = store.load([ioc()], LATER, writer=WRITER, preferred_ids=preferred)
    assert loaded.withheld[0].indicator.stix_id == posted
    other = {(IocType.DOMAIN, "evil.example"): posted.replace("0001", "0002")}
    repeat = store.load([ioc()], LATER, writer=WRITER, preferred_ids=other)
    assert repeat.withheld[0].indicator.stix_id == posted


def test_operators_and_loads_within_the_ceiling_keep_no_shadow(
    store: IndicatorStore, engine: Engine
) -> None:
    store.write([ioc(tlp=Tlp.AMBER)], T0)
    loaded = store.load([ioc(tlp=Tlp.CLEAR), ioc("ipv4", "198.51.100.7")], LATER, writer=WRITER)
    assert loaded.outcomes == [Outcome.UPDATED, Outcome.ADDED] and not loaded.withheld
    assert store.write([ioc(tlp=Tlp.RED)], LATER) == [Outcome.UPDATED]
    assert counts(engine) == (4, 0)
