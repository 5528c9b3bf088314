"""Webhooks over HTTP, for keys with the ``write:webhooks`` scope (Pro plan and above):
create, list, show, delete, enable again, send a test, and read the delivery log.

A webhook belongs to an account (``owner_of``): other accounts see a 404. Events go out
as the grant of the key that made it allows (its account's plan, narrowed by the key).
Its secret is shown once, in the answer that creates it; the worker signs every delivery
with it
(``push.signatures``: header ``X-Iocfeed-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>." + body>``). The URL is checked when it is given, and again, after resolution, on
every delivery (``worker.guard``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import InvalidQuery
from iocfeed.event_feed import current_position
from iocfeed.push.addresses import parse_networks
from iocfeed.push.events import parse_kinds
from iocfeed.push.model import Delivery, Webhook
from iocfeed.push.signatures import HEADER, new_salt, webhook_secret
from iocfeed.services import Services
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import invalid_body
from iocfeed.web.schemas import JSON, error_responses, json_response
from iocfeed.worker.guard import Refused, checked_address
from iocfeed.worker.webhooks import WebhookDispatcher

router = APIRouter(tags=["webhooks"])

Subscriber = Annotated[Principal, Depends(require_scope(Scope.WEBHOOKS))]
_ID = Path(description="The webhook's id.", ge=1, le=2**62)
MAX_DELIVERIES_PAGE = 100

SIGNING = (
    f"Each delivery is a POST of JSON `{{delivery_id, created, events: [{{id, type, "
    f"date_added, indicator, object}}]}}` with the header `{HEADER}: t=<unix seconds>,"
    "v1=<hex>`, where `<hex>` is HMAC-SHA256, keyed with the webhook's secret, of "
    '`"<t>." + body`. Compare in constant time and refuse a `t` more than 5 minutes old. '
    "Event types: `indicator.created`, `indicator.updated`, `indicator.revoked`."
)


def owner_of(principal: Principal) -> int:
    """Whose webhooks a caller sees and makes: its account's."""
    return principal.account_id


class WebhookCreate(BaseModel):
    """A webhook to add."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Where to POST events (http or https).")
    events: list[str] = Field(
        default_factory=list,
        max_length=3,
        description="Event kinds: created, updated, revoked; none = all three.",
    )


def check_url(url: str, built: Services) -> str:
    """A URL a webhook may have: http(s), a host, no credentials, an allowed address."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidQuery("url must be an http or https URL with a host", parameter="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidQuery("url must not carry credentials", parameter="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        checked_address(
            parts.hostname, port, parse_networks(built.settings.webhook_allowed_networks)
        )
    except ValueError:
        raise InvalidQuery("url has a bad port", parameter="url") from None
    except Refused as refused:
        raise InvalidQuery(f"url {refused}", parameter="url") from None
    return url.strip()


def describe(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.webhook_id,
        "url": webhook.url,
        "events": sorted(kind.value for kind in webhook.events),
        "enabled": webhook.enabled,
        "disabled_reason": webhook.disabled_reason,
        "failures_in_a_row": webhook.failures,
        "created": webhook.created,
        "next_attempt": webhook.next_attempt,
    }


def describe_delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.delivery_id,
        "created": delivery.created,
        "status": delivery.status.value,
        "events": delivery.events,
        "attempts": delivery.attempts,
        "last_attempt": delivery.last_attempt,
        "response_status": delivery.response_status,
        "last_error": delivery.last_error,
        "delivered": delivery.delivered,
    }


@router.post(
    "/webhooks",
    summary="Add a webhook",
    description="Events are POSTed to the URL from now on, as the key's plan may see them "
    "(highest TLP, lookback). The answer carries the signing `secret`, shown this once. "
    "The URL must reach a public address (the operator may allow networks). "
    + SIGNING
    + " Needs the `write:webhooks` scope.",
    status_code=201,
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": WebhookCreate.model_json_schema()}},
        }
    },
    responses=error_responses(400, 401, 403, 413, 422, 429),
)
async def create_webhook(request: Request, principal: Subscriber) -> Response:
    built = services(request)
    try:
        wanted = WebhookCreate.model_validate_json(await request.body())
    except ValidationError as error:
        raise invalid_body(error) from None
    events = parse_kinds(wanted.events)

    def create() -> Response:
        url = check_url(wanted.url, built)
        now = built.clock.now()
        salt = new_salt()
        webhook = built.webhooks.add(
            account_id=owner_of(principal),
            key_id=principal.key.key_id,
            url=url,
            events=events,
            secret_salt=salt,
            position=current_position(built.search),
            now=now,
            most=built.settings.webhooks_per_account,
        )
        built.audit.record(
            key_id=principal.key.key_id,
            action="webhooks.create",
            parameters={"id": webhook.webhook_id, "url": url},
            result_count=1,
            now=now,
        )
        secret = webhook_secret(built.tokens.secret(), salt)
        return json_response({**describe(webhook), "secret": secret}, status_code=201)

    return await run_in_threadpool(create)


@router.get(
    "/webhooks",
    summary="List webhooks",
    description="The account's webhooks (never their secrets). Needs the `write:webhooks` scope.",
    response_model=None,
    responses=error_responses(401, 403, 429),
)
def list_webhooks(request: Request, principal: Subscriber) -> Response:
    found = services(request).webhooks.of_account(owner_of(principal))
    return json_response({"items": [describe(webhook) for webhook in found]})


@router.get(
    "/webhooks/{webhook_id}",
    summary="Show a webhook",
    description="Its state: enabled, or disabled with the reason. Needs `write:webhooks`.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def show_webhook(
    request: Request, principal: Subscriber, webhook_id: Annotated[int, _ID]
) -> Response:
    webhook = services(request).webhooks.get(webhook_id, owner_of(principal))
    return json_response(describe(webhook))


@router.delete(
    "/webhooks/{webhook_id}",
    summary="Delete a webhook",
    description="Stops its deliveries and forgets its log. Needs the `write:webhooks` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def delete_webhook(
    request: Request, principal: Subscriber, webhook_id: Annotated[int, _ID]
) -> Response:
    built = services(request)
    webhook = built.webhooks.get(webhook_id, owner_of(principal))
    built.webhooks.remove(webhook_id, owner_of(principal))
    built.audit.record(
        key_id=principal.key.key_id,
        action="webhooks.delete",
        parameters={"id": webhook_id},
        result_count=1,
        now=built.clock.now(),
    )
    return json_response(describe(webhook))


@router.post(
    "/webhooks/{webhook_id}/enable",
    summary="Enable a disabled webhook",
    description="Clears the failure count; the delivery that was pending goes out at the "
    "next worker pass, then everything after it. Needs the `write:webhooks` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def enable_webhook(
    request: Request, principal: Subscriber, webhook_id: Annotated[int, _ID]
) -> Response:
    built = services(request)
    webhook = built.webhooks.enable(webhook_id, owner_of(principal), built.clock.now())
    return json_response(describe(webhook))


@router.post(
    "/webhooks/{webhook_id}/test",
    summary="Send a test delivery",
    description="POSTs a signed `ping` (no events) to the URL now and answers with what "
    "came back: `delivered`, `response_status` and `error`. It is not logged and does not "
    "count as a failure. Needs the `write:webhooks` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def test_webhook(
    request: Request, principal: Subscriber, webhook_id: Annotated[int, _ID]
) -> Response:
    built = services(request)
    webhook = built.webhooks.get(webhook_id, owner_of(principal))
    dispatcher = WebhookDispatcher(
        built.settings,
        built.clock,
        built.webhooks,
        built.keys,
        built.search,
        built.producer,
        built.tokens.secret,
    )
    try:
        status, error = dispatcher.ping(webhook)
    finally:
        dispatcher.close()
    return json_response({"delivered": error is None, "response_status": status, "error": error})


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    summary="Read a webhook's delivery log",
    description="Deliveries newest first: status (`pending` or `delivered`), events, "
    "attempts, the last answer's status and error. Page with `before` (the last id seen). "
    "Needs the `write:webhooks` scope.",
    response_model=None,
    responses=error_responses(400, 401, 403, 404, 429),
)
def list_deliveries(
    request: Request,
    principal: Subscriber,
    webhook_id: Annotated[int, _ID],
    limit: Annotated[
        int, Query(ge=1, le=MAX_DELIVERIES_PAGE, description="Deliveries per page.")
    ] = 20,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="Only deliveries older than this id.")
    ] = None,
) -> Response:
    built = services(request)
    built.webhooks.get(webhook_id, owner_of(principal))
    found = built.webhooks.deliveries(webhook_id, limit=limit, before=before)
    more = len(found) == limit
    return json_response(
        {
            "items": [describe_delivery(delivery) for delivery in found],
            "next_before": found[-1].delivery_id if more and found else None,
        }
    )
