from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from iocfeed.stix.ids import new_stix_id
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.search import IndicatorSearch


@pytest.fixture
def store(engine: Engine) -> IndicatorStore:
    return IndicatorStore(engine, new_stix_id)


@pytest.fixture
def search(engine: Engine) -> IndicatorSearch:
    return IndicatorSearch(engine)


def insert_old_versions(connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert version rows into a store at an earlier revision, as that release wrote them:
    only the columns its ``indicator_versions`` had (later columns are dropped)."""
    present = {
        column["name"] for column in sa.inspect(connection).get_columns("indicator_versions")
    }
    names = [name for name in rows[0] if name in present]
    table = sa.table("indicator_versions", *(sa.column(name) for name in names))
    connection.execute(sa.insert(table), [{name: row[name] for name in names} for row in rows])
