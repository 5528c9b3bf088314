"""``/connect``: "Connect your SIEM", the TAXII settings for Sentinel, Splunk ES, OpenCTI, MISP
and taxii2-client, filled in with this service's public URL and its collections.

The collections are the ones ``GET /taxii2/api/collections/`` lists (the same use case), so
the page and the API cannot disagree. Nothing on it is secret; a signed-in subscriber also
sees the lookback of their plan where a client asks for a start date.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed.taxii_service import TaxiiService
from iocfeed.web.auth import services
from iocfeed.web.pages.rendering import public_base, render
from iocfeed.web.pages.viewer import MaybeViewer

router = APIRouter(include_in_schema=False)


@router.get("/connect", response_class=HTMLResponse)
def connect(request: Request, viewer: MaybeViewer) -> HTMLResponse:
    built = services(request)
    collections = TaxiiService(built).collections()
    lookback = None
    if viewer is not None:
        days = viewer.plan.lookback_days
        lookback = "no limit" if days is None else f"{days} days"
    start = built.clock.now() - timedelta(days=7)
    base = public_base(request)
    return render(
        request,
        "connect.html",
        {
            "api_root": f"{base}/taxii2/api/",
            "discovery": f"{base}/taxii2/",
            "collections": collections,
            "first": collections[0],
            "lookback": lookback,
            "example_added_after": start.strftime("%Y-%m-%dT00:00:00Z"),
        },
        viewer=viewer,
        section="connect",
    )
