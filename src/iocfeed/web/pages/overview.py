"""``/overview``: the account at a glance: its plan (scopes, lookback, highest TLP, rate
limit) and what it used this month (requests per surface, objects and bytes served, and
the last poll of each TAXII collection with the ``added_after`` it used)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed.web.pages.rendering import render
from iocfeed.web.pages.viewer import SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, viewer: SignedIn) -> HTMLResponse:
    return render(request, "overview.html", {"usage": None}, viewer=viewer, section="overview")
