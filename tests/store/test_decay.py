"""The decay sweep on both databases: lower scores, revocations, bounded keyset batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from iocfeed.config import Settings
from iocfeed.indicators.merge import new_indicator
from iocfeed.indicators.model import Confidence, IocType
from iocfeed.services import decay_policy
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.engine import open_engine
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.migrate import upgrade
from iocfeed.store.rows import indicator_to_row, to_us
from iocfeed.store.schema import indicator_versions
from iocfeed.store.search import IndicatorSearch
from tests.conftest import postgres_url, sqlite_url
from tests.factories import T0, ioc
from tests.store.conftest import insert_old_versions

DAY = timedelta(days=1)


def decaying(engine: Engine) -> IndicatorStore:
    return IndicatorStore(engine, new_stix_id, decay_policy(Settings()))


def version_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(indicator_versions)).scalar_one()
        )


def test_an_ip_reported_60_days_ago_is_revoked_and_one_re_sighted_today_is_not(
    engine: Engine,
) -> None:
    store, search = decaying(engine), IndicatorSearch(engine)
    reported = T0 - 60 * DAY
    old, resighted = (
        ioc(IocType.IPV4, value, confidence=Confidence.HIGH)
        for value in ("203.0.113.1", "203.0.113.2")
    )
    store.write([old, resighted], reported)
    store.write([resighted], T0)  # reported again today: a sighting now
    swept = store.decay_due(T0)
    assert swept.revoked == 1
    gone = search.current(IocType.IPV4, "203.0.113.1")
    kept = search.current(IocType.IPV4, "203.0.113.2")
    assert gone is not None and gone.revoked and gone.score is not None and gone.score < 10
    assert kept is not None and not kept.revoked and kept.score == 85
    assert kept.decay_until is not None and kept.decay_until > T0 + 7 * DAY
    # Nothing more is due: a second sweep at the same time changes nothing.
    before = version_count(engine)
    assert store.decay_due(T0).revoked == 0
    assert version_count(engine) == before


def test_the_sweep_publishes_a_version_per_step_not_per_tick(engine: Engine) -> None:
    store, search = decaying(engine), IndicatorSearch(engine)
    store.write([ioc(IocType.DOMAIN, "decays.example", confidence=Confidence.HIGH)], T0)
    scores = []
    for hour in range(0, 24 * 200, 6):  # every six hours for 200 days
        store.decay_due(T0 + timedelta(hours=hour))
        current = search.current(IocType.DOMAIN, "decays.example")
        assert current is not None
        if not scores or scores[-1] != current.score:
            scores.append(current.score)
        if current.revoked:
            break
    assert scores[:8] == [85, 75, 65, 55, 45, 35, 25, 15]
    assert current.revoked
    # One version for the load, one per step, one revocation: not one per tick.
    assert version_count(engine) == len(scores)


def test_the_sweep_is_bounded_and_resumes(engine: Engine) -> None:
    store = decaying(engine)
    store.write(
        [ioc(IocType.IPV4, f"198.51.100.{n}", confidence=Confidence.LOW) for n in range(25)],
        T0 - 40 * DAY,
    )
    first = store.decay_due(T0, batch_size=10, max_batches=2)
    assert (first.revoked, first.batches) == (20, 2)
    rest = store.decay_due(T0, batch_size=10, max_batches=2)
    assert rest.revoked == 5


def test_a_store_without_a_policy_does_not_decay(engine: Engine) -> None:
    store, search = IndicatorStore(engine, new_stix_id), IndicatorSearch(engine)
    store.write([ioc(IocType.IPV4, "192.0.2.3")], T0 - 400 * DAY)
    assert store.decay_due(T0).revoked == 0
    current = search.current(IocType.IPV4, "192.0.2.3")
    assert current is not None and current.score is None and not current.revoked


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        sqlite_url(tmp_path)
        if request.param == "sqlite"
        else postgres_url(request.getfixturevalue("postgres_schema"))
    )
    engine = open_engine(url)
    yield engine
    engine.dispose()


def test_upgrading_a_store_with_data_queues_its_live_indicators_for_the_sweep(
    unmigrated: Engine,
) -> None:
    upgrade(unmigrated, "0006")
    rows = []
    for number, (ioc_type, value) in enumerate(
        [(IocType.IPV4, "203.0.113.50"), (IocType.CVE, "CVE-2024-3094")]
    ):
        indicator = new_indicator(
            ioc(ioc_type, value, confidence=Confidence.HIGH), new_stix_id(ioc_type), T0 - 5 * DAY
        )
        row = indicator_to_row(indicator)
        rows.append({**row, "date_added": to_us(T0 - 5 * DAY) + number, "superseded_at": None})
    with unmigrated.begin() as connection:
        insert_old_versions(connection, rows)
    upgrade(unmigrated)
    store, search = decaying(unmigrated), IndicatorSearch(unmigrated)
    swept = store.decay_due(T0)
    assert (swept.published, swept.revoked) == (1, 0)
    ip = search.current(IocType.IPV4, "203.0.113.50")
    cve = search.current(IocType.CVE, "CVE-2024-3094")
    assert ip is not None and ip.score is not None and 10 < ip.score < 85
    assert ip.decay_until is not None
    assert cve is not None and cve.score is None and cve.decay_next is None
