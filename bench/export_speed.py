"""STIX export speed: ``GET /api/v1/export/stix`` over HTTP against two peers, in one run.

On a store of 1,000,000 indicators (``bench.dataset``), for 1000-indicator bundles (no
filter; ``type=ipv4``; ``since`` in the last day) it measures:

* the endpoint: median wall time of a full download from a real ``iocfeed serve`` process
  on a loopback port, over a kept-alive connection (auth, rate check, read, build,
  serialise, HTTP);
* peer (a), the ``stix2`` library: the same rows, already in memory, turned into ``stix2``
  objects and a ``Bundle`` and serialised;
* peer (b), the floor: the same rows read with one SQL query on the same driver and the
  finished bundle dict dumped with ``orjson``, in process;

and the server's peak resident memory (VmHWM) after serving bundles of 10, 100 and 1000
indicators, each in a fresh server. Run: ``.venv/bin/python -m bench.export_speed``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import stix2

from bench.dataset import sqlite_dataset
from bench.releases import free_port, wait_until_healthy
from iocfeed.config import DEFAULT_IDENTITY_ID
from iocfeed.indicators.model import IocType
from iocfeed.indicators.query import IndicatorQuery
from iocfeed.stix.bundle import build_objects
from iocfeed.stix.objects import ExportOptions, Producer
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.search import IndicatorSearch

COUNT = 1_000_000
LIMIT = 1000
REQUESTS = 15  # timed requests per endpoint case (after two warm-up requests)
FLOOR_RUNS = 15
PEER_RUNS = 5  # the stix2 library takes most of a second per bundle
MEMORY_LIMITS = (10, 100, 1000)
IOCFEED = Path(sys.executable).with_name("iocfeed")
PRODUCER = Producer(identity_id=DEFAULT_IDENTITY_ID)

STIX2_CLASSES: dict[str, Any] = {
    "identity": stix2.v21.Identity,
    "marking-definition": stix2.v21.MarkingDefinition,
    "indicator": stix2.v21.Indicator,
    "vulnerability": stix2.v21.Vulnerability,
    "attack-pattern": stix2.v21.AttackPattern,
    "relationship": stix2.v21.Relationship,
}


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, str]
    query: IndicatorQuery
    where: str  # the floor's SQL condition for the same rows
    arguments: tuple[Any, ...] = ()


def cases(newest: datetime) -> list[Case]:
    """The three bundles; "the last day" is the day before the store's newest change."""
    day_ago = newest - timedelta(days=1)
    since_us = int(day_ago.timestamp() * 1_000_000)
    since_us += -since_us % 1000  # modified >= since <=> date_added >= ceil_ms(since)
    return [
        Case("no filter", {}, IndicatorQuery(), ""),
        Case(
            "type=ipv4",
            {"type": "ipv4"},
            IndicatorQuery(types=frozenset({IocType.IPV4})),
            "AND type = ?",
            ("ipv4",),
        ),
        Case(
            "since=last day",
            {"since": day_ago.isoformat().replace("+00:00", "Z")},
            IndicatorQuery(modified_since=day_ago),
            "AND date_added >= ?",
            (since_us,),
        ),
    ]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


# --- the server -------------------------------------------------------------------------------


@contextlib.contextmanager
def server(database: Path) -> Iterator[tuple[str, int]]:
    """A real ``iocfeed serve`` on a free loopback port; yields its base URL and pid."""
    port = free_port()
    environment = {
        **os.environ,
        "IOCFEED_DATABASE_URL": f"sqlite:///{database}",
    }
    command = [str(IOCFEED), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, seconds=60, failure="iocfeed serve did not start")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def download(client: httpx.Client, params: dict[str, str]) -> bytes:
    response = client.get("/api/v1/export/stix", params=params)
    response.raise_for_status()
    return response.content


# --- the peers --------------------------------------------------------------------------------


def stix2_bundle(rows: list[Any]) -> str:
    """Peer (a): the rows as ``stix2`` objects in a ``Bundle``, serialised."""
    built = build_objects(rows, ExportOptions(), PRODUCER, now=datetime.now(UTC))
    objects = [STIX2_CLASSES[obj["type"]](**obj) for obj in built]
    return str(stix2.v21.Bundle(objects=objects).serialize())


def floor_sql(case: Case) -> str:
    return (
        "SELECT * FROM indicator_versions WHERE superseded_at IS NULL "
        f"{case.where} ORDER BY date_added DESC LIMIT {LIMIT}"
    )


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    source = sqlite_dataset(COUNT)
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as scratch:
        database = Path(scratch) / "store.db"
        shutil.copyfile(source, database)
        url = f"sqlite:///{database}"
        engine = open_engine(url)
        now = datetime.now(UTC)
        key = KeyStore(engine).create(name="bench", plan="admin", now=now)[1]
        search = IndicatorSearch(engine)
        raw = sqlite3.connect(database)
        rows_out: list[dict[str, Any]] = []
        memory: dict[int, tuple[float, float]] = {}

        # The plain case asks for no compression (httpx asks for gzip by default).
        headers = {"X-API-Key": key, "Accept-Encoding": "identity"}
        with server(database) as (base, pid):
            client = httpx.Client(base_url=base, headers=headers, timeout=60)
            for case in cases(search.last_added()):
                params = {**case.params, "limit": str(LIMIT)}
                rows = search.newest_first(case.query, limit=LIMIT, after=None, now=now).items
                started = time.perf_counter()
                body = download(client, params)  # the first request meets cold caches
                first = time.perf_counter() - started
                served = orjson.loads(body)["objects"]
                assert sum(obj["type"] != "marking-definition" for obj in served) >= len(rows)
                download(client, params)  # warm-up
                endpoint = timed(functools.partial(download, client, params), REQUESTS)
                gz_client = httpx.Client(
                    base_url=base, headers={**headers, "Accept-Encoding": "gzip"}, timeout=60
                )
                gzipped = timed(functools.partial(download, gz_client, params), REQUESTS)
                gz_client.close()

                peer = timed(functools.partial(stix2_bundle, rows), PEER_RUNS)

                finished = {"type": "bundle", "id": "bundle--x", "objects": served}
                sql = floor_sql(case)

                def floor(
                    s: str = sql, a: tuple[Any, ...] = case.arguments, done: Any = finished
                ) -> None:
                    fetched = raw.execute(s, a).fetchall()
                    assert len(fetched) == LIMIT
                    orjson.dumps(done)

                floor_times = timed(floor, FLOOR_RUNS)
                rows_out.append(
                    {
                        "case": case.name,
                        "endpoint": median_ms(endpoint),
                        "first": first * 1000,
                        "gzip": median_ms(gzipped),
                        "stix2": median_ms(peer),
                        "floor": median_ms(floor_times),
                        "kb": len(body) / 1024,
                    }
                )
            client.close()

        for limit in MEMORY_LIMITS:
            with server(database) as (base, pid):
                idle = peak_rss_mb(pid)
                with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                    for _ in range(REQUESTS):
                        download(client, {"limit": str(limit)})
                        download(client, {"limit": str(limit), "include_observables": "true"})
                memory[limit] = (idle, peak_rss_mb(pid))
        raw.close()
        engine.dispose()

    print(f"\nSTIX export, {COUNT:,} indicators in SQLite, bundles of {LIMIT} (median ms)\n")
    print(
        "| case | bundle KB | endpoint over HTTP | first request | endpoint, gzip "
        "| stix2 library | floor (1 SQL + orjson) | x faster than stix2 | x the floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows_out:
        print(
            f"| {row['case']} | {row['kb']:.0f} | {row['endpoint']:.1f} | {row['first']:.1f} "
            f"| {row['gzip']:.1f} "
            f"| {row['stix2']:.0f} | {row['floor']:.1f} | {row['stix2'] / row['endpoint']:.0f}x "
            f"| {row['endpoint'] / row['floor']:.1f}x |"
        )
    print(
        f"\nendpoint and floor: median of {REQUESTS} runs; stix2: median of {PEER_RUNS}; "
        "first request: before the server has decoded or built those rows (cold caches) "
        "(goals: ≥ 50x faster than stix2, ≤ 5x the floor)\n"
    )
    print("| limit | server RSS idle (MiB) | peak RSS after 2x15 exports (MiB) |")
    print("|---:|---:|---:|")
    for limit, (idle, peak) in memory.items():
        print(f"| {limit} | {idle:.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
