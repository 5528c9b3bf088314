from __future__ import annotations

import pytest
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
