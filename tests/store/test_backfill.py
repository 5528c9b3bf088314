"""A store written before each version's STIX JSON was stored: migrated, backfilled, served
exactly as the objects built from its rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from iocfeed.demo import generate
from iocfeed.indicators.merge import new_indicator
from iocfeed.indicators.query import IndicatorQuery
from iocfeed.stix.ids import new_stix_id
from iocfeed.stix.objects import ExportOptions, Producer, sdo_for
from iocfeed.store.backfill import missing_stored_json
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import current_revision, head_revision, upgrade
from iocfeed.store.rows import indicator_to_row, to_us
from iocfeed.store.schema import indicator_versions, write_clock
from iocfeed.store.search import IndicatorSearch
from tests.conftest import postgres_url, sqlite_url
from tests.store.conftest import insert_old_versions

NOW = datetime(2026, 11, 1, tzinfo=UTC)
COUNT = 230
PRODUCER = Producer(identity_id="identity--3e1b5a0c-4b8e-4c57-9d2f-1f7d3b0d9a11")


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store at revision 0005 holding rows as that release wrote them (no stored JSON)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = postgres_url(request.getfixturevalue("postgres_schema"))
    engine = open_engine(url)
    upgrade(engine, "0005")
    rows = []
    for number, incoming in enumerate(generate(COUNT, seed=3, now=NOW)):
        indicator = new_indicator(incoming, new_stix_id(incoming.type), NOW)
        row = indicator_to_row(indicator)
        stamped = to_us(NOW) + number * 1000
        row.update(date_added=stamped, modified=stamped, created=stamped, superseded_at=None)
        rows.append(row)
    with engine.begin() as connection:
        insert_old_versions(connection, rows)
        connection.execute(write_clock.update().values(last_date_added=rows[-1]["date_added"]))
    yield engine
    engine.dispose()


def _served(search: IndicatorSearch) -> list[tuple[bytes, dict[str, object]]]:
    page, _ = search.objects_in_added_order(
        IndicatorQuery(), limit=COUNT + 10, after=None, now=NOW + timedelta(days=1)
    )
    return [(item.json, sdo_for(item.decode(), ExportOptions(), PRODUCER)) for item in page.items]


def test_an_old_store_is_backfilled_with_progress_and_serves_the_same_objects(
    old_store: Engine,
) -> None:
    upgrade(old_store, "0011")
    assert missing_stored_json(old_store) == COUNT
    search = IndicatorSearch(old_store)
    # Before the backfill, rows without stored JSON are served from the row itself.
    before = _served(search)
    assert len(before) == COUNT

    reports: list[tuple[int, int]] = []
    upgrade(old_store, progress=lambda done, total: reports.append((done, total)))
    assert current_revision(old_store) == head_revision()
    assert missing_stored_json(old_store) == 0
    assert reports[-1] == (COUNT, COUNT)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)

    after = _served(search)
    assert [stored for stored, _ in after] == [stored for stored, _ in before]
    for stored, built in after:
        parsed = orjson.loads(stored)
        expected = {
            k: v for k, v in built.items() if k not in {"created_by_ref", "object_marking_refs"}
        }
        assert parsed == expected
    with old_store.connect() as connection:
        stored_rows = connection.execute(select(indicator_versions.c.stix_json)).scalars().all()
    assert all(stored_rows)

    # Running it again finds nothing left to do.
    reports.clear()
    upgrade(old_store, progress=lambda done, total: reports.append((done, total)))
    assert reports == []
