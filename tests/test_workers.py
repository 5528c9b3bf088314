"""``iocfeed serve --workers 2`` shares nothing but PostgreSQL and Redis: ``/metrics`` adds
up every worker's requests, and one Redis limit holds exactly across both workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from iocfeed.clock import SystemClock
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.migrate import upgrade
from tests.conftest import REDIS_URL, postgres_url
from tests.test_serve import free_port

IOCFEED = Path(sys.executable).with_name("iocfeed")
# The Redis database of these tests, flushed by them.
WORKERS_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/12"
CONFIG = """
[plans.trial]
title = "Trial"
scopes = ["read:iocs"]
lookback_days = 7
requests_per_minute = {per_minute}
max_tlp = "green"
"""


@contextmanager
def two_workers(tmp_path: Path, environment: dict[str, str]) -> Iterator[str]:
    """``iocfeed serve --workers 2`` with ``environment`` (which names the shared metrics
    directory); yields its base URL once both workers serve."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(IOCFEED), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "2", "--log-level", "warning"],
            env={**os.environ, "IOCFEED_EXPIRY_SWEEP_SECONDS": "0", **environment},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # a loaded shared machine starts slowly
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        # One worker may answer while the other still loads (its warninglists take seconds on
        # a loaded machine): wait until each has served a request (a latency file of its pid).
        shared = Path(environment["PROMETHEUS_MULTIPROC_DIR"])
        while len(worker_files(shared, "histogram")) < 2:
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            httpx.get(f"{base}/healthz", timeout=5)  # a new connection each time
            time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def migrated_with_key(schema: str, plan: str, config: Path | None = None) -> tuple[str, str]:
    url = postgres_url(schema)
    engine = open_engine(url)
    upgrade(engine)
    _, key = KeyStore(engine).create(name="client", plan=plan, now=SystemClock().now())
    engine.dispose()
    return url, key


async def send(base: str, path: str, headers: dict[str, str], count: int) -> list[int]:
    """``count`` requests, 16 at a time, each on a new connection (so both workers accept)."""
    limits = httpx.Limits(max_keepalive_connections=0, max_connections=16)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=20) as client:
        gate = asyncio.Semaphore(16)

        async def one() -> int:
            async with gate:
                return (await client.get(path, headers=headers)).status_code

        return list(await asyncio.gather(*(one() for _ in range(count))))


def worker_files(directory: Path, kind: str = "counter") -> set[str]:
    """The pids that wrote metrics of ``kind`` into the shared metrics directory."""
    return {path.stem.rpartition("_")[2] for path in directory.glob(f"{kind}_*.db")}


def test_metrics_add_up_every_worker(tmp_path: Path, postgres_schema: str) -> None:
    url, key = migrated_with_key(postgres_schema, "admin")
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"stale counts of an earlier run")
    environment = {"IOCFEED_DATABASE_URL": url, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    sent = 300
    with two_workers(tmp_path, environment) as base:
        statuses = asyncio.run(send(base, "/api/v1/iocs?limit=5", {"X-API-Key": key}, sent))
        assert statuses == [200] * sent
        assert len(worker_files(shared)) == 2  # both answered; the stale file is gone
        scraped = httpx.get(f"{base}/metrics", timeout=10).text
    families = {family.name: family for family in text_string_to_metric_families(scraped)}
    by_route = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for sample in families["iocfeed_requests"].samples
        if sample.name == "iocfeed_requests_total"
    }
    assert by_route[("/api/v1/iocs", "200")] == sent
    latency = families["iocfeed_request_duration_seconds"].samples
    counted = [s.value for s in latency if s.name.endswith("_count")
               and s.labels["route"] == "/api/v1/iocs"]  # fmt: skip
    assert counted == [sent]


def test_two_workers_enforce_one_redis_limit_exactly(tmp_path: Path, postgres_schema: str) -> None:
    per_minute = 40
    config = tmp_path / "iocfeed.toml"
    config.write_text(CONFIG.format(per_minute=per_minute))
    url, key = migrated_with_key(postgres_schema, "trial")
    store = redis.Redis.from_url(WORKERS_REDIS_URL)
    store.flushdb()
    shared = tmp_path / "metrics"
    environment = {
        "IOCFEED_DATABASE_URL": url,
        "IOCFEED_REDIS_URL": WORKERS_REDIS_URL,
        "IOCFEED_CONFIG": str(config),
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    with two_workers(tmp_path, environment) as base:
        into = time.time() % 60  # the limiter counts per calendar minute: start well inside one
        if into > 45:
            time.sleep(60 - into + 0.2)
        statuses = asyncio.run(send(base, "/api/v1/iocs?limit=1", {"X-API-Key": key}, 100))
        assert len(worker_files(shared)) == 2
    assert statuses.count(200) == per_minute
    assert statuses.count(429) == 100 - per_minute
    assert [name.decode() for name in store.keys("iocfeed:rate:*")]
    store.flushdb()
