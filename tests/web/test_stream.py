"""The event stream over real HTTP: a client that disconnects and resumes with
``Last-Event-ID`` while writes go on gets every event once, in order; the plan's TLP
applies; forged ids are 400s; the server shuts down promptly with streams open."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from iocfeed.auth.keys import parse_key
from iocfeed.config import Settings
from iocfeed.event_feed import Audience, events_after
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.services import Services
from iocfeed.web.app import create_app
from tests.conformance.conftest import serving
from tests.conftest import sqlite_url
from tests.web.conftest import Site, migrated

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_events(lines: Iterator[str], wanted: int, timeout: float = 30) -> list[dict[str, str]]:
    """Up to ``wanted`` SSE events (fields by name), parsed from a response's lines."""
    found: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for line in lines:
        if time.monotonic() > deadline:
            break
        if line == "":
            if "data" in fields:
                found.append(fields)
                if len(found) == wanted:
                    return found
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    return found


def wait_for_start(response: httpx.Response) -> Iterator[str]:
    """The response's lines, after the stream's opening comment: its start position is
    fixed from here on."""
    lines = response.iter_lines()
    for line in lines:
        if line.startswith(": iocfeed event stream"):
            return lines
    raise AssertionError("the stream did not start")


class Live:
    def __init__(self, base: str, services: Services) -> None:
        self.base = base
        self.services = services
        now = datetime.now(UTC)
        self.pro = services.keys.create(name="pro", plan="pro", now=now)[1]
        self.enterprise = services.keys.create(name="ent", plan="enterprise", now=now)[1]

    def stream(self, key: str, **headers: str) -> httpx.Response:
        return httpx.stream(  # type: ignore[return-value]
            "GET",
            f"{self.base}/api/v1/stream",
            headers={"X-API-Key": key, **headers},
            timeout=httpx.Timeout(10, read=30),
        )


@pytest.fixture
def live(database_url: str) -> Iterator[Live]:
    settings = Settings(
        database_url=database_url,
        expiry_sweep_seconds=0,
        access_log=False,
        stream_poll_seconds=0.05,
        stream_heartbeat_seconds=1,
    )
    app = create_app(settings)
    with serving(app) as base:
        yield Live(base, app.state.services)


def writer(services: Services, count: int, done: threading.Event) -> None:
    """Writes go on: new indicators (some red, hidden from pro), updates and revocations."""
    for number in range(count):
        now = datetime.now(UTC)
        red = number % 7 == 3
        services.indicators.write(
            [
                IndicatorInput(
                    type=IocType.DOMAIN,
                    value=f"host{number}.example",
                    confidence=Confidence.HIGH,
                    tlp=Tlp.RED if red else None,
                )
            ],
            now,
        )
        if number % 5 == 4:
            services.indicators.write(
                [
                    IndicatorInput(
                        type=IocType.DOMAIN,
                        value=f"host{number - 2}.example",
                        confidence=Confidence.HIGH,
                        tags=("again",),
                        tlp=Tlp.RED if (number - 2) % 7 == 3 else None,
                    )
                ],
                now,
            )
        if number % 6 == 5:
            services.indicators.revoke(IocType.DOMAIN, f"host{number - 1}.example", now)
        time.sleep(0.01)
    done.set()


def test_resume_without_gap_or_repeat_while_writes_go_on(live: Live) -> None:
    done = threading.Event()
    received: list[dict[str, str]] = []
    with live.stream(live.pro) as first:
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/event-stream")
        lines = wait_for_start(first)
        thread = threading.Thread(target=writer, args=(live.services, 60, done))
        thread.start()
        received += read_events(lines, 20)
    assert len(received) == 20
    deadline = time.monotonic() + 120
    while not done.is_set() or len(received) < expected_count(live.services):
        assert time.monotonic() < deadline, "the stream stopped delivering"
        with live.stream(live.pro, **{"Last-Event-ID": received[-1]["id"]}) as again:
            assert again.status_code == 200
            received += read_events(wait_for_start(again), 15, timeout=3)
        if done.is_set() and len(received) >= expected_count(live.services):
            break
    thread.join()
    expected = events_after(
        live.services.search,
        EPOCH,
        Audience(max_tlp=Tlp.AMBER),
        limit=10_000,
        now=datetime.now(UTC),
    ).events
    documents = [orjson.loads(item["data"]) for item in received]
    assert [d["id"] for d in documents] == [
        f"{e.version.stix_id}@{e.version.modified.isoformat(timespec='milliseconds')[:-6]}Z"
        for e in expected
    ]
    assert [item["event"] for item in received] == [e.kind.event_type for e in expected]
    kinds = {item["event"] for item in received}
    assert kinds == {"indicator.created", "indicator.updated", "indicator.revoked"}
    assert all(d["object"]["object_marking_refs"] for d in documents)
    values = {d["indicator"]["value"] for d in documents}
    assert "host3.example" not in values  # red: above the pro plan


def expected_count(services: Services) -> int:
    batch = events_after(
        services.search, EPOCH, Audience(max_tlp=Tlp.AMBER), limit=10_000, now=datetime.now(UTC)
    )
    return len(batch.events)


def test_forged_and_foreign_event_ids_are_400(live: Live) -> None:
    live.services.indicators.write(
        [IndicatorInput(type=IocType.DOMAIN, value="a.example", confidence=Confidence.HIGH)],
        datetime.now(UTC),
    )
    with live.stream(live.pro) as opened:
        lines = wait_for_start(opened)
        live.services.indicators.write(
            [IndicatorInput(type=IocType.DOMAIN, value="b.example", confidence=Confidence.HIGH)],
            datetime.now(UTC),
        )
        token = read_events(lines, 1)[0]["id"]
    with live.stream(live.pro, **{"Last-Event-ID": token[:-2] + "AA"}) as forged:
        assert forged.status_code == 400
        forged.read()
        body = forged.json()
        assert body["parameter"] == "Last-Event-ID"
        assert "not a token this server issued" in body["message"]
    with live.stream(live.enterprise, **{"Last-Event-ID": token}) as foreign:
        assert foreign.status_code == 400
        foreign.read()
        assert "another API key" in foreign.json()["message"]
    headers = {"X-API-Key": live.pro, "Last-Event-ID": token}
    other = httpx.get(f"{live.base}/api/v1/stream?type=url", headers=headers, timeout=10)
    assert other.status_code == 400
    assert "other filters" in other.json()["message"]


def test_scope_and_bad_parameters(sqlite_site: Site) -> None:
    answer = sqlite_site.get("/api/v1/stream", "free")
    assert answer.status_code == 403
    assert answer.json()["message"] == "Requires the Pro plan (read:stream scope)"
    answer = sqlite_site.get("/api/v1/stream?events=deleted", "pro")
    assert (answer.status_code, answer.json()["parameter"]) == (400, "events")
    answer = sqlite_site.get("/api/v1/stream?since=yesterday", "pro")
    assert (answer.status_code, answer.json()["parameter"]) == (400, "since")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_server_stops_promptly_with_a_stream_open(tmp_path: Path) -> None:
    url = migrated(sqlite_url(tmp_path))
    env = {**os.environ, "IOCFEED_DATABASE_URL": url}
    key = subprocess.run(
        [sys.executable, "-m", "iocfeed", "keys", "create", "--plan", "pro", "--name", "s"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "iocfeed", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with httpx.stream(
            "GET",
            f"http://127.0.0.1:{port}/api/v1/stream",
            headers={"X-API-Key": key},
            timeout=httpx.Timeout(10, read=30),
        ) as opened:
            lines = wait_for_start(opened)
            asked = time.monotonic()
            process.send_signal(signal.SIGTERM)
            rest = list(lines)  # the stream ends, as a complete response
            assert rest[-2:] == [": the server is stopping; reconnect to resume", ""]
            process.wait(timeout=10)
            assert time.monotonic() - asked < 5
        # uvicorn shuts down, then re-raises the signal it caught (its normal exit on TERM).
        assert process.returncode in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_quiet_streams_carry_heartbeats(live: Live) -> None:
    with live.stream(live.pro) as opened:
        lines = wait_for_start(opened)
        started = time.monotonic()
        for line in lines:
            if line.startswith(": ping"):
                break
        assert time.monotonic() - started < 3  # the heartbeat is 1 s here


def test_a_key_revoked_mid_stream_ends_it(live: Live) -> None:
    with live.stream(live.pro) as opened:
        lines = wait_for_start(opened)
        parsed = parse_key(live.pro)
        assert parsed is not None
        key_id = parsed[0]
        live.services.keys.revoke(key_id, datetime.now(UTC))
        started = time.monotonic()
        rest = list(lines)
        assert time.monotonic() - started < 5
    assert ": this key may no longer read the stream" in rest
