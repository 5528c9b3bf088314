"""The Sentinel pusher against a stand-in of the upload API and Entra ID on loopback, on
SQLite and PostgreSQL: client-credentials token, batches of at most 100, the request rate
(429s honoured, nothing lost or repeated), per-record errors in the run record, and a
checkpoint that resumes a failed run."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.push.model import PushOutcome, SentinelSettings
from iocfeed.services import Services
from iocfeed.worker.sentinel import BEGINNING, SentinelPusher
from tests.conformance.conftest import serving
from tests.worker.conftest import make_services

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
WORKSPACE = "f7b3c0a1-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
CLIENT = "c0ffee00-0000-4000-8000-000000000001"
SECRET = "s3cret-value"
UPLOAD = f"/workspaces/{WORKSPACE}/threat-intelligence-stix-objects:upload"


@dataclass
class SentinelStandIn:
    """Entra ID's token endpoint and Sentinel's upload API, with their documented limits:
    at most ``per_window`` requests per ``window`` seconds (else 429 with Sentinel's message
    and ``Retry-After``), at most 100 objects per request (else 400), a bearer token it
    issued; objects for email addresses are refused per record, as Sentinel refuses
    objects it cannot validate. ``fail_request`` answers 500 to that request number."""

    per_window: int = 100
    window: float = 60.0
    fail_request: int | None = None
    tokens_issued: int = 0
    requests: int = 0
    throttled: int = 0
    oversized: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    sent_times: deque[float] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        good = (
            request.path_params["tenant"] == TENANT
            and form.get("grant_type") == "client_credentials"
            and form.get("client_id") == CLIENT
            and form.get("client_secret") == SECRET
            and form.get("scope") == "https://management.azure.com/.default"
        )
        if not good:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"},
                status_code=401,
            )
        with self.lock:
            self.tokens_issued += 1
            number = self.tokens_issued
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": f"token-{number}"}
        )

    async def upload(self, request: Request) -> Response:
        if request.query_params.get("api-version") != "2024-02-01-preview":
            return JSONResponse({"error": "api-version"}, status_code=400)
        if not request.headers.get("authorization", "").startswith("Bearer token-"):
            return Response(status_code=401)
        body = orjson.loads(await request.body())
        objects = body["stixobjects"]
        now = time.monotonic()
        with self.lock:
            self.requests += 1
            if self.fail_request == self.requests:
                return JSONResponse({"error": "internal"}, status_code=500)
            while self.sent_times and self.sent_times[0] <= now - self.window:
                self.sent_times.popleft()
            if len(self.sent_times) >= self.per_window:
                self.throttled += 1
                wait = max(1, round(self.sent_times[0] + self.window - now + 0.5))
                return JSONResponse(
                    {
                        "statusCode": 429,
                        "message": f"Rate limit is exceeded. Try again in {wait} seconds.",
                    },
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
            self.sent_times.append(now)
            if len(objects) > 100 or body.get("sourcesystem") != "iocfeed-test":
                self.oversized += 1
                return JSONResponse({"error": "bad request"}, status_code=400)
            self.batch_sizes.append(len(objects))
            errors = []
            for index, item in enumerate(objects):
                if "email-addr" in item.get("pattern", ""):
                    errors.append(
                        {
                            "recordIndex": index,
                            "errorMessages": [
                                "Error for Property=pattern: email-addr is not supported."
                            ],
                        }
                    )
                else:
                    self.received.append(f"{item['id']}@{item['modified']}")
        if errors:
            return JSONResponse({"errors": errors})
        return Response(status_code=200)


@pytest.fixture(name="stand_in")
def stand_in_fixture() -> Iterator[tuple[SentinelStandIn, str]]:
    found = SentinelStandIn()
    app = Starlette(
        routes=[
            Route("/{tenant}/oauth2/v2.0/token", found.token, methods=["POST"]),
            Route(UPLOAD, found.upload, methods=["POST"]),
        ]
    )
    with serving(app) as base:
        yield found, base


def load(services: Services, count: int, emails: int = 0) -> None:
    now = services.clock.now()
    inputs = [
        IndicatorInput(type=IocType.DOMAIN, value=f"host{n}.example", confidence=Confidence.HIGH)
        for n in range(count)
    ]
    inputs += [
        IndicatorInput(type=IocType.EMAIL, value=f"bad{n}@example.com", confidence=Confidence.HIGH)
        for n in range(emails)
    ]
    inputs.append(IndicatorInput(type=IocType.DOMAIN, value="secret.example", tlp=Tlp.RED))
    services.indicators.write(inputs, now)


def pusher_for(database_url: str, base: str, **settings: Any) -> tuple[Services, SentinelPusher]:
    services, _clock = make_services(
        database_url, sentinel_login_url=base, sentinel_api_url=base, **settings
    )
    services.pushers.add(
        name="sentinel",
        settings=SentinelSettings(
            tenant_id=TENANT, client_id=CLIENT, workspace_id=WORKSPACE, source_system="iocfeed-test"
        ),
        client_secret=SECRET,
        interval_seconds=3600,
        checkpoint=BEGINNING,
        now=services.clock.now(),
    )
    runner = SentinelPusher(
        services.settings, services.clock, services.pushers, services.search, services.producer
    )
    return services, runner


def test_batches_rate_and_429s_are_obeyed(
    database_url: str, stand_in: tuple[SentinelStandIn, str]
) -> None:
    sentinel, base = stand_in
    sentinel.per_window, sentinel.window = 2, 3.0
    # Paced faster than the stand-in allows: its 429s must be waited out.
    services, runner = pusher_for(
        database_url, base, sentinel_requests_per_window=10, sentinel_window_seconds=1
    )
    load(services, 430)
    run = runner.run(services.pushers.get("sentinel"))
    assert run is not None
    assert run.outcome is PushOutcome.SUCCEEDED, run.error
    assert sentinel.batch_sizes == [100, 100, 100, 100, 30]
    assert sentinel.oversized == 0
    assert sentinel.throttled >= 1
    assert run.counts.throttled == sentinel.throttled
    assert run.counts.requests == sentinel.requests == 5 + sentinel.throttled
    assert run.counts.uploaded == 430
    assert len(set(sentinel.received)) == 430  # none twice, the red one not at all
    assert sentinel.tokens_issued == 1
    services.close()


def test_paced_to_the_limit_no_429(
    database_url: str, stand_in: tuple[SentinelStandIn, str]
) -> None:
    sentinel, base = stand_in
    sentinel.per_window, sentinel.window = 2, 1.0
    services, runner = pusher_for(
        database_url, base, sentinel_requests_per_window=2, sentinel_window_seconds=1
    )
    load(services, 250)
    started = time.monotonic()
    run = runner.run(services.pushers.get("sentinel"))
    elapsed = time.monotonic() - started
    assert run is not None
    assert (run.outcome, run.counts.throttled, sentinel.throttled) == (PushOutcome.SUCCEEDED, 0, 0)
    assert sentinel.batch_sizes == [100, 100, 50]
    assert elapsed >= 1.0  # the third request waited for the window
    services.close()


def test_per_record_errors_are_reported(
    database_url: str, stand_in: tuple[SentinelStandIn, str]
) -> None:
    _sentinel, base = stand_in
    services, runner = pusher_for(database_url, base)
    load(services, 20, emails=3)
    run = runner.run(services.pushers.get("sentinel"))
    assert run is not None
    assert run.outcome is PushOutcome.PARTIAL
    assert (run.counts.uploaded, run.counts.rejected) == (20, 3)
    assert len(run.record_errors) == 3
    for refused in run.record_errors:
        assert refused.object_id.startswith("indicator--")
        assert refused.messages == ("Error for Property=pattern: email-addr is not supported.",)
    stored = services.pushers.runs(services.pushers.get("sentinel").pusher_id)[0]
    assert stored.record_errors == run.record_errors
    services.close()


def test_a_failed_run_resumes_from_its_checkpoint(
    database_url: str, stand_in: tuple[SentinelStandIn, str]
) -> None:
    sentinel, base = stand_in
    sentinel.fail_request = 3
    services, runner = pusher_for(database_url, base)
    load(services, 350)
    failed = runner.run(services.pushers.get("sentinel"))
    assert failed is not None
    assert failed.outcome is PushOutcome.FAILED
    assert failed.error is not None
    assert "Sentinel answered 500" in failed.error
    assert failed.counts.uploaded == 200
    resumed = runner.run(services.pushers.get("sentinel"))
    assert resumed is not None
    assert resumed.outcome is PushOutcome.SUCCEEDED
    assert resumed.counts.uploaded == 150
    assert len(sentinel.received) == len(set(sentinel.received)) == 350
    again = runner.run(services.pushers.get("sentinel"))
    assert again is not None
    assert (again.counts.uploaded, again.counts.requests) == (0, 0)
    services.close()


def test_bad_client_secret_fails_the_run_without_echoing_it(
    database_url: str, stand_in: tuple[SentinelStandIn, str]
) -> None:
    _sentinel, base = stand_in
    services, runner = pusher_for(database_url, base)
    services.pushers.remove("sentinel")
    services.pushers.add(
        name="wrong",
        settings=SentinelSettings(
            tenant_id=TENANT, client_id=CLIENT, workspace_id=WORKSPACE, source_system="iocfeed-test"
        ),
        client_secret="not-the-secret",
        interval_seconds=3600,
        checkpoint=BEGINNING,
        now=services.clock.now(),
    )
    load(services, 5)
    run = runner.run(services.pushers.get("wrong"))
    assert run is not None
    assert run.outcome is PushOutcome.FAILED
    assert run.error is not None
    assert "invalid_client" in run.error
    assert "not-the-secret" not in run.error
    services.close()
