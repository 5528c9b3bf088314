"""API key management over HTTP for admin keys (``admin:keys``): create, list, revoke.

The same operations as ``iocfeed keys``; the plaintext key is in the creation response only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from iocfeed.accounts.model import Narrowing
from iocfeed.auth.access import Principal
from iocfeed.auth.keys import expiry_problem
from iocfeed.config import Scope
from iocfeed.errors import NotFound
from iocfeed.portal.actors import Actor
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import body_error, invalid_body
from iocfeed.web.schemas import (
    JSON,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    error_responses,
    json_response,
    key_body,
)

router = APIRouter(tags=["keys"])

Admin = Annotated[Principal, Depends(require_scope(Scope.ADMIN))]

# Key ids are short lower-case alphanumerics (``iocfeed.auth.keys``); anything else is no key.
_KEY_ID_FORMAT = re.compile(r"[a-z0-9]{1,64}")
_KEY_ID = Path(description="The key id shown by `GET /api/v1/keys` (not the key itself).")


def _parse_create(body: bytes, plans: list[str], now: datetime) -> KeyCreate:
    try:
        wanted = KeyCreate.model_validate_json(body)
    except ValidationError as error:
        raise invalid_body(error) from None
    if wanted.plan not in plans:
        raise body_error(f"unknown plan {wanted.plan[:64]!r}; plans: {', '.join(plans)}", "plan")
    if wanted.expires is not None and wanted.expires.tzinfo is None:
        wanted = wanted.model_copy(update={"expires": wanted.expires.replace(tzinfo=UTC)})
    if wanted.expires is not None and (problem := expiry_problem(wanted.expires, now)):
        raise body_error(problem, "expires")
    return wanted


@router.post(
    "/keys",
    summary="Create an API key",
    description="Creates a key on a plan, in the account named after the key when that "
    "account is on the plan, else in a new account on the plan (`NAME (2)`, …). The key is "
    "in this response only: it is stored as a hash and cannot be shown again. Needs the "
    "`admin:keys` scope.",
    status_code=201,
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": KeyCreate.model_json_schema()}},
        }
    },
    responses={
        201: {"model": KeyCreated, "description": "The new key, with its secret."},
        **error_responses(401, 403, 413, 422, 429),
    },
)
async def create_key(request: Request, principal: Admin) -> Response:
    built = services(request)
    wanted = _parse_create(await request.body(), list(built.settings.plans), built.clock.now())

    def create() -> tuple[dict[str, object], str]:
        created = built.accounts.create_key_on_plan(
            wanted.name,
            wanted.plan,
            Actor(key_id=principal.key.key_id),
            Narrowing(expires=wanted.expires),
        )
        return key_body(created.key, built.clock.now()), created.plaintext

    body, plaintext = await run_in_threadpool(create)
    # The secret exists only in this response: no cache, shared or private, may keep it.
    return json_response(
        {**body, "key": plaintext},
        status_code=201,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get(
    "/keys",
    summary="List API keys",
    description="Every key, oldest first, with its state. Secrets are never shown. Needs the "
    "`admin:keys` scope.",
    response_model=None,
    responses={
        200: {"model": KeyList, "description": "The keys."},
        **error_responses(401, 403, 429),
    },
)
def list_keys(request: Request, principal: Admin) -> Response:
    built = services(request)
    now = built.clock.now()
    return json_response({"items": [key_body(key, now) for key in built.keys.list()]})


@router.delete(
    "/keys/{key_id}",
    summary="Revoke an API key",
    description="Revokes the key at once: requests with it get 401 from then on. Revoking "
    "twice changes nothing. Needs the `admin:keys` scope.",
    response_model=None,
    responses={
        200: {"model": KeyOut, "description": "The revoked key."},
        **error_responses(401, 403, 404, 429),
    },
)
def revoke_key(request: Request, principal: Admin, key_id: Annotated[str, _KEY_ID]) -> Response:
    built = services(request)
    now = built.clock.now()
    if not _KEY_ID_FORMAT.fullmatch(key_id):
        raise NotFound(f"no API key {key_id[:64]!r}")
    key = built.accounts.revoke_key(key_id, Actor(key_id=principal.key.key_id))
    return json_response(key_body(key, now))


def declare_plans(app: FastAPI, plans: Sequence[str]) -> None:
    """List the configured plans as the `plan` enum of key creation in the OpenAPI document
    (plans are configuration, so the models cannot know them)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            body = document["paths"]["/api/v1/keys"]["post"]["requestBody"]["content"][JSON]
            body["schema"]["properties"]["plan"]["enum"] = list(plans)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
