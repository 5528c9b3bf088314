"""``POST /api/v1/sightings`` (SPEC §7): hits and false positives reported back by SIEMs.

The handler reads the body, validates each item (``lifecycle.sightings``), records the good
ones in one transaction (``store.sightings``) and answers per item, as the bulk upsert does:
good items are kept even when others are invalid or name unknown indicators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import InvalidIndicator, UnsupportedMediaType
from iocfeed.lifecycle.decay import exported_score
from iocfeed.lifecycle.sightings import MAX_COUNT, Sighting, SightingKind, parse_sighting
from iocfeed.services import Services
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import body_error, json_items
from iocfeed.web.schemas import JSON, error_responses, json_response

router = APIRouter(tags=["sightings"])

Reporter = Annotated[Principal, Depends(require_scope(Scope.WRITE_SIGHTINGS))]

MAX_ITEMS = 10_000


class SightingIn(BaseModel):
    """One sighting: a value and its type, or the STIX id of the indicator."""

    value: str | None = Field(default=None, description="The indicator value (defanged is fine).")
    type: str | None = Field(default=None, description="Its IOC type, e.g. `ipv4`.")
    stix_id: str | None = Field(default=None, description="Instead of value and type.")
    kind: SightingKind = Field(
        description="`hit`: seen in your traffic or logs; `false-positive`: it fired on "
        "something benign."
    )
    source: str | None = Field(default=None, description="Where you saw it, e.g. `splunk-prod`.")
    count: int | None = Field(
        default=None, ge=1, le=MAX_COUNT, description="How many times (default 1)."
    )
    first_seen: datetime | None = Field(default=None, description="Default: `last_seen`.")
    last_seen: datetime | None = Field(default=None, description="Default: now.")


class SightingResult(BaseModel):
    line: int = Field(description="1-based position of the item in the request.")
    status: str = Field(description="`accepted`, `not_found` or `invalid`.")
    reason: str | None = Field(default=None, description="Why it was not accepted.")
    stix_id: str | None = Field(default=None, description="The indicator it was recorded on.")
    score: int | None = Field(default=None, description="The indicator's score after it.")
    revoked: bool | None = Field(default=None, description="Whether the indicator is revoked.")


class SightingsResult(BaseModel):
    """What a sightings request did, per item."""

    accepted: int
    not_found: int
    invalid: int
    results: list[SightingResult]


@router.post(
    "/sightings",
    summary="Report sightings and false positives",
    description="A JSON array of sightings (or an object whose `sightings` member is that "
    'array), each `{"value", "type", "kind", "source"}` or `{"stix_id", "kind", '
    '"source"}`, with optional `count`, `first_seen` and `last_seen`. A `hit` raises the '
    "indicator's `last_seen` and restarts its decay; a `false-positive` lowers its score, and "
    "false positives from several distinct accounts revoke it. Each item is answered "
    "`accepted`, `not_found` (unknown, or above your plan's highest TLP) or `invalid` with "
    "the reason; good items are kept. A body that is not such an array is 422. Needs the "
    "`write:sightings` scope (Pro plan and above).",
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {"schema": {"type": "array", "items": SightingIn.model_json_schema()}}
            },
        }
    },
    responses={
        200: {"model": SightingsResult, "description": "What each item did."},
        **error_responses(401, 403, 413, 415, 422, 429),
    },
)
async def report(request: Request, principal: Reporter) -> Response:
    content_type = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
    if not (content_type == JSON or content_type.endswith("+json")):
        raise UnsupportedMediaType(f"Send sightings as {JSON}, not {content_type[:100]!r}")
    items = _items(await request.body())
    body = await run_in_threadpool(_report, services(request), principal, items)
    return json_response(body)


def _items(body: bytes) -> list[object]:
    document = json_items(body, member="sightings", what="sightings")
    if len(document) > MAX_ITEMS:
        raise body_error(f"at most {MAX_ITEMS} sightings per request, got {len(document)}")
    return document


def _report(built: Services, principal: Principal, items: list[object]) -> dict[str, Any]:
    now = built.clock.now()
    results: dict[int, dict[str, Any]] = {}
    good: list[Sighting] = []
    for line, item in enumerate(items, start=1):
        try:
            good.append(parse_sighting(line, item, now))
        except InvalidIndicator as error:
            results[line] = {"line": line, "status": "invalid", "reason": str(error)}
    recorded = built.sightings.record(
        good,
        account_id=principal.account_id,
        key_id=principal.key.key_id,
        ceiling=principal.plan.max_tlp,
        now=now,
    )
    for item, outcome in zip(good, recorded, strict=True):
        indicator = outcome.indicator
        if indicator is None:
            named = item.stix_id or f"{item.type} indicator {item.value!r}"
            results[item.line] = {
                "line": item.line,
                "status": "not_found",
                "reason": f"no {named[:200]}",
            }
            continue
        results[item.line] = {
            "line": item.line,
            "status": "accepted",
            "stix_id": indicator.stix_id,
            "score": exported_score(indicator),
            "revoked": indicator.revoked,
        }
    ordered = [results[line] for line in sorted(results)]
    counts = dict.fromkeys(("accepted", "not_found", "invalid"), 0)
    for result in ordered:
        counts[result["status"]] += 1
    built.audit.record(
        key_id=principal.key.key_id,
        account_id=principal.account_id,
        action="sightings.report",
        parameters={
            "items": len(items),
            "hits": sum(1 for s in good if s.kind is SightingKind.HIT),
            "false_positives": sum(1 for s in good if s.kind is SightingKind.FALSE_POSITIVE),
            **counts,
        },
        result_count=counts["accepted"],
        now=now,
    )
    return {**counts, "results": ordered}
