"""SIEM pushers over HTTP, for keys with the ``admin:sources`` scope (the admin plan): add a
Microsoft Sentinel pusher, list, show with its latest runs, run now, delete.

The client secret goes in and is never sent back. Runs are the worker's
(``worker.sentinel``), on the pusher's interval; "run now" runs one here and answers with
its record (uploaded, rejected with Sentinel's per-record messages, requests, 429s).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import Conflict, InvalidQuery
from iocfeed.indicators.model import Tlp
from iocfeed.push.model import SentinelSettings
from iocfeed.push.sentinel import check_source_system
from iocfeed.sources.model import check_interval, check_name
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import invalid_body
from iocfeed.web.schemas import JSON, error_responses, json_response
from iocfeed.worker.sentinel import BEGINNING, SentinelPusher, describe, describe_run

router = APIRouter(tags=["pushers"])

PushersAdmin = Annotated[Principal, Depends(require_scope(Scope.SOURCES))]
_NAME = Path(description="The pusher's name.", max_length=64)


class PusherCreate(BaseModel):
    """A Microsoft Sentinel pusher (STIX objects upload API). ``client_secret`` is never
    shown back."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="A short unique name.")
    kind: str = Field(default="sentinel", pattern="^sentinel$")
    tenant_id: str = Field(min_length=1, max_length=100, description="Entra ID tenant.")
    client_id: str = Field(min_length=1, max_length=100, description="App (client) id.")
    client_secret: str = Field(min_length=1, max_length=500, description="App secret.")
    workspace_id: str = Field(min_length=1, max_length=100, description="Log Analytics id.")
    source_system: str = Field(default="iocfeed", description="Sentinel's source name.")
    max_tlp: Tlp = Field(default=Tlp.AMBER, description="Highest TLP uploaded.")
    interval: int = Field(default=3600, description="Seconds between runs.")


def _source_system(name: str) -> str:
    try:
        return check_source_system(name)
    except ValueError as error:
        raise InvalidQuery(str(error), parameter="source_system") from None


@router.post(
    "/pushers",
    summary="Add a Microsoft Sentinel pusher",
    description="Uploads every indicator version (created, updated, revoked) as STIX to "
    "Sentinel's STIX objects upload API on a schedule, 100 objects per request, at most "
    "100 requests a minute, from a checkpoint. Needs the `admin:sources` scope.",
    status_code=201,
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": PusherCreate.model_json_schema()}},
        }
    },
    responses=error_responses(400, 401, 403, 413, 422, 429),
)
async def create_pusher(request: Request, principal: PushersAdmin) -> Response:
    built = services(request)
    try:
        wanted = PusherCreate.model_validate_json(await request.body())
    except ValidationError as error:
        raise invalid_body(error) from None
    settings = SentinelSettings(
        tenant_id=wanted.tenant_id.strip(),
        client_id=wanted.client_id.strip(),
        workspace_id=wanted.workspace_id.strip(),
        source_system=_source_system(wanted.source_system),
        max_tlp=wanted.max_tlp,
    )
    name = check_name(wanted.name)
    interval = check_interval(wanted.interval)

    def create() -> Response:
        now = built.clock.now()
        pusher = built.pushers.add(
            name=name,
            settings=settings,
            client_secret=wanted.client_secret,
            interval_seconds=interval,
            checkpoint=BEGINNING,
            now=now,
        )
        built.audit.record(
            key_id=principal.key.key_id,
            action="pushers.create",
            parameters={"name": name, "workspace_id": settings.workspace_id},
            result_count=1,
            now=now,
        )
        return json_response(describe(pusher, []), status_code=201)

    return await run_in_threadpool(create)


@router.get(
    "/pushers",
    summary="List pushers",
    description="Every pusher with its latest run. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 429),
)
def list_pushers(request: Request, principal: PushersAdmin) -> Response:
    store = services(request).pushers
    items = [describe(pusher, store.runs(pusher.pusher_id, 1)) for pusher in store.list_all()]
    return json_response({"items": items})


@router.get(
    "/pushers/{name}",
    summary="Show a pusher and its latest runs",
    description="Settings (never the client secret) and the latest runs, newest first, "
    "with Sentinel's per-record errors. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def show_pusher(request: Request, principal: PushersAdmin, name: Annotated[str, _NAME]) -> Response:
    store = services(request).pushers
    pusher = store.get(name)
    return json_response(describe(pusher, store.runs(pusher.pusher_id)))


@router.post(
    "/pushers/{name}/run",
    summary="Run a pusher now",
    description="Runs it once and answers with the run record. 409 when it is being run "
    "elsewhere. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 409, 429),
)
def run_pusher(request: Request, principal: PushersAdmin, name: Annotated[str, _NAME]) -> Response:
    built = services(request)
    pusher = built.pushers.get(name)
    run = SentinelPusher(
        built.settings, built.clock, built.pushers, built.search, built.producer
    ).run(pusher)
    if run is None:
        raise Conflict(f"pusher {pusher.name} is being run elsewhere")
    return json_response(describe_run(run))


@router.delete(
    "/pushers/{name}",
    summary="Delete a pusher",
    description="Forgets the pusher and its runs. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def delete_pusher(
    request: Request, principal: PushersAdmin, name: Annotated[str, _NAME]
) -> Response:
    built = services(request)
    pusher = built.pushers.remove(name)
    built.audit.record(
        key_id=principal.key.key_id,
        action="pushers.delete",
        parameters={"name": pusher.name},
        result_count=1,
        now=built.clock.now(),
    )
    return json_response(describe(pusher))
