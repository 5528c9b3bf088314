"""``GET /api/v1/stream``: the indicator events as server-sent events, resumable.

Each event's ``id`` is a signed position token (``indicators.cursor``, endpoint
``STREAM``): the ``date_added`` of its version, bound to the key and the filters. A client
that reconnects with ``Last-Event-ID`` gets every event after that one, none twice
(versions are read in ``date_added`` order, which is commit order); a token that was
forged, or issued to another key or other filters, is a 400. Without one the stream starts
now, or at ``since`` (clamped to the plan's lookback).

The key's plan applies on every read: its highest TLP and lookback (``event_feed``). One
connection lasts at most ``stream_max_seconds`` and reads at most a page of events per
look; comments (``: ping``) are sent after ``stream_heartbeat_seconds`` of quiet so that
proxies keep the connection open. sse-starlette tells every stream when the server is told
to stop; the stream then ends its response properly, so a shutdown is not held up by
open streams and clients see a complete response.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from iocfeed.accounts.grant import effective_grant
from iocfeed.auth.access import Principal
from iocfeed.config import Plan, Scope
from iocfeed.errors import InvalidQuery
from iocfeed.event_feed import Audience, current_position, events_after
from iocfeed.indicators.cursor import Endpoint
from iocfeed.indicators.cursor import Scope as TokenScope
from iocfeed.indicators.query import Keyset, clamp_to_lookback
from iocfeed.parameters import parse_time, parse_types
from iocfeed.push.events import ALL_KINDS, Event, parse_kinds
from iocfeed.services import Services
from iocfeed.stix.objects import ExportOptions, sdo_for
from iocfeed.web.auth import require_scope, services
from iocfeed.web.schemas import error_responses

router = APIRouter(tags=["stream"])

Streamer = Annotated[Principal, Depends(require_scope(Scope.STREAM))]
PAGE = 100
RETRY_MILLISECONDS = 2000
LAST_EVENT_ID = "Last-Event-ID"
SHUTDOWN_GRACE_SECONDS = 3.0
"""How long a stream has to end by itself (its last read, a farewell comment) when the
server is stopping, before it is cut."""


def current_plan(built: Services, principal: Principal) -> Plan | None:
    """The plan the caller's key grants now, if it may still read the stream."""
    found = built.keys.find_with_account(principal.key.key_id)
    if found is None:
        return None
    key, _hash, account = found
    plan = built.settings.plans.get(account.plan)
    now = built.clock.now()
    if (
        plan is None
        or key.revoked is not None
        or (key.expires is not None and key.expires <= now)
        or account.suspended
    ):
        return None
    granted = effective_grant(account.plan, plan, key.narrowing).plan
    return granted if Scope.STREAM in granted.scopes else None


def _position_token(built: Services, scope: TokenScope, event: Event) -> str:
    at = Keyset(event.position, event.version.seq)
    return built.tokens.codec.issue(at, event.position, scope)


@router.get(
    "/stream",
    summary="Stream indicator events (server-sent events)",
    description="A `text/event-stream` of `indicator.created`, `indicator.updated` and "
    "`indicator.revoked` events, each with the indicator's STIX object, as the key's plan "
    "may see them (highest TLP, lookback). Reconnect with `Last-Event-ID` (browsers' "
    "EventSource does) to go on after the last event received, without gaps or repeats. "
    "A connection lasts at most an hour (`stream_max_seconds`); quiet streams carry "
    "`: ping` comments. Needs the `read:stream` scope (Pro plan and above).",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream."},
        **error_responses(400, 401, 403, 429),
    },
)
async def stream(
    request: Request,
    principal: Streamer,
    *,
    type: Annotated[
        list[str] | None, Query(description="IOC types (repeatable or comma separated).")
    ] = None,
    events: Annotated[
        list[str] | None, Query(description="created, updated, revoked; none = all.")
    ] = None,
    since: Annotated[
        str | None, Query(description="Start after this time instead of now (no Last-Event-ID).")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias=LAST_EVENT_ID, description="The last event id received.")
    ] = None,
) -> EventSourceResponse:
    built = services(request)
    settings = built.settings
    types = parse_types(type)
    kinds = parse_kinds([part for value in events or () for part in value.split(",")])
    filters = {
        "type": sorted(t.value for t in types),
        "events": sorted(k.value for k in kinds) if kinds != ALL_KINDS else [],
    }
    scope = TokenScope(key_id=principal.key.key_id, endpoint=Endpoint.STREAM, filters=filters)
    now = built.clock.now()
    if last_event_id:
        try:
            resumed = built.tokens.codec.resume(last_event_id.strip(), scope)
        except InvalidQuery as error:
            raise InvalidQuery(
                error.message.replace("next ", f"{LAST_EVENT_ID} ", 1),
                parameter=LAST_EVENT_ID,
            ) from None
        if resumed.after is None:
            raise InvalidQuery(f"{LAST_EVENT_ID} is not an event id", parameter=LAST_EVENT_ID)
        position = resumed.after.at
    else:
        start = clamp_to_lookback(parse_time(since, "since"), principal.lookback_start(now))
        position = (
            start if start is not None else await asyncio.to_thread(current_position, built.search)
        )
    audience = Audience.of_plan(principal.plan, kinds, types)
    options = ExportOptions()

    stopping = anyio.Event()

    async def produce() -> AsyncIterator[ServerSentEvent | dict[str, Any]]:
        nonlocal position, audience
        deadline = time.monotonic() + settings.stream_max_seconds
        checked = time.monotonic()
        yield ServerSentEvent(comment="iocfeed event stream", retry=RETRY_MILLISECONDS)
        while (
            time.monotonic() < deadline
            and not stopping.is_set()
            and not await request.is_disconnected()
        ):
            # At each heartbeat interval the key and its account are read again: a revoked
            # key, a suspended account or a plan change applies to open streams too.
            if time.monotonic() - checked > settings.stream_heartbeat_seconds:
                checked = time.monotonic()
                plan = await asyncio.to_thread(current_plan, built, principal)
                if plan is None:
                    yield ServerSentEvent(comment="this key may no longer read the stream")
                    return
                audience = Audience.of_plan(plan, kinds, types)
            batch = await asyncio.to_thread(
                events_after, built.search, position, audience, limit=PAGE, now=built.clock.now()
            )
            for event in batch.events:
                document = event.document(sdo_for(event.version, options, built.producer))
                yield ServerSentEvent(
                    data=orjson.dumps(document).decode(),
                    event=event.kind.event_type,
                    id=_position_token(built, scope, event),
                )
            position = batch.position
            if not batch.more:
                with anyio.move_on_after(settings.stream_poll_seconds):
                    await stopping.wait()
        if stopping.is_set():
            yield ServerSentEvent(comment="the server is stopping; reconnect to resume")

    return EventSourceResponse(
        produce(),
        shutdown_event=stopping,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
        ping=int(max(1, settings.stream_heartbeat_seconds)),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
