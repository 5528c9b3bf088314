"""Bulk requests take turns (``web.bulk``): driven over ASGI in one event loop, on a real
SQLite store, so a test can hold the only turn and see who waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from iocfeed.config import Settings
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.web.app import create_app
from iocfeed.web.bulk import BulkTurns
from tests.conftest import sqlite_url
from tests.factories import ioc
from tests.web.conftest import migrated

Message = dict[str, Any]
OBJECTS = f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"
TAXII = "application/taxii+json;version=2.1"
BULK_READS = [
    (OBJECTS, "limit=10", TAXII),
    (f"/taxii2/api/collections/{ALL_COLLECTION_ID}/manifest/", "limit=10", TAXII),
    ("/api/v1/export/stix", "limit=10", "application/json"),
    ("/api/v1/export/txt", "type=domain", "text/plain"),
    ("/api/v1/iocs", "limit=10", "application/json"),
]
"""A bulk read of each kind: TAXII pages, exports in each router, REST searches."""


class Site:
    def __init__(self, app: FastAPI, key: str) -> None:
        self.app = app
        self.key = key
        self.turns: BulkTurns = app.state.bulk_turns

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        accept: str = "application/json",
        body: list[bytes] | None = None,
        feed: asyncio.Event | None = None,
        on_body: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[int, bytes]:
        """One request: its ``body`` parts handed over one at a time, each after ``feed``
        is set; ``on_body`` awaited when the first part of the response body is sent."""
        parts = list(body or [b""])
        headers = [
            (b"host", b"test"),
            (b"x-api-key", self.key.encode()),
            (b"accept", accept.encode()),
        ]
        if body is not None:
            headers.append((b"content-type", b"application/json"))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("test", 80),
        }
        status: list[int] = []
        chunks: list[bytes] = []
        answered = asyncio.Event()

        async def receive() -> Message:
            if not parts:  # the client hangs up once the response is complete
                await answered.wait()
                return {"type": "http.disconnect"}
            if feed is not None and len(parts) > 1:
                await feed.wait()
                feed.clear()
            part = parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(parts)}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                if not chunks and on_body is not None:
                    await on_body()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    answered.set()

        await self.app(scope, receive, send)
        return status[0], b"".join(chunks)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings = Settings(
        database_url=migrated(sqlite_url(tmp_path)), expiry_sweep_seconds=0, bulk_slots=1
    )
    app = create_app(settings)
    built = app.state.services
    now = built.clock.now()
    built.indicators.write([ioc(value=f"d{n}.example") for n in range(30)], now)
    yield Site(app, built.keys.create(name="bulk", plan="enterprise", now=now)[1])
    built.close()


async def _settled(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_lookup_is_answered_while_bulk_reads_wait_for_their_turn(site: Site) -> None:
    async def scenario() -> None:
        async with site.turns.turn():  # the only turn, held
            bulk = [
                asyncio.create_task(site.request("GET", path, query=query, accept=accept))
                for path, query, accept in BULK_READS
            ]
            await _settled(lambda: site.turns.waiting == len(BULK_READS))
            status, body = await site.request("GET", "/api/v1/iocs/domain/d7.example")
            assert status == 200, body
            assert orjson.loads(body)["value"] == "d7.example"
            assert not any(task.done() for task in bulk)
        assert [(await task)[0] for task in bulk] == [200] * len(BULK_READS)
        assert site.turns.waiting == 0

    asyncio.run(scenario())


def test_an_export_gives_its_turn_back_before_its_body_is_sent(site: Site) -> None:
    """A slow client reading an export holds no turn: another bulk read gets it."""

    async def scenario() -> None:
        reading = asyncio.Event()
        sent: list[int] = []

        async def while_sending() -> None:
            async with asyncio.timeout(10):
                status, _ = await site.request("GET", OBJECTS, query="limit=5", accept=TAXII)
            sent.append(status)
            reading.set()

        status, body = await site.request(
            "GET", "/api/v1/export/stix", query="limit=30", on_body=while_sending
        )
        assert reading.is_set() and sent == [200]
        assert status == 200 and len(orjson.loads(body)["objects"]) > 30

    asyncio.run(scenario())


def test_an_import_takes_its_turn_only_once_its_body_has_arrived(site: Site) -> None:
    """A slow upload holds no turn; the import then waits for one like any bulk request."""
    items = orjson.dumps([{"type": "domain", "value": f"new{n}.example"} for n in range(5)])

    async def scenario() -> None:
        feed = asyncio.Event()
        async with site.turns.turn():
            upload = asyncio.create_task(
                site.request("POST", "/api/v1/iocs", body=[items[:20], items[20:]], feed=feed)
            )
            await asyncio.sleep(0.2)
            assert site.turns.waiting == 0  # still receiving its body
            feed.set()
            await _settled(lambda: site.turns.waiting == 1)
            assert not upload.done()
        status, body = await upload
        assert status == 200, body
        assert orjson.loads(body)["added"] == 5

    asyncio.run(scenario())


def test_no_turns_with_bulk_slots_zero(tmp_path: Path) -> None:
    turns = BulkTurns(0)

    async def scenario() -> None:
        async with turns.turn(), turns.turn():
            assert turns.waiting == 0

    asyncio.run(scenario())
