"""Clean failures when a dependency fails: Redis or PostgreSQL away, refusing, killed or
frozen. Real servers and real sockets: a Redis that is started and killed, ports where
nothing listens, a listener that accepts and never answers, a proxy in front of the real
PostgreSQL that is cut and restored."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn

from iocfeed.config import Settings
from iocfeed.taxii.media import TAXII_MEDIA_TYPE
from iocfeed.web.app import create_app
from tests.conftest import postgres_url, sqlite_url
from tests.web.conftest import TestClient, migrated, start_site

NOWHERE = "127.0.0.1:1"  # a port where nothing listens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def assert_unavailable(response: Any, message: str) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    if response.request.url.path.startswith("/taxii2"):
        assert response.headers["content-type"].startswith(TAXII_MEDIA_TYPE)
        body = response.json()
        assert body["http_status"] == "503"
        assert body["error_code"] == "dependency_unavailable"
        assert body["description"].startswith(message)
    else:
        body = response.json()
        assert body["status"] == 503
        assert body["error"] == "dependency_unavailable"
        assert body["message"].startswith(message)


# --- Redis ----------------------------------------------------------------------------


def test_redis_nowhere_counts_in_the_database(database_url: str) -> None:
    for site in start_site(database_url, redis_url=f"redis://{NOWHERE}/0"):
        answers = [site.get("/api/v1/me", "tiny") for _ in range(4)]  # 3 per minute
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
        assert site.get("/taxii2/api/collections/", "pro").status_code == 200
        assert metric(site.client, "iocfeed_rate_limiter_redis_failures_total") >= 1

        health = site.client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert (body["status"], body["database"], body["redis"]) == (
            "degraded",
            "ok",
            "unavailable",
        )
        assert body["checks"]["redis"]["detail"].startswith(
            "The rate limiter's Redis is unavailable"
        )


REDIS_SERVER = shutil.which("redis-server")


@contextlib.contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [REDIS_SERVER or "redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        wait_until(lambda: _answers(client))
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        client.close()


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_port() -> int:
    if REDIS_SERVER is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed: cannot start and kill a private Redis")
    return free_port()


def test_redis_killed_frozen_and_back_without_a_restart(tmp_path: Path, redis_port: int) -> None:
    url = f"redis://127.0.0.1:{redis_port}/0"
    watcher = redis.Redis(port=redis_port, socket_timeout=1)
    for site in start_site(
        migrated(sqlite_url(tmp_path)), redis_url=url, redis_timeout_seconds=0.5
    ):
        site.services.limiter.counters.retry_seconds = 0.2  # type: ignore[attr-defined]
        with redis_server(redis_port) as process:
            assert site.get("/api/v1/me", "tiny").status_code == 200
            assert watcher.dbsize() == 1  # counted in Redis
            assert site.client.get("/healthz").json()["redis"] == "ok"

            process.send_signal(signal.SIGSTOP)  # frozen: accepts, never answers
            started = time.monotonic()
            response = site.get("/api/v1/me", "tiny")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Remaining"] == "2"  # now in the database
            assert time.monotonic() - started < 3
            started = time.monotonic()
            health = site.client.get("/healthz")
            assert time.monotonic() - started < 3
            assert (health.status_code, health.json()["redis"]) == (200, "unavailable")
            process.send_signal(signal.SIGCONT)

            process.kill()  # killed
            process.wait()
            assert site.get("/api/v1/me", "tiny").headers["X-RateLimit-Remaining"] == "1"
            assert site.client.get("/healthz").json()["status"] == "degraded"
        failures = metric(site.client, "iocfeed_rate_limiter_redis_failures_total")
        assert failures >= 2

        with redis_server(redis_port):  # back, on the same port
            time.sleep(0.3)
            assert site.client.get("/healthz").json()["status"] == "ok"
            assert site.get("/api/v1/me", "tiny").status_code == 200
            assert watcher.dbsize() == 1  # counted in Redis again
    watcher.close()


# --- PostgreSQL -----------------------------------------------------------------------


def app_on(database_url: str, **settings: Any) -> Any:
    chosen: dict[str, Any] = {"expiry_sweep_seconds": 0, **settings}
    return create_app(Settings(database_url=database_url, **chosen))


def requests_on_every_surface(client: TestClient) -> list[Any]:
    key = {"X-API-Key": "iocf_aaaaaaaaaaaa_" + "A" * 43}
    return [
        client.get("/api/v1/iocs", headers=key),
        client.get("/taxii2/api/collections/", headers=key),
    ]


def test_postgresql_nowhere_is_a_503_naming_the_database() -> None:
    app = app_on(f"postgresql://postgres@{NOWHERE}/test")
    with TestClient(app, raise_server_exceptions=False) as client:
        for response in requests_on_every_surface(client):
            assert_unavailable(response, "The database is unavailable")
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a frozen server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_postgresql_frozen_answers_503_within_the_timeouts() -> None:
    with silent_listener() as port:
        app = app_on(
            f"postgresql://postgres@127.0.0.1:{port}/test",
            database_connect_timeout_seconds=2,
            health_timeout_seconds=1,
        )
        with TestClient(app, raise_server_exceptions=False) as client:
            started = time.monotonic()
            health = client.get("/healthz")
            assert time.monotonic() - started < 2.5
            assert health.status_code == 503
            assert health.json()["checks"]["database"]["detail"] == "no answer within 1 s"
            for response in requests_on_every_surface(client):
                started = time.monotonic()
                assert_unavailable(response, "The database")
                assert time.monotonic() - started < 5


def test_a_statement_over_the_statement_timeout_is_a_503(postgres_schema: str) -> None:
    for site in start_site(
        migrated(postgres_url(postgres_schema)), database_statement_timeout_seconds=0.2
    ):
        from sqlalchemy import text

        from iocfeed.errors import DependencyUnavailable

        with (
            pytest.raises(DependencyUnavailable, match="did not answer in time"),
            site.services.engine.connect() as connection,
        ):
            connection.execute(text("SELECT pg_sleep(1)"))
        assert site.get("/api/v1/me", "pro").status_code == 200


# --- PostgreSQL cut and restored, over real HTTP --------------------------------------------


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut (every connection dropped, the port closed)
    and restored on the same port, or frozen (connections accepted, nothing forwarded)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.flowing = threading.Event()
        self.flowing.set()

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client = listener.accept()[0]
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        with self.lock:
            for connection in self.sockets:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.sockets.clear()


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[int]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_postgresql_cut_keeps_connections_and_recovers(postgres_schema: str) -> None:
    from sqlalchemy.engine import make_url

    real = make_url(postgres_url(postgres_schema))
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    url = real.set(port=proxy.port).render_as_string(hide_password=False)
    app = app_on(migrated(url), database_connect_timeout_seconds=2)
    key = app.state.services.keys.create(name="k", plan="pro", now=app.state.services.clock.now())[
        1
    ]
    headers = {"X-API-Key": key}
    with live_server(app) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)

        def get(path: str) -> tuple[int, dict[str, str], bytes]:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()

        assert get("/api/v1/me")[0] == 200
        proxy.cut()
        for path in ("/api/v1/me", "/taxii2/api/collections/", "/api/v1/me", "/healthz"):
            status, response_headers, _ = get(path)  # on the same keep-alive connection
            assert status == 503, path
            assert response_headers["retry-after"] == "5"
            assert response_headers.get("connection") != "close"
        proxy.start()
        assert get("/api/v1/me")[0] == 200  # no restart: the pool reconnects
        assert get("/healthz")[0] == 200
        connection.close()
    app.state.services.close()
    proxy.cut()


def test_postgresql_frozen_with_pooled_connections_answers_503(postgres_schema: str) -> None:
    """A server that stops answering on connections the pool already holds (as a stopped
    PostgreSQL process does): no request waits past the timeouts."""
    from sqlalchemy.engine import make_url

    real = make_url(postgres_url(postgres_schema))
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    url = real.set(port=proxy.port).render_as_string(hide_password=False)
    app = app_on(migrated(url), database_connect_timeout_seconds=2, health_timeout_seconds=1)
    key = app.state.services.keys.create(name="k", plan="pro", now=app.state.services.clock.now())[
        1
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
        proxy.freeze()
        for path in ("/api/v1/me", "/taxii2/api/collections/"):
            started = time.monotonic()
            assert_unavailable(client.get(path, headers={"X-API-Key": key}), "The database")
            assert time.monotonic() - started < 10
        started = time.monotonic()
        assert client.get("/healthz").status_code == 503
        assert time.monotonic() - started < 2.5
        proxy.thaw()
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    app.state.services.close()
    proxy.cut()
