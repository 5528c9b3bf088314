"""Rate limits per key and plan (SPEC §4), with state every worker shares: in the database,
or in Redis. Proven in process on each backend, then with two real server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from iocfeed.clock import SystemClock
from iocfeed.config import Settings
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.web.app import create_app
from tests.conftest import REDIS_URL, sqlite_url
from tests.web.conftest import PLANS, Site, TestClient, migrated, start_site

# A Redis database of its own, flushed by the tests that use it.
PRIVATE_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/13"
IOCFEED = Path(sys.executable).with_name("iocfeed")


# --- in process ---------------------------------------------------------------------------


@pytest.fixture(params=["database", "redis"])
def limited(request: pytest.FixtureRequest, database_url: str) -> Iterator[tuple[Site, TestClient]]:
    """Two apps on one database (and, for "redis", one Redis): like two workers."""
    redis_url = REDIS_URL if request.param == "redis" else None
    for site in start_site(database_url, redis_url=redis_url):
        other = create_app(
            Settings(database_url=database_url, redis_url=redis_url, plans=PLANS,
                     expiry_sweep_seconds=0),
            clock=site.clock,
        )  # fmt: skip
        with TestClient(other, raise_server_exceptions=False) as client:
            yield site, client


def test_limit_is_shared_by_workers_and_resets_each_minute(
    limited: tuple[Site, TestClient],
) -> None:
    site, other = limited
    headers = site.headers("tiny")  # 3 requests per minute
    answers = [
        (client.get("/api/v1/me", headers=headers), remaining)
        for client, remaining in ((site.client, 2), (other, 1), (site.client, 0))
    ]
    for response, remaining in answers:
        assert response.status_code == 200
        assert response.headers["RateLimit-Remaining"] == str(remaining)
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Reset"] == "60"  # the clock stands on a minute
    for client in (other, site.client):
        refused = client.get("/api/v1/me", headers=headers)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60"
    # Other keys have their own count; unlimited plans have no rate headers.
    assert site.get("/api/v1/me", "free").headers["X-RateLimit-Remaining"] == "59"
    assert "X-RateLimit-Limit" not in site.get("/api/v1/me", "admin").headers

    site.clock.advance(seconds=45)
    assert site.client.get("/api/v1/me", headers=headers).headers["Retry-After"] == "15"
    site.clock.advance(seconds=15)
    assert other.get("/api/v1/me", headers=headers).status_code == 200


def test_requests_refused_for_scope_still_count(sqlite_site: Site) -> None:
    headers = sqlite_site.headers("tiny")
    statuses = [sqlite_site.client.get("/api/v1/keys", headers=headers).status_code
                for _ in range(4)]  # fmt: skip
    assert statuses == [403, 403, 403, 429]


# --- two server processes -------------------------------------------------------------------

CONFIG = """
[plans.trial]
title = "Trial"
scopes = ["read:iocs"]
lookback_days = 7
requests_per_minute = {per_minute}
max_tlp = "green"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Serve = Callable[[dict[str, str]], str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start ``iocfeed serve`` with extra environment; returns its base URL once healthy."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(environment: dict[str, str]) -> str:
        port = free_port()
        with (tmp_path / f"server-{port}.log").open("wb") as log:  # the child keeps its copy
            process = subprocess.Popen(
                [str(IOCFEED), "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "warning"],
                env={**os.environ, "IOCFEED_EXPIRY_SWEEP_SECONDS": "0", **environment},
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        processes.append(process)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(base_urls: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for base in base_urls:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{base} did not start"
            time.sleep(0.1)


def wait_for_a_fresh_minute(margin: float = 8.0) -> None:
    """The limiter counts per calendar minute: start well inside one."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.2)


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_two_server_processes_share_one_limit(backend: str, tmp_path: Path, serve: Serve) -> None:
    per_minute = 6
    database_url = migrated(sqlite_url(tmp_path))
    config = tmp_path / "iocfeed.toml"
    config.write_text(CONFIG.format(per_minute=per_minute))
    engine = open_engine(database_url)
    _, key = KeyStore(engine).create(name="trial", plan="trial", now=SystemClock().now())
    engine.dispose()
    environment = {"IOCFEED_DATABASE_URL": database_url, "IOCFEED_CONFIG": str(config)}
    if backend == "redis":
        redis.Redis.from_url(PRIVATE_REDIS_URL).flushdb()
        environment["IOCFEED_REDIS_URL"] = PRIVATE_REDIS_URL
    servers = [serve(environment), serve(environment)]
    wait_until_healthy(servers)

    wait_for_a_fresh_minute()
    headers = {"X-API-Key": key}
    with httpx.Client(timeout=10) as client:
        served = [
            client.get(f"{servers[n % 2]}/api/v1/iocs", headers=headers) for n in range(per_minute)
        ]
        assert [r.status_code for r in served] == [200] * per_minute
        assert [r.headers["X-RateLimit-Remaining"] for r in served] == [
            str(per_minute - n) for n in range(1, per_minute + 1)
        ]
        for base in servers:
            refused = client.get(f"{base}/api/v1/iocs", headers=headers)
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["error"] == "rate_limited"
    if backend == "redis":
        assert redis.Redis.from_url(PRIVATE_REDIS_URL).dbsize() >= 1
