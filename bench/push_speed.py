"""Push speed: how fast the event feed behind webhooks, the stream and the Sentinel pusher
reads a store's version history, beside the plain keyset read it is built on.

    .venv/bin/python -m bench.push_speed            # 100,000 indicators
    .venv/bin/python -m bench.push_speed --quick    # 20,000

Rows, each a walk of the whole history in pages of 100 (a webhook batch, a Sentinel
request), median of three runs:
- floor: ``IndicatorSearch.in_added_order`` over every version (the TAXII walk's read);
- events: ``event_feed.events_after`` (the same read, plus the event kind);
- webhook bodies: events, each with its STIX object, as the JSON a delivery sends;
- stream over HTTP: ``GET /api/v1/stream?since=…`` caught up from the start by a client on
  loopback (one run), beside the TAXII objects walk of the same store over HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.dataset import sqlite_dataset
from bench.releases import free_port
from iocfeed.event_feed import EVERY_VERSION, Audience, events_after
from iocfeed.indicators.model import Tlp
from iocfeed.indicators.query import IndicatorQuery, Keyset
from iocfeed.stix.objects import Producer
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.search import IndicatorSearch
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.worker.webhooks import delivery_body

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE = 100


def floor(search: IndicatorSearch) -> int:
    after: Keyset | None = None
    query = IndicatorQuery(versions=EVERY_VERSION, max_tlp=Tlp.RED)
    count = 0
    now = datetime.now(UTC)
    while True:
        page, as_of = search.in_added_order(query, limit=PAGE, after=after, now=now)
        count += len(page.items)
        if page.next is None:
            return count
        after = page.next
        query = IndicatorQuery(versions=EVERY_VERSION, max_tlp=Tlp.RED, as_of=as_of)


def events(search: IndicatorSearch, bodies: bool = False) -> int:
    producer = Producer(identity_id="identity--6a8f9f3e-4c1b-4d63-9a57-2f3d9b0c7e21")
    position, count = EPOCH, 0
    audience = Audience(max_tlp=Tlp.RED)
    while True:
        now = datetime.now(UTC)
        batch = events_after(search, position, audience, limit=PAGE, now=now)
        if bodies and batch.events:
            delivery_body(0, batch.events, producer, now)
        count += len(batch.events)
        position = batch.position
        if not batch.more:
            return count


def timed(walk: Callable[[], int], runs: int) -> tuple[float, int]:
    seconds = []
    count = 0
    for _ in range(runs):
        started = time.perf_counter()
        count = walk()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), count


def over_http(path: Path, expected: int) -> tuple[float, float]:
    """Seconds for the stream to catch up on ``expected`` events, and for the TAXII walk."""
    url = f"sqlite:///{path}"
    engine = open_engine(url)
    key = KeyStore(engine).create(name="bench-push", plan="admin", now=datetime.now(UTC))[1]
    engine.dispose()
    port = free_port()
    env = {"IOCFEED_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [sys.executable, "-m", "iocfeed", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        headers = {"X-API-Key": key}
        started = time.perf_counter()
        seen = 0
        with httpx.stream(
            "GET",
            f"{base}/api/v1/stream?since=1970-01-01T00:00:00Z",
            headers=headers,
            timeout=60,
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    seen += 1
                    if seen == expected:
                        break
        stream_seconds = time.perf_counter() - started
        started = time.perf_counter()
        taxii = f"{base}/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"
        params: dict[str, str] = {"limit": "1000", "match[version]": "all"}
        accept = {**headers, "Accept": "application/taxii+json;version=2.1"}
        while True:
            page = httpx.get(taxii, params=params, headers=accept, timeout=60).json()
            if not page.get("more"):
                break
            params["next"] = page["next"]
        taxii_seconds = time.perf_counter() - started
        return stream_seconds, taxii_seconds
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    count = 20_000 if parser.parse_args().quick else 100_000
    path = sqlite_dataset(count)
    engine = open_engine(f"sqlite:///{path}")
    search = IndicatorSearch(engine)
    rows = []
    floor_seconds, versions = timed(lambda: floor(search), 3)
    rows.append(("floor: in_added_order, every version", floor_seconds, versions))
    seconds, found = timed(lambda: events(search), 3)
    rows.append(("events_after (kinds)", seconds, found))
    seconds, found = timed(lambda: events(search, bodies=True), 3)
    rows.append(("webhook bodies (STIX + JSON)", seconds, found))
    engine.dispose()
    stream_seconds, taxii_seconds = over_http(path, versions)
    print(f"{count:,} indicators, {versions:,} versions (SQLite), pages of {PAGE}")
    print(f"{'walk':<40} {'seconds':>8} {'events/s':>10} {'x floor':>8}")
    for name, seconds, found in rows:
        print(f"{name:<40} {seconds:8.2f} {found / seconds:10,.0f} {seconds / floor_seconds:8.2f}")
    print(
        f"{'stream over HTTP (catch-up, 1 run)':<40} {stream_seconds:8.2f} "
        f"{versions / stream_seconds:10,.0f}"
    )
    print(
        f"{'peer: TAXII objects walk over HTTP':<40} {taxii_seconds:8.2f} "
        f"{versions / taxii_seconds:10,.0f}   (pages of 1000)"
    )


if __name__ == "__main__":
    main()
