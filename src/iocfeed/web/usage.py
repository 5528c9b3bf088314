"""Usage metering at the HTTP edge: each request made with a key is counted for its account
by surface (the table below), with the objects its handler says it served and the bytes
sent (after compression). The count goes to the in-memory meter (``portal.metering``);
nothing here waits for storage.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iocfeed.auth.access import Principal
from iocfeed.clock import Clock
from iocfeed.portal.metering import UsageMeter

# Path prefix (below any proxy root path) → surface, most specific first.
SURFACES: tuple[tuple[str, str], ...] = (
    ("/taxii2/", "taxii"),
    ("/api/v1/export", "export"),
    ("/api/v1/", "rest"),
)
SURFACE_NAMES = tuple(dict.fromkeys(surface for _, surface in SURFACES))


def surface_of(path: str) -> str | None:
    return next((surface for prefix, surface in SURFACES if path.startswith(prefix)), None)


def served(request: Request, objects: int) -> None:
    """Tell the meter how many objects this request's response holds."""
    request.state.objects_served = objects


def polled(
    request: Request,
    principal: Principal,
    collection_id: str,
    added_after: datetime | None,
) -> None:
    """Remember the key's TAXII poll of ``collection_id`` and the ``added_after`` it used."""
    meter: UsageMeter | None = getattr(request.app.state, "meter", None)
    if meter is not None:
        now = request.app.state.services.clock.now()
        meter.poll(principal.key.key_id, collection_id, added_after, now)


class UsageMiddleware:
    """Counts the bytes of each response and records the request once it is sent."""

    def __init__(self, app: ASGIApp, *, meter: UsageMeter, clock: Clock) -> None:
        self.app = app
        self.meter = meter
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = 0

        async def counting_send(message: Message) -> None:
            nonlocal size
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            state = scope.get("state") or {}
            principal = state.get("principal")
            if principal is not None:
                path = scope["path"].removeprefix(scope.get("root_path", ""))
                surface = surface_of(path)
                if surface is not None:
                    client = scope.get("client")
                    self.meter.record(
                        account_id=principal.account_id,
                        key_id=principal.key.key_id,
                        surface=surface,
                        objects=state.get("objects_served", 0),
                        size=size,
                        address=client[0] if client else None,
                        now=self.clock.now(),
                    )
