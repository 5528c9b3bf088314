"""Shared fixtures: real SQLite and real PostgreSQL stores, migrated by the real migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from tests import replication
from tests.replication import ReplicaPair

# The machines are small and shared: no per-example deadlines; CI runs the same examples
# every time, so a failure there is reproducible rather than a roll of the dice.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

POSTGRES_URL = os.environ.get(
    "IOCFEED_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("IOCFEED_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Real published samples, vendored with their licences (tests/data/real/README.md).
SAMPLES = Path(__file__).resolve().parent / "data" / "real"


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'iocfeed.db'}"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(sqlite_url(tmp_path))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards (parallel-safe)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = open_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def postgres_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_engine(postgres_schema: str) -> Iterator[Engine]:
    engine = open_engine(postgres_url(postgres_schema))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of each kind, by URL (for code that opens its own engine)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = postgres_url(request.getfixturevalue("postgres_schema"))
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated, empty store on each database."""
    fixture = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[ReplicaPair]:
    """A real primary and streaming replica on loopback ports, shared by the session."""
    reason = replication.missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    pair = ReplicaPair()
    try:
        yield pair.start()
    finally:
        pair.stop()
