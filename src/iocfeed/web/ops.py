"""Operations endpoints: health for load balancers, metrics for Prometheus (no key needed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text

from iocfeed.errors import DependencyUnavailable
from iocfeed.web.auth import services

router = APIRouter(tags=["operations"])


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _check(probe: Callable[[], None], timeout: float) -> dict[str, Any]:
    """``probe`` run in a thread: its status and latency, never waiting past ``timeout``."""
    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.to_thread(probe), timeout)
        status, detail = "ok", None
    except TimeoutError:
        status, detail = "unavailable", f"no answer within {timeout:g} s"
    except DependencyUnavailable as exc:
        status, detail = "unavailable", exc.message
    result: dict[str, Any] = {
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if detail is not None:
        result["detail"] = detail
    return result


@router.get(
    "/healthz",
    summary="Health check",
    description="Each dependency's status and latency (`database`, and `redis` and "
    "`replica_1`, `replica_2`, … when configured). 200 while the database answers, 503 when "
    "it does not; a Redis that is away makes the status `degraded` (rate limits are then "
    "counted in the database), as does a read replica that is away (reads then skip it). "
    "Answers within `health_timeout_seconds` even if a dependency hangs.",
)
async def healthz(request: Request) -> JSONResponse:
    built = services(request)
    timeout = built.settings.health_timeout_seconds
    probes: dict[str, Callable[[], None]] = {"database": partial(_ping, built.engine)}
    if built.redis is not None:
        probes["redis"] = built.redis.ping
    for number, replica in enumerate(built.reads.replicas, start=1):
        probes[f"replica_{number}"] = partial(_ping, replica)
    results = await asyncio.gather(*(_check(probe, timeout) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    if checks["database"]["status"] != "ok":
        status, code = "unavailable", 503
    elif any(check["status"] != "ok" for check in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {"status": status, **{name: check["status"] for name, check in checks.items()}}
    headers = {"Retry-After": "5"} if code == 503 else None
    return JSONResponse({**body, "checks": checks}, code, headers=headers)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests by route and status, latency histogram, indicators by type, "
    "Redis failures of the rate limiter.",
    response_class=Response,
)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
