"""False-positive lists over HTTP: list and check with any key (``read:iocs``, which every
plan has); set a list's policy or save an operator list with ``admin:warninglists``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.lifecycle.warninglists import Origin, Policy
from iocfeed.warninglists import CheckResult, ListInfo
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import invalid_body
from iocfeed.web.schemas import JSON, error_responses, json_response

router = APIRouter(tags=["warninglists"])

Reader = Annotated[Principal, Depends(require_scope(Scope.READ_IOCS))]
ListsAdmin = Annotated[Principal, Depends(require_scope(Scope.WARNINGLISTS))]
_NAME = Path(description="The list's name, as `GET /api/v1/warninglists` shows it.", max_length=128)


class WarninglistOut(BaseModel):
    """One false-positive list and what a match on it does at ingest."""

    name: str = Field(description="The list's name; flagged indicators carry `warninglist:<name>`.")
    origin: Origin = Field(description="`misp`: a MISP warninglist; `operator`: your own.")
    policy: Policy = Field(
        description="`block`: rejected at ingest; `flag`: stored, tagged, left out of exports "
        "and TAXII unless `include_flagged=true`; `allow`: taken back from every block and "
        "flag; `off`: ignored."
    )
    default_policy: Policy = Field(description="The policy the list starts with.")
    title: str
    description: str
    entries: int = Field(description="Number of entries (values, domains and networks).")


class WarninglistPage(BaseModel):
    items: list[WarninglistOut]


class CheckOut(BaseModel):
    """What the lists say of one value, and what ingest would do with it."""

    type: str = Field(description="The IOC type of the value (detected unless given).")
    value: str = Field(description="The canonical value that was checked.")
    action: str = Field(description="`block`, `flag` or `store`.")
    matched: list[str] = Field(description="Every enabled list the value is on.")
    blocked_by: str | None = Field(description="The block list that rejects it, if any.")
    flagged_by: list[str]
    allowed_by: list[str] = Field(description="Allow lists that take it back.")


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Policy


class OperatorListIn(BaseModel):
    """One of your own lists: addresses or CIDRs, domains (each also matching every name
    under it), and exact values (hashes, URLs, e-mail addresses)."""

    model_config = ConfigDict(extra="forbid")

    policy: Policy = Policy.BLOCK
    description: str = Field(default="", max_length=500)
    entries: list[str] = Field(max_length=100_000)


def _list_body(info: ListInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "origin": info.origin.value,
        "policy": info.policy.value,
        "default_policy": info.default_policy.value,
        "title": info.title,
        "description": info.description,
        "entries": info.entries,
    }


def _check_body(result: CheckResult) -> dict[str, Any]:
    verdict = result.verdict
    return {
        "type": result.type.value,
        "value": result.value,
        "action": result.action,
        "matched": list(verdict.matched),
        "blocked_by": verdict.blocked_by,
        "flagged_by": list(verdict.flagged_by),
        "allowed_by": list(verdict.allowed_by),
    }


@router.get(
    "/warninglists",
    summary="List the false-positive lists",
    description="Every MISP warninglist and operator list with its policy. Needs `read:iocs`, "
    "which every plan has.",
    response_model=None,
    responses={
        200: {"model": WarninglistPage, "description": "Every list."},
        **error_responses(401, 403, 429),
    },
)
def list_warninglists(request: Request, principal: Reader) -> Response:
    lists = services(request).warninglists.lists()
    return json_response({"items": [_list_body(info) for info in lists]})


@router.get(
    "/warninglists/check",
    summary="Check a value against the lists",
    description="Which enabled lists a value (defanged or not) is on, and whether ingest "
    "would block, flag or store it. Needs `read:iocs`.",
    response_model=None,
    responses={
        200: {"model": CheckOut, "description": "The verdict."},
        **error_responses(400, 401, 403, 422, 429),
    },
)
def check_value(
    request: Request,
    principal: Reader,
    value: Annotated[
        str, Query(description="Any indicator value.", max_length=8192, examples=["8.8.8.8"])
    ],
    type: Annotated[
        str | None, Query(description="Its IOC type, when it cannot be told from the value.")
    ] = None,
) -> Response:
    result = services(request).warninglists.check(value, type)
    return json_response(_check_body(result))


@router.put(
    "/warninglists/{name}/policy",
    summary="Set a list's policy",
    description="Sets `block`, `flag`, `allow` or `off` on a list. Stored indicators are "
    "then re-checked by the worker, which publishes a revoked version of each one a block "
    "list now matches and a tagged version of each one a flag list now matches. Audited. "
    "Needs the `admin:warninglists` scope.",
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": PolicyIn.model_json_schema()}},
        }
    },
    responses={
        200: {"model": WarninglistOut, "description": "The list with its new policy."},
        **error_responses(401, 403, 404, 413, 422, 429),
    },
)
async def set_policy(
    request: Request, principal: ListsAdmin, name: Annotated[str, _NAME]
) -> Response:
    try:
        wanted = PolicyIn.model_validate_json(await request.body())
    except ValidationError as error:
        raise invalid_body(error) from None
    lists = services(request).warninglists

    def change() -> ListInfo:
        return lists.set_policy(name, wanted.policy, key_id=principal.key.key_id)

    return json_response(_list_body(await run_in_threadpool(change)))


@router.put(
    "/warninglists/{name}",
    summary="Create or replace one of your own lists",
    description="Saves an operator list with its entries and policy (`allow` takes values "
    "back from the MISP lists that block or flag them). Stored indicators are then "
    "re-checked by the worker. Audited. Needs the `admin:warninglists` scope.",
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": OperatorListIn.model_json_schema()}},
        }
    },
    responses={
        200: {"model": WarninglistOut, "description": "The saved list."},
        **error_responses(400, 401, 403, 413, 422, 429),
    },
)
async def save_list(
    request: Request, principal: ListsAdmin, name: Annotated[str, _NAME]
) -> Response:
    try:
        wanted = OperatorListIn.model_validate_json(await request.body())
    except ValidationError as error:
        raise invalid_body(error) from None
    lists = services(request).warninglists

    def save() -> ListInfo:
        return lists.save_operator_list(
            name,
            wanted.entries,
            wanted.policy,
            description=wanted.description,
            key_id=principal.key.key_id,
        )

    return json_response(_list_body(await run_in_threadpool(save)))
