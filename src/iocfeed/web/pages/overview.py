"""``/overview``: the account at a glance: its plan (scopes, lookback, highest TLP, rate
limit) and what it used this month (requests per surface, objects and bytes served, and
the last poll of each TAXII collection with the ``added_after`` it used), from the same use
case as ``GET /api/v1/me/usage``."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed.taxii_service import TaxiiService
from iocfeed.web.auth import services
from iocfeed.web.pages.rendering import render
from iocfeed.web.pages.viewer import SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, viewer: SignedIn) -> HTMLResponse:
    built = services(request)
    now = built.clock.now().astimezone(UTC)
    used = built.usage.month(viewer.account_id, now.year, now.month)
    titles = {collection.id: collection.title for collection in TaxiiService(built).collections()}
    polls = [
        {"poll": poll, "title": titles.get(poll.collection_id, poll.collection_id)}
        for poll in built.usage.polls(viewer.account_id)
    ]
    return render(
        request,
        "overview.html",
        {"usage": used, "polls": polls},
        viewer=viewer,
        section="overview",
    )
