"""The cost of usage metering on a TAXII page request: one store, two servers, one run.

    .venv/bin/python -m bench.metering_speed            # 400 requests per figure
    .venv/bin/python -m bench.metering_speed --quick    # 100

Two ``uvicorn`` processes serve a copy of the same 10,000-indicator SQLite store on
loopback ports, one with ``usage_metering`` on (the default) and one with it off (the
floor). Requests alternate between them (on, off, off, on, …) so that the shared machine's
noise falls on both alike; each figure is the median of its requests. Also the in-process
cost of one ``UsageMeter.record`` call, which is all a request pays: the flush to the
database happens on another thread every ``usage_flush_seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.dataset import sqlite_dataset
from bench.releases import free_port
from bench.taxii_speed import ACCEPT, running
from iocfeed.clock import SystemClock
from iocfeed.config import Settings
from iocfeed.portal.metering import DatabaseSink, UsageMeter
from iocfeed.services import build_services
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.migrate import upgrade
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.web.usage import UsageMiddleware

SIZE = 10_000
USER = "bench"


def server(url: str, metering: bool) -> tuple[list[str], dict[str, str], str]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "iocfeed.web.app:app_from_environment",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    env = {
        "IOCFEED_DATABASE_URL": url,
        "IOCFEED_USAGE_METERING": "true" if metering else "false",
    }
    return command, env, f"http://127.0.0.1:{port}"


def interleaved(
    on: httpx.Client, off: httpx.Client, path: str, params: dict[str, str | int], repeat: int
) -> tuple[float, float]:
    """Median seconds per request on each server, requests alternating between them."""
    samples: dict[bool, list[float]] = {True: [], False: []}
    for number in range(repeat):
        order = (True, False) if number % 2 == 0 else (False, True)
        for metered in order:
            client = on if metered else off
            started = time.perf_counter()
            response = client.get(path, params=params)
            samples[metered].append(time.perf_counter() - started)
            response.raise_for_status()
    return statistics.median(samples[True]), statistics.median(samples[False])


def record_cost(url: str, calls: int = 100_000) -> float:
    """Seconds per ``UsageMeter.record`` call (no flush: the interval is an hour)."""
    built = build_services(Settings(database_url=url, usage_flush_seconds=3600))
    meter = built.meter
    assert isinstance(meter, UsageMeter)
    now = datetime.now(UTC)
    seconds = timeit.timeit(
        lambda: meter.record(
            account_id=1,
            key_id="benchkey0000",
            surface="taxii",
            objects=100,
            size=76_000,
            address="127.0.0.1",
            now=now,
        ),
        number=calls,
    )
    built.close()  # flushes the counts into the copy
    return seconds / calls


def middleware_cost(calls: int = 20_000) -> tuple[float, float]:
    """Seconds per request through a bare ASGI app that sends a 76 kB body, without and with
    ``UsageMiddleware`` around it (a metered caller on the request state, as after auth)."""
    body = b"x" * 76_000
    principal = SimpleNamespace(account_id=1, key=SimpleNamespace(key_id="benchkey0000"))

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {}).update(principal=principal, objects_served=100)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    meter = UsageMeter(_NullSink(), flush_seconds=3600)
    metered = UsageMiddleware(bare, meter=meter, clock=SystemClock())

    async def run(app: ASGIApp) -> float:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            return None

        started = time.perf_counter()
        for _ in range(calls):
            scope: Scope = {"type": "http", "path": "/taxii2/api/", "client": ("127.0.0.1", 1)}
            await app(scope, receive, send)
        return (time.perf_counter() - started) / calls

    floors, costs = [], []
    for _ in range(5):  # alternate, median of five rounds each
        floors.append(asyncio.run(run(bare)))
        costs.append(asyncio.run(run(metered)))
    return statistics.median(floors), statistics.median(costs)


class _NullSink(DatabaseSink):
    """The database sink, never reached: the flush interval is an hour."""

    def __init__(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 requests per figure")
    options = parser.parse_args([] if __name__ != "__main__" else None)
    repeat = 100 if options.quick else 400
    work = Path(tempfile.mkdtemp(prefix="iocfeed-bench-"))
    try:
        database = work / "store.db"
        shutil.copy(sqlite_dataset(SIZE), database)
        url = f"sqlite:///{database}"
        engine = open_engine(url)
        upgrade(engine)
        key = KeyStore(engine).create(name="bench", plan="admin", now=datetime.now(UTC))[1]
        engine.dispose()
        on_command, on_env, on_base = server(url, metering=True)
        off_command, off_env, off_base = server(url, metering=False)
        probe = "/taxii2/api/"
        rows = []
        with (
            running(on_command, on_env, on_base + probe, (USER, key)),
            running(off_command, off_env, off_base + probe, (USER, key)),
            httpx.Client(base_url=on_base, auth=(USER, key), headers=ACCEPT) as on,
            httpx.Client(base_url=off_base, auth=(USER, key), headers=ACCEPT) as off,
        ):
            objects = f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"
            for name, path, params in (
                ("TAXII objects, 1 object", objects, {"limit": 1}),
                ("TAXII objects, 100 objects", objects, {"limit": 100}),
                ("TAXII objects, 1000 objects", objects, {"limit": 1000}),
                ("TAXII collections list", "/taxii2/api/collections/", {}),
            ):
                interleaved(on, off, path, params, 10)  # warm both
                rows.append((name, *interleaved(on, off, path, params, repeat)))
        per_record = record_cost(url)
        bare_floor, bare_metered = middleware_cost()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nUsage metering on a {SIZE:,}-indicator SQLite store, medians of {repeat} requests")
    print("| request | metering off (floor) | metering on | difference | on / off |")
    print("|---|---|---|---|---|")
    for name, metered, floor in rows:
        print(
            f"| {name} | {floor * 1000:.2f} ms | {metered * 1000:.2f} ms | "
            f"{(metered - floor) * 1000:+.2f} ms | {metered / floor:.3f} |"
        )
    print(f"| one UsageMeter.record call (in process) | - | {per_record * 1e6:.2f} µs | - | - |")
    print(
        f"| bare ASGI app, 76 kB body (in process) | {bare_floor * 1e6:.2f} µs | "
        f"{bare_metered * 1e6:.2f} µs | {(bare_metered - bare_floor) * 1e6:+.2f} µs | "
        f"{bare_metered / bare_floor:.3f} |"
    )


if __name__ == "__main__":
    main()
