"""A real iocfeed server on a loopback port (uvicorn in a thread), for outside clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from iocfeed.config import Settings
from iocfeed.demo import generate
from iocfeed.indicators.model import Tlp
from iocfeed.indicators.query import IndicatorQuery
from iocfeed.services import Services
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from iocfeed.taxii.collections import collection_by_id
from iocfeed.web.app import create_app
from tests.conftest import sqlite_url

COUNT = 2400
BATCH = 400
KEY_TLP = Tlp.AMBER_STRICT  # the enterprise plan's ceiling
# The producer identity and the TLP 2.0 marking definitions up to the key's TLP (CLEAR, GREEN,
# AMBER, AMBER+STRICT) that every read collection's first page carries.
REFERENCES = 5


@dataclass
class LiveServer:
    """A served store, its services and an enterprise key (read:taxii and write:iocs)."""

    base: str
    key: str
    services: Services

    @property
    def discovery(self) -> str:
        return f"{self.base}/taxii2/"

    @property
    def api_root(self) -> str:
        return f"{self.base}/taxii2/api/"

    def stored_ids(self, collection_id: str) -> set[str]:
        """What a walk of the collection must serve, read from the store directly."""
        collection = collection_by_id(collection_id)
        query = IndicatorQuery(
            types=collection.types, max_tlp=KEY_TLP, submitted_only=collection.submitted_only
        )
        now = self.services.clock.now()
        return {item.stix_id for item in self.services.search.iter_newest_first(query, now=now)}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def serve(directory: Path) -> Iterator[LiveServer]:
    url = sqlite_url(directory)
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, expiry_sweep_seconds=0, access_log=False))
    services: Services = app.state.services
    now = datetime.now(UTC)
    demo = generate(COUNT, seed=11, now=now)
    for index in range(COUNT // BATCH):  # several batches: several date_added runs
        services.indicators.write(list(islice(demo, BATCH)), now - timedelta(hours=index))
    key = services.keys.create(name="conformance", plan="enterprise", now=now)[1]
    with serving(app) as base:
        yield LiveServer(base, key, services)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per test module (modules that write do not disturb the others)."""
    yield from serve(tmp_path_factory.mktemp("live"))
