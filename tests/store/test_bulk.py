"""PostgreSQL's COPY path stores exactly what the row-by-row path stores on SQLite."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from iocfeed.indicators.merge import Outcome, Writer
from iocfeed.indicators.model import Confidence, Tlp
from iocfeed.store import bulk
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.schema import indicator_shadows, indicator_versions, write_clock
from tests.factories import T0, ioc


def _ids() -> Any:
    counter = itertools.count()
    return lambda ioc_type: f"indicator--00000000-0000-4000-8000-{next(counter):012d}"


def _scenario(engine: Engine) -> tuple[list[list[Outcome]], list[Any], list[Any], int]:
    """Batches that add, update within and across batches, leave unchanged, re-rank TLPs,
    revoke, reload a revoked value, and withhold a write above its writer's ceiling."""
    store = IndicatorStore(engine, _ids())
    answers = [
        store.write(
            [
                ioc(tags=("a",)),
                ioc("ipv4", "198.51.100.7"),
                ioc(tags=("b",)),  # the same value again in the same batch
                ioc("cve", "CVE-2021-44228", tlp=Tlp.RED),
            ],
            T0,
        ),
        store.write(
            [
                ioc(tags=("a",)),  # unchanged
                ioc("ipv4", "198.51.100.7", confidence=Confidence.HIGH),  # TLP re-ranked
                ioc("sha256", "c" * 64),
            ],
            T0 + timedelta(minutes=1),
        ),
    ]
    store.revoke(ioc("ipv4", "198.51.100.7").type, "198.51.100.7", T0 + timedelta(minutes=2))
    answers.append(store.write([ioc("ipv4", "198.51.100.7")], T0 + timedelta(minutes=3)))
    loaded = store.load(
        [ioc("cve", "CVE-2021-44228"), ioc("cve", "CVE-2021-44228", tags=("x",))],
        T0 + timedelta(minutes=4),
        writer=Writer("key-1", Tlp.AMBER),
    )
    answers.append([loaded.answered(n) for n in range(2)])
    with engine.connect() as connection:
        versions = connection.execute(
            select(indicator_versions).order_by(indicator_versions.c.date_added)
        ).all()
        shadows = connection.execute(select(indicator_shadows)).all()
        clock = connection.execute(select(write_clock.c.last_date_added)).scalar_one()
    return answers, [row[1:] for row in versions], [row[:4] for row in shadows], clock


def test_copy_path_stores_what_the_row_path_stores(
    sqlite_engine: Engine, postgres_engine: Engine
) -> None:
    with postgres_engine.connect() as connection:
        assert bulk.is_bulk(connection)
    with sqlite_engine.connect() as connection:
        assert not bulk.is_bulk(connection)
    rows_path = _scenario(sqlite_engine)
    copy_path = _scenario(postgres_engine)
    assert copy_path == rows_path
    answers, versions, shadows, _ = copy_path
    assert answers[1] == [Outcome.UNCHANGED, Outcome.UPDATED, Outcome.ADDED]
    assert answers[3] == [Outcome.ADDED, Outcome.UPDATED]
    assert len(versions) == 8 and len(shadows) == 1


def test_current_versions_are_read_by_one_index_probe_per_key(postgres_engine: Engine) -> None:
    """Whatever the planner knows of the table (here: nothing, as before a new store's first
    ``ANALYZE``), the batch's keys never make it scan the table: a scan per batch made
    imports into a new store quadratic."""
    IndicatorStore(postgres_engine, _ids()).write([ioc(), ioc("ipv4", "198.51.100.7")], T0)
    keys = [("ipv4", f"198.51.100.{n % 256}") for n in range(5000)]
    with postgres_engine.connect() as connection:
        plan = "\n".join(
            row[0]
            for row in connection.exec_driver_sql(
                "EXPLAIN " + bulk._READ_CURRENT, tuple(map(list, zip(*keys, strict=True)))
            )
        )
        found = bulk.read_current(connection, keys)
    assert "Index Scan using uq_indicator_versions_current" in plan, plan
    assert "Seq Scan on indicator_versions" not in plan, plan
    assert [(row.type, row.value) for row in found] == [("ipv4", "198.51.100.7")] * 20
