"""The JSON REST API under ``/api/v1`` (SPEC §5): search, look up, load and revoke indicators.

Handlers parse (``iocfeed.web.params``), call the store, and render (``iocfeed.web.schemas``).
Every read applies the key's plan: its lookback clamps ``since`` (reported in
``X-Effective-Since``) and indicators above its highest TLP are never served (SPEC §4).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import NotFound, UnsupportedMediaType
from iocfeed.formats.jsonrecord import record_from_json
from iocfeed.indicators import merge
from iocfeed.indicators.model import Confidence, Indicator, IocType
from iocfeed.indicators.normalize import canonicalize
from iocfeed.indicators.query import Status
from iocfeed.ingest import ImportSummary, ingest
from iocfeed.parameters import parse_limit
from iocfeed.portal.usage import parse_month
from iocfeed.services import Services
from iocfeed.store.usage import Counts
from iocfeed.web import params
from iocfeed.web.auth import require_scope, services
from iocfeed.web.bulk import BULK, bulk_turns
from iocfeed.web.schemas import (
    JSON,
    RATE_HEADERS,
    ImportResult,
    IndicatorOut,
    IndicatorPage,
    Me,
    MeUsage,
    error_responses,
    indicator_body,
    json_response,
    timestamp,
    upsert_request_body,
)
from iocfeed.web.usage import served

router = APIRouter(tags=["indicators"])

Reader = Annotated[Principal, Depends(require_scope(Scope.READ_IOCS))]
Writer = Annotated[Principal, Depends(require_scope(Scope.WRITE_IOCS))]

EFFECTIVE_SINCE = "X-Effective-Since"

_TYPE_PATH = Path(
    description="IOC type: ipv4, ipv6, domain, url, md5, sha1, sha256, sha512, email, cve or "
    "mitre_attack."
)
_VALUE_PATH = Path(
    description="The indicator value, as pasted: defanged values (`hxxp://evil[.]com`, "
    "`198.51.100[.]7`) are refanged and normalised before the lookup. Percent-encode `?`, "
    "`#` and `%` in URLs; slashes may stay as they are."
)


# --- search ---------------------------------------------------------------------------------


@router.get(
    "/iocs",
    dependencies=[BULK],
    summary="Search indicators",
    description="Indicators matching every filter given, newest change (`modified`) first, "
    "in pages. Follow `next` until it is null to read them all; the walk sees the feed as it "
    "stood at its first page, so indicators loaded meanwhile neither repeat nor go missing "
    "(they appear in the next walk). Indicators above your plan's highest TLP are never "
    "returned.",
    response_model=None,
    responses={
        200: {
            "model": IndicatorPage,
            "description": "One page of indicators.",
            "headers": {
                EFFECTIVE_SINCE: {
                    "description": "The lower bound on `modified` actually applied: `since` "
                    "clamped to your plan's lookback. Absent when there is no bound.",
                    "schema": {"type": "string", "format": "date-time"},
                },
                **RATE_HEADERS,
            },
        },
        **error_responses(400, 401, 403, 422, 429),
    },
)
def search(
    request: Request,
    principal: Reader,
    *,
    type: Annotated[
        list[str] | None,
        Query(
            description="Only these IOC types: ipv4, ipv6, domain, url, md5, sha1, sha256, "
            "sha512, email, cve, mitre_attack. Repeat the parameter or separate with commas.",
            json_schema_extra={"items": {"type": "string", "enum": [t.value for t in IocType]}},
        ),
    ] = None,
    since: Annotated[
        str | None,
        Query(
            description="Only indicators changed at or after this time (ISO 8601, e.g. "
            "`2024-03-14` or `2024-03-14T09:30:00Z`; UTC when no offset is given). Clamped "
            "to your plan's lookback; the value applied is returned in `X-Effective-Since`. "
            "Default: the start of your plan's lookback.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(description="Only indicators changed at or before this time (ISO 8601)."),
    ] = None,
    confidence: Annotated[
        list[str] | None,
        Query(
            description="Only these confidences: high, medium, low (repeat or comma-separate).",
            json_schema_extra={"items": {"type": "string", "enum": [c.value for c in Confidence]}},
        ),
    ] = None,
    tag: Annotated[
        str | None, Query(description="Only indicators carrying this tag (case-insensitive).")
    ] = None,
    technique: Annotated[
        str | None,
        Query(description="Only indicators linked to this ATT&CK technique, e.g. `T1566.001`."),
    ] = None,
    source: Annotated[
        str | None, Query(description="Only indicators from this source (exact name).")
    ] = None,
    q: Annotated[
        str | None,
        Query(description="Text search: a substring of the value or of the description."),
    ] = None,
    status: Annotated[
        Status | None,
        Query(
            description="`active`: live and not past `valid_until`; `expired`: past "
            "`valid_until`; `revoked`: withdrawn before expiry. Default: all of them.",
        ),
    ] = None,
    include_flagged: Annotated[
        bool,
        Query(
            description="Also list indicators a warninglist with policy `flag` matched "
            "(tagged `warninglist:<name>`); left out by default, as in exports and TAXII.",
        ),
    ] = False,
    limit: Annotated[
        int | None,
        Query(
            description="Indicators per page, 1 to the server's maximum (1000 by default); "
            "default 100. Above the maximum is an error naming it.",
            json_schema_extra={"minimum": 1, "maximum": 1000},
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            alias=params.CURSOR,
            description="Opaque cursor from the previous page's `next` URL; send the same "
            "filters with it. It is signed, and valid only for your key and those filters "
            "(`limit` may change): anything else is a 400.",
        ),
    ] = None,
) -> Response:
    built = services(request)
    now = built.clock.now()
    query, effective_since = params.search_query(
        types=type,
        since=since,
        until=until,
        confidence=confidence,
        tag=tag,
        technique=technique,
        source=source,
        q=q,
        status=status,
        max_tlp=principal.plan.max_tlp,
        lookback_start=principal.lookback_start(now),
    )
    query = replace(query, include_flagged=include_flagged)
    page_size = parse_limit(
        limit, default=params.DEFAULT_LIMIT, maximum=built.settings.max_page_size
    )
    scope = params.search_scope(
        principal.key.key_id,
        {
            "type": type,
            "since": since,
            "until": until,
            "confidence": confidence,
            "tag": tag,
            "technique": technique,
            "source": source,
            "q": q,
            "status": None if status is None else status.value,
            "include_flagged": "true" if include_flagged else None,
        },
    )
    tokens = built.tokens.codec
    resume = params.parse_cursor(cursor, tokens, scope)
    as_of = resume.as_of if resume.as_of is not None else built.search.last_added()
    page = built.search.newest_first(
        replace(query, as_of=as_of), limit=page_size, after=resume.after, now=now
    )
    next_url = None
    if page.next is not None:
        token = tokens.issue(page.next, as_of, scope)
        next_url = str(request.url.include_query_params(**{params.CURSOR: token}))
    headers = {EFFECTIVE_SINCE: timestamp(effective_since)} if effective_since else None
    lists = built.warninglists.matcher()
    counts = built.sightings.counts(item.stix_id for item in page.items)
    body = {
        "items": [
            indicator_body(item, counts[item.stix_id], lists.check(item.type, item.value).matched)
            for item in page.items
        ],
        "next": next_url,
    }
    served(request, len(page.items))
    return json_response(body, headers=headers)


# --- one indicator --------------------------------------------------------------------------


def _visible(built: Services, principal: Principal, ioc_type: IocType, value: str) -> Indicator:
    """The indicator, if it exists, the key's plan may see its TLP and it last changed inside
    the plan's lookback (the bound search's ``since`` clamps to); else NotFound."""
    canonical = canonicalize(ioc_type, value)
    indicator = built.search.current(ioc_type, canonical)
    start = principal.lookback_start(built.clock.now())
    if (
        indicator is None
        or indicator.effective_tlp > principal.plan.max_tlp
        or (start is not None and indicator.modified < start)
    ):
        raise NotFound(f"No {ioc_type.value} indicator {canonical[:200]!r}")
    return indicator


@router.get(
    "/iocs/{type}/{value:path}",
    summary="Look up one indicator",
    description="The indicator with this type and value, revoked or not. The value is "
    "refanged and normalised first, so a pasted `hxxp://evil[.]com` finds `http://evil.com`. "
    "404 when it is not stored, when its TLP is above what your plan may receive, or when it "
    "last changed (`modified`) before your plan's lookback, as search would not return it.",
    response_model=None,
    responses={
        200: {"model": IndicatorOut, "description": "The indicator.", "headers": RATE_HEADERS},
        **error_responses(401, 403, 404, 422, 429),
    },
)
def lookup(
    request: Request,
    principal: Reader,
    type: Annotated[IocType, _TYPE_PATH],
    value: Annotated[str, _VALUE_PATH],
) -> Response:
    built = services(request)
    found = _visible(built, principal, type, value)
    served(request, 1)
    return json_response(
        indicator_body(
            found,
            built.sightings.counts([found.stix_id])[found.stix_id],
            built.warninglists.names_for(found),
        )
    )


@router.delete(
    "/iocs/{type}/{value:path}",
    summary="Revoke one indicator",
    description="Publishes a revoked version of the indicator (STIX `revoked: true`), so "
    "SIEMs that poll drop it. It stays visible here with `revoked: true`. Revoking twice "
    "changes nothing. 404 for an indicator a lookup would not show you (TLP above your plan's, "
    "or last changed before its lookback). Needs the `write:iocs` scope (Enterprise plan).",
    response_model=None,
    responses={
        200: {"model": IndicatorOut, "description": "The revoked indicator."},
        **error_responses(401, 403, 404, 422, 429),
    },
)
def revoke(
    request: Request,
    principal: Writer,
    type: Annotated[IocType, _TYPE_PATH],
    value: Annotated[str, _VALUE_PATH],
) -> Response:
    built = services(request)
    found = _visible(built, principal, type, value)
    now = built.clock.now()
    revoked = built.indicators.revoke(found.type, found.value, now)
    built.audit.record(
        key_id=principal.key.key_id,
        action="iocs.revoke",
        parameters={"type": found.type.value, "value": found.value},
        result_count=1,
        now=now,
    )
    return json_response(
        indicator_body(
            revoked,
            built.sightings.counts([revoked.stix_id])[revoked.stix_id],
            built.warninglists.names_for(revoked),
        )
    )


# --- bulk upsert ----------------------------------------------------------------------------


def _upsert(built: Services, principal: Principal, items: list[object]) -> ImportSummary:
    """Validate and store ``items`` (numbered from 1), and audit who loaded how many."""
    records = [record_from_json(number, item) for number, item in enumerate(items, start=1)]
    writer = merge.Writer(principal.key.key_id, principal.plan.max_tlp)
    summary = ingest(
        records,
        built.indicators,
        built.clock,
        writer=writer,
        screen=built.warninglists.screen(),
    )
    built.audit.record(
        key_id=principal.key.key_id,
        action="iocs.upsert",
        parameters={"items": len(items), "withheld": summary.withheld},
        result_count=summary.written,
        now=built.clock.now(),
    )
    return summary


@router.post(
    "/iocs",
    summary="Load indicators (bulk upsert)",
    description="Adds new indicators and merges known ones (tags are unioned, `last_seen` "
    "kept at the latest, confidence taken from this request), like `iocfeed import`. Good "
    "items are stored even when others are rejected: the response counts each outcome and "
    "lists every rejected item with its 1-based position (`line`) and the reason. Always "
    "200 when the body could be read; a body that is not a JSON array of objects is 422. "
    "Needs the `write:iocs` scope (Enterprise plan). The body size is limited by the server. "
    "An item naming an indicator above your plan's highest TLP changes nothing and is "
    "counted as it would be had the value been new to you: `added` the first time, then "
    "`unchanged` or `updated` as your own later items change it.",
    response_model=None,
    openapi_extra={"requestBody": upsert_request_body()},
    responses={
        200: {"model": ImportResult, "description": "What the load did."},
        **error_responses(401, 403, 413, 415, 422, 429),
    },
)
async def upsert(request: Request, principal: Writer) -> Response:
    # The body is read here, not declared as a parameter: a body over the size limit then
    # raises BodyTooLarge (413) while streaming, and bad JSON gets the API's own 422.
    content_type = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
    if not (content_type == JSON or content_type.endswith("+json")):
        raise UnsupportedMediaType(f"Send indicators as {JSON}, not {content_type[:100]!r}")
    items = params.upsert_items(await request.body())
    async with bulk_turns(request).turn():
        summary = await run_in_threadpool(_upsert, services(request), principal, items)
    return json_response(summary.as_dict())


# --- the caller -----------------------------------------------------------------------------


@router.get(
    "/me",
    summary="Your key, plan and rate",
    description="The key you call with, its account and the account's plan as narrowed by "
    "the key: scopes, lookback, highest TLP, allowed networks and how many requests are left "
    "this minute. Needs `read:iocs`, which every plan has.",
    response_model=None,
    responses={
        200: {"model": Me, "description": "The calling key.", "headers": RATE_HEADERS},
        **error_responses(401, 403, 429),
    },
)
def me(request: Request, principal: Reader) -> Response:
    built = services(request)
    now = built.clock.now()
    plan, key = principal.plan, principal.key
    rate = built.limiter.status(key.key_id, plan.requests_per_minute, now)
    lookback_start = principal.lookback_start(now)
    body: dict[str, Any] = {
        "key_id": key.key_id,
        "name": key.name,
        "account_id": principal.account_id,
        "account_name": principal.account_name,
        "plan": principal.account.plan,
        "plan_title": plan.title,
        "scopes": sorted(plan.scopes),
        "networks": list(key.networks),
        "device": key.device,
        "lookback_days": plan.lookback_days,
        "lookback_start": timestamp(lookback_start) if lookback_start else None,
        "max_tlp": plan.max_tlp.value,
        "expires": timestamp(key.expires) if key.expires else None,
        "rate_limit": None
        if rate is None
        else {
            "limit": rate.limit,
            "remaining": rate.remaining,
            "reset_seconds": rate.reset_seconds,
        },
    }
    return json_response(body)


@router.get(
    "/me/usage",
    summary="Your account's usage",
    description="What the keys of your key's account used in one UTC month: requests, "
    "objects and bytes served per surface (`rest`, `export`, `taxii`) and per day, and "
    "each key's last poll of each TAXII collection with the `added_after` it used. "
    "Counts are written every few seconds, so the last seconds may be missing. Needs "
    "`read:iocs`.",
    response_model=None,
    responses={
        200: {"model": MeUsage, "description": "The month's usage.", "headers": RATE_HEADERS},
        **error_responses(401, 403, 422, 429),
    },
)
def me_usage(
    request: Request,
    principal: Reader,
    month: Annotated[
        str | None,
        Query(
            description="The UTC month, YYYY-MM; default: the current one.", examples=["2026-03"]
        ),
    ] = None,
) -> Response:
    built = services(request)
    now = built.clock.now().astimezone(UTC)
    year, number = parse_month(month) if month is not None else (now.year, now.month)
    used = built.usage.month(principal.account_id, year, number)
    polls = built.usage.polls(principal.account_id)
    body: dict[str, Any] = {
        "account_id": principal.account_id,
        "account_name": principal.account_name,
        "month": used.month,
        "total": _counts(used.total),
        "surfaces": {surface: _counts(counts) for surface, counts in used.surfaces.items()},
        "days": [
            {
                "day": f"{day.day // 10000:04d}-{day.day // 100 % 100:02d}-{day.day % 100:02d}",
                "surface": day.surface,
                "requests": day.requests,
                "objects": day.objects,
                "bytes": day.bytes,
            }
            for day in used.days
        ],
        "taxii_polls": [
            {
                "key_id": poll.key_id,
                "collection_id": poll.collection_id,
                "polled": timestamp(poll.polled),
                "added_after": timestamp(poll.added_after) if poll.added_after else None,
            }
            for poll in polls
        ],
    }
    return json_response(body)


def _counts(counts: Counts) -> dict[str, int]:
    return {"requests": counts.requests, "objects": counts.objects, "bytes": counts.bytes}
