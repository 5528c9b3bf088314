"""Operations endpoints: health for load balancers, metrics for Prometheus (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from iocfeed.web.auth import services

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Health check",
    description="200 when the service can reach its database, 503 when it cannot.",
)
def healthz(request: Request) -> JSONResponse:
    try:
        with services(request).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests by route and status, latency histogram, indicators by type.",
    response_class=Response,
)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
