"""Services on a real store, and a webhook receiver served on a loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iocfeed.clock import FixedClock
from iocfeed.config import Settings
from iocfeed.push.signatures import HEADER, verify
from iocfeed.services import Services, build_services
from tests.conformance.conftest import serving

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LOOPBACK = ["127.0.0.0/8"]


@dataclass
class Receiver:
    """A webhook receiver: checks each signature with ``secret``, answers ``fail`` (a
    status) to the first ``failures`` requests, and keeps what it accepted."""

    secret: str = ""
    other_secrets: list[str] = field(default_factory=list)
    failures: int = 0
    fail: int = 500
    requests: int = 0
    refused_signatures: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.requests += 1
            header = request.headers.get(HEADER, "")
            now = int(time.time())
            if not any(
                verify(header, secret, body, now) for secret in (self.secret, *self.other_secrets)
            ):
                self.refused_signatures += 1
                return Response(status_code=401)
            if self.requests <= self.failures:
                return Response(status_code=self.fail)
            self.accepted.append(orjson.loads(body))
        return Response(status_code=204)

    async def redirect(self, _request: Request) -> Response:
        return Response(status_code=307, headers={"Location": f"{self.base}/hook"})

    @property
    def event_ids(self) -> list[str]:
        return [event["id"] for body in self.accepted for event in body["events"]]


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    found = Receiver()
    app = Starlette(
        routes=[
            Route("/hook", found.hook, methods=["POST"]),
            Route("/redirect", found.redirect, methods=["POST"]),
        ]
    )
    with serving(app) as base:
        found.base = base
        yield found


def make_services(database_url: str, **settings: Any) -> tuple[Services, FixedClock]:
    clock = FixedClock(NOW)
    chosen: dict[str, Any] = {
        "expiry_sweep_seconds": 0,
        "webhook_allowed_networks": LOOPBACK,
        "webhook_timeout_seconds": 5,
        **settings,
    }
    return build_services(Settings(database_url=database_url, **chosen), clock), clock
