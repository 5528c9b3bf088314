"""The landing page: where to point a browser, a script and a TAXII client (no key needed).

It shows only what is not secret: the URLs and collection ids a SOC engineer pastes into
Sentinel, Splunk or a script. Everything behind them asks for a key or a sign-in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed.taxii.collections import COLLECTIONS
from iocfeed.web.pages.rendering import render
from iocfeed.web.pages.viewer import MaybeViewer

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, viewer: MaybeViewer) -> HTMLResponse:
    return render(request, "landing.html", {"collections": COLLECTIONS}, viewer=viewer)
