"""A real HTTP server on loopback serving feed files, and a runner on a real store."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from iocfeed.clock import FixedClock
from iocfeed.config import Settings
from iocfeed.sources.model import NewSource, Source, SourceKind
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.search import IndicatorSearch
from iocfeed.store.sources import SourceStore
from iocfeed.worker.runs import SourceRunner

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: bool = True
    length: bool = True
    cut: int | None = None
    """Send only this many bytes of the body, then close (Content-Length says the whole)."""


class FeedServer:
    """Routes by path; answers If-None-Match with 304 when the body's ETag matches."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, str]] = []
        server = self
        self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.hits[path] += 1
                server.requests.append(dict(self.headers.items()))
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                if route.delay:
                    server.stopping.wait(route.delay)
                etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                if route.etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                if route.etag:
                    self.send_header("ETag", etag)
                if route.length:
                    self.send_header("Content-Length", str(len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body[: route.cut])

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes | str | Path, **options: Any) -> str:
        if isinstance(body, Path):
            body = body.read_bytes()
        elif isinstance(body, str):
            body = body.encode()
        self.routes[path] = Route(body, **options)
        return self.url(path)

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@dataclass
class Pulling:
    """A runner on a real store with a fixed clock that tests move forward."""

    runner: SourceRunner
    sources: SourceStore
    indicators: IndicatorStore
    search: IndicatorSearch
    clock: FixedClock

    def add(self, name: str, kind: SourceKind, url: str, **options: Any) -> Source:
        return self.sources.add(NewSource(name, kind, url, **options), self.clock.now())


def make_pulling(engine: Engine, **settings: Any) -> Pulling:
    chosen = {"source_backoff_seconds": 0.01, "source_retries": 2, **settings}
    clock = FixedClock(NOW)
    sources = SourceStore(engine)
    indicators = IndicatorStore(engine, new_stix_id)
    runner = SourceRunner(Settings(**chosen), clock, indicators, sources)
    return Pulling(runner, sources, indicators, IndicatorSearch(engine), clock)


@pytest.fixture
def pulling(engine: Engine) -> Pulling:
    return make_pulling(engine)


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture
def iocfeed_cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``iocfeed`` command on a fresh database of each kind."""
    from typer.testing import CliRunner

    from iocfeed.cli.main import app

    monkeypatch.setenv("IOCFEED_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
