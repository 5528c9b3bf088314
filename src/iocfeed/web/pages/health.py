"""``/admin/health``: the service's health for its administrators: store size and database
latency, the last write and source run, indicators by type, and the backend the rate
limiter counts in (``Health.report``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed.web.auth import services
from iocfeed.web.pages.rendering import render
from iocfeed.web.pages.viewer import SiteAdmin

router = APIRouter(include_in_schema=False)


@router.get("/admin/health", response_class=HTMLResponse)
def health(request: Request, viewer: SiteAdmin) -> HTMLResponse:
    report = services(request).health.report()
    return render(request, "admin_health.html", {"report": report}, viewer=viewer, section="admin")
