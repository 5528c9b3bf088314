"""The JSON the REST API speaks: pydantic models that document it, and the renderers that make it.

The models feed the OpenAPI document (``/openapi.json``); responses themselves are rendered
straight to bytes by orjson from the domain values (``indicator_body``, ``key_body``), so a
page of a thousand indicators costs no model validation. The tests check every response
against these models (schemathesis), which keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from iocfeed.auth.keys import ApiKey
from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.lifecycle.decay import exported_score
from iocfeed.lifecycle.sightings import SightingKind

JSON = "application/json"


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: exact, so it can be sent back as ``since``."""
    if moment.tzinfo is not UTC:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # beyond year 1 or 9999 in UTC: the nearest representable
            moment = (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``content`` as JSON bytes (orjson; datetimes as RFC 3339 with ``Z``)."""
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type=JSON,
        headers=headers,
    )


# --- errors ---------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """The one shape of every REST error (4xx and 5xx), built by ``iocfeed.web.errors``."""

    status: int = Field(description="The HTTP status code, repeated for log-friendly clients.")
    error: str = Field(
        description="Machine-readable error code, e.g. `invalid_query`, `unauthenticated`, "
        "`forbidden`, `not_found`, `rate_limited`, `body_too_large`, `invalid_request`."
    )
    message: str = Field(description="What went wrong and how to fix it, for a person.")
    parameter: str | None = Field(
        default=None, description="The query parameter or body field the error is about."
    )
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Every problem found, when a request had several."
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all with the error shape."""
    return {status: {"model": ErrorBody, "description": _ERRORS[status]} for status in statuses}


_ERRORS: dict[int, str] = {
    400: "A parameter has a value that cannot be used (the `parameter` field names it).",
    401: "No API key, or one that is unknown, expired or revoked. "
    "Send it as `X-API-Key` or as the HTTP Basic password.",
    403: "The key's plan lacks the scope this endpoint needs; the message names the plan "
    "that has it.",
    404: "No such indicator (or not visible to this key's plan), key or endpoint.",
    409: "The operation clashes with one in progress elsewhere (a source being run).",
    413: "The request body is larger than the server's limit.",
    415: "The request body is not JSON.",
    422: "The request is malformed: not JSON, the wrong shape, or a value of the wrong type.",
    429: "Over the plan's requests per minute; retry after `Retry-After` seconds.",
}

RATE_HEADERS: dict[str, Any] = {
    f"{prefix}RateLimit-{name}": {"description": text, "schema": {"type": "string"}}
    for prefix in ("", "X-")
    for name, text in (
        ("Limit", "Requests per minute the key's plan allows (absent for unlimited plans)."),
        ("Remaining", "Requests left in the current minute."),
        ("Reset", "Seconds until the current minute's count starts again."),
    )
}


# --- indicators -----------------------------------------------------------------------------


class IndicatorOut(BaseModel):
    """One indicator of compromise as the REST API shows it (its latest version)."""

    type: IocType = Field(description="IOC type.")
    value: str = Field(description="Canonical value (refanged, normalised).")
    stix_id: str = Field(description="Stable STIX id of the indicator (kept for ever).")
    confidence: Confidence = Field(description="How sure the source is.")
    tags: list[str] = Field(description="Free-text tags, lower case.")
    techniques: list[str] = Field(description="MITRE ATT&CK technique ids.")
    description: str
    source: str = Field(description="Where the indicator came from.")
    tlp: Tlp | None = Field(description="TLP the operator set on the indicator, if any.")
    effective_tlp: Tlp = Field(
        description="TLP that applies: the operator's, else the one its confidence gives."
    )
    first_seen: datetime
    last_seen: datetime
    valid_until: datetime | None = Field(description="Expiry; null = does not expire.")
    revoked: bool = Field(description="True once the indicator is revoked or expired.")
    created: datetime
    modified: datetime = Field(description="Time of the latest change visible in STIX.")
    warninglists: list[str] = Field(
        description="The enabled warninglists (false-positive lists) the value is on, "
        "whatever their policy; see `GET /api/v1/warninglists`."
    )

    score: int = Field(
        description="The STIX `confidence` exported now: the confidence's 85/50/15, lowered "
        "by decay since `last_seen` and by false-positive reports."
    )
    sightings: dict[str, int] = Field(
        description="Sightings reported back, by kind: `hit` and `false-positive`."
    )


def indicator_body(
    indicator: Indicator, sightings: Mapping[str, int], warninglists: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON object of ``indicator`` (see ``IndicatorOut``) and its sighting counts."""
    return {
        "type": indicator.type.value,
        "value": indicator.value,
        "stix_id": indicator.stix_id,
        "confidence": indicator.confidence.value,
        "tags": list(indicator.tags),
        "techniques": list(indicator.techniques),
        "description": indicator.description,
        "source": indicator.source,
        "tlp": indicator.tlp.value if indicator.tlp is not None else None,
        "effective_tlp": indicator.effective_tlp.value,
        "first_seen": timestamp(indicator.first_seen),
        "last_seen": timestamp(indicator.last_seen),
        "valid_until": timestamp(indicator.valid_until) if indicator.valid_until else None,
        "revoked": indicator.revoked,
        "created": timestamp(indicator.created),
        "modified": timestamp(indicator.modified),
        "warninglists": list(warninglists),
        "score": exported_score(indicator),
        "sightings": {kind.value: sightings.get(kind, 0) for kind in SightingKind},
    }


class IndicatorPage(BaseModel):
    """One page of a search, newest change first."""

    items: list[IndicatorOut]
    next: str | None = Field(
        description="URL of the next page (same filters plus a `next` cursor); "
        "null on the last page."
    )


class IndicatorIn(BaseModel):
    """One indicator to load. Only `value` is required; the type is detected when omitted.

    Values may be defanged (`hxxp://evil[.]com`); they are refanged and normalised.
    """

    model_config = ConfigDict(extra="allow")

    value: str = Field(description="The indicator, e.g. `198.51.100.7` or `hxxp://evil[.]com`.")
    type: str | None = Field(
        default=None,
        description="ipv4, ipv6, domain, url, md5, sha1, sha256, sha512, email, cve or "
        "mitre_attack (STIX and MISP names are understood too); detected when omitted.",
    )
    confidence: str | None = Field(
        default=None, description="high, medium (default) or low, or a STIX integer 0-100."
    )
    tags: list[str] | str | None = Field(
        default=None, description="List of tags, or one comma-separated string."
    )
    techniques: list[str] | str | None = Field(
        default=None, description="ATT&CK technique ids such as T1566.001."
    )
    description: str | None = None
    source: str | None = Field(default=None, description="Where the indicator came from.")
    tlp: str | None = Field(
        default=None,
        description="clear, green, amber, amber+strict or red; default from confidence.",
    )
    first_seen: str | None = Field(default=None, description="ISO 8601 timestamp.")
    last_seen: str | None = Field(default=None, description="ISO 8601 timestamp.")
    valid_until: str | None = Field(default=None, description="Expiry, ISO 8601 timestamp.")
    revoked: bool | None = Field(default=None, description="Load the indicator as revoked.")


def upsert_request_body() -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``POST /iocs`` (read by hand, see ``api.upsert``)."""
    item = IndicatorIn.model_json_schema()
    array = {"type": "array", "items": item}
    return {
        "required": True,
        "description": "A JSON array of indicator objects, or an object whose `indicators` "
        "member is that array.",
        "content": {
            JSON: {
                "schema": {
                    "anyOf": [
                        array,
                        {
                            "type": "object",
                            "required": ["indicators"],
                            "properties": {"indicators": array},
                        },
                    ]
                }
            }
        },
    }


class RejectedItem(BaseModel):
    """Why one item was not loaded."""

    line: int = Field(description="1-based position of the item in the submitted array.")
    reason: str = Field(description="Why it was rejected, e.g. `sha256 must be 64 hex …`.")
    text: str = Field(description="The item as submitted (shortened when long).")


class ImportResult(BaseModel):
    """What a bulk upsert did. Good items are stored even when others are rejected."""

    added: int = Field(description="New indicators.")
    updated: int = Field(description="Known indicators that changed (a new STIX version).")
    unchanged: int = Field(description="Known indicators with nothing new.")
    rejected: int = Field(description="Items not loaded; see `errors`.")
    errors: list[RejectedItem] = Field(description="The rejected items (the first 1000).")


# --- the caller -----------------------------------------------------------------------------


class RateStatus(BaseModel):
    limit: int = Field(description="Requests per minute the plan allows.")
    remaining: int = Field(description="Requests left in the current minute.")
    reset_seconds: int = Field(description="Seconds until the count starts again.")


class Me(BaseModel):
    """The calling key: its account's plan, narrowed by the key, and what that allows."""

    key_id: str = Field(description="Public id of the key (the secret is never shown again).")
    name: str
    account_id: int = Field(description="The account the key belongs to.")
    account_name: str = Field(description="The account's name.")
    plan: str = Field(description="The account's plan name, e.g. `pro`.")
    plan_title: str = Field(description="Plan name for people, e.g. `Pro`.")
    scopes: list[str] = Field(
        description="What the key may do, e.g. `read:iocs`: the plan's scopes narrowed by the key."
    )
    networks: list[str] = Field(
        description="Client networks (CIDRs) the key may be used from; empty = any."
    )
    device: bool = Field(description="A device key: it may only read exports.")
    lookback_days: int | None = Field(description="How far back reads may look; null = no limit.")
    lookback_start: datetime | None = Field(
        description="The earliest `modified` time reads reach now; null = no limit."
    )
    max_tlp: Tlp = Field(description="Highest TLP of indicators served to this key.")
    expires: datetime | None = Field(description="When the key expires; null = never.")
    rate_limit: RateStatus | None = Field(description="The key's rate; null = unlimited.")


class UsageCounts(BaseModel):
    requests: int = Field(description="Requests made with the account's keys.")
    objects: int = Field(description="Objects served: IOCs, STIX objects, manifest records.")
    bytes: int = Field(description="Response bytes sent (after compression).")


class UsageDay(UsageCounts):
    day: str = Field(description="UTC date, YYYY-MM-DD.")
    surface: str = Field(description="`rest`, `export` or `taxii`.")


class TaxiiPoll(BaseModel):
    key_id: str
    collection_id: str
    polled: datetime = Field(description="When the key last polled the collection's objects.")
    added_after: datetime | None = Field(
        description="The `added_after` that poll used (after the plan's lookback); null = none."
    )


class MeUsage(BaseModel):
    """What the caller's account used in one UTC month."""

    account_id: int
    account_name: str
    month: str = Field(description="YYYY-MM (UTC).")
    total: UsageCounts
    surfaces: dict[str, UsageCounts] = Field(description="Per surface: rest, export, taxii.")
    days: list[UsageDay] = Field(description="Per day and surface, oldest first.")
    taxii_polls: list[TaxiiPoll] = Field(
        description="Each key's last poll of each TAXII collection, newest first."
    )


# --- API keys -------------------------------------------------------------------------------


class KeyState:
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class KeyOut(BaseModel):
    """An API key without its secret."""

    key_id: str = Field(description="Public id of the key; the key itself reads iocf_<id>_….")
    name: str = Field(description="Who or what the key is for.")
    account_id: int = Field(description="The account the key belongs to.")
    account_name: str = Field(description="The account's name.")
    plan: str = Field(description="The account's plan.")
    created: datetime
    expires: datetime | None = Field(description="Expiry; null = never.")
    revoked: datetime | None = Field(description="When it was revoked; null = not revoked.")
    state: Literal["active", "expired", "revoked"]


class KeyCreated(KeyOut):
    """A new key. `key` is shown this once and cannot be recovered: store it now."""

    key: str = Field(description="The API key to send as X-API-Key.")


class KeyList(BaseModel):
    items: list[KeyOut]


class KeyCreate(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Who or what the key is for.")
    plan: str = Field(description="Plan name, e.g. free, pro, enterprise or admin.")
    expires: datetime | None = Field(
        default=None, description="Expiry (ISO 8601; UTC when no offset); null = never."
    )

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        if not name.isprintable():
            raise ValueError("name must not contain control characters")
        return name


def key_body(key: ApiKey, now: datetime) -> dict[str, Any]:
    """The JSON object of ``key`` (see ``KeyOut``)."""
    if key.revoked is not None:
        state = KeyState.REVOKED
    elif key.is_usable(now):
        state = KeyState.ACTIVE
    else:
        state = KeyState.EXPIRED
    return {
        "key_id": key.key_id,
        "name": key.name,
        "account_id": key.account_id,
        "account_name": key.account_name,
        "plan": key.plan,
        "created": timestamp(key.created),
        "expires": timestamp(key.expires) if key.expires else None,
        "revoked": timestamp(key.revoked) if key.revoked else None,
        "state": state,
    }
