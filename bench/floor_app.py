"""The export's floor over HTTP: a bare ASGI app that answers every request with the newest
1000 current versions' stored JSON, read with one SQL query, as a bundle; ``/healthz`` alone
answers without reading, so that a freshly started floor's first read is still cold.

No authentication, no parameters, no compression, no framework: the database read and the
bytes on the socket, served by the same uvicorn as ``iocfeed serve``. ``bench.suite`` runs it:

    IOCFEED_BENCH_FLOOR_DB=store.db python -m uvicorn bench.floor_app:app --lifespan off
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]

PAGE = 1000
SQL = (
    "SELECT stix_json FROM indicator_versions WHERE superseded_at IS NULL "
    f"ORDER BY date_added DESC LIMIT {PAGE}"
)
_database = sqlite3.connect(os.environ["IOCFEED_BENCH_FLOOR_DB"], check_same_thread=False)


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    objects = b",".join(row[0] for row in _database.execute(SQL))
    body = b'{"type":"bundle","objects":[' + objects + b"]}"
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
