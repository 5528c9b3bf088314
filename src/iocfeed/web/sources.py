"""Sources over HTTP, for keys with the ``admin:sources`` scope (only the admin plan has it):
list, create, show (with the latest runs), run now, enable or disable, delete.

The same operations as ``iocfeed sources``. Credentials go in and are never sent back: a
source shows only their kind and header or user name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import Conflict
from iocfeed.indicators.model import IocType
from iocfeed.indicators.normalize import normalize_tags, parse_confidence, parse_tlp
from iocfeed.sources.model import (
    DEFAULT_API_KEY_HEADER,
    DEFAULT_INTERVAL_SECONDS,
    NewSource,
    SourceKind,
    SourceSettings,
    check_columns,
    check_interval,
    check_name,
    check_url,
    describe,
    describe_run,
    parse_credentials,
    redact,
)
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import invalid_body
from iocfeed.web.schemas import JSON, error_responses, json_response
from iocfeed.worker.runs import SourceRunner

router = APIRouter(tags=["sources"])

SourcesAdmin = Annotated[Principal, Depends(require_scope(Scope.SOURCES))]
_NAME = Path(description="The source's name.", max_length=64)


class SourceCreate(BaseModel):
    """A source to add. Credentials (one of header, basic, api_key) are never shown back."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="A short unique name.")
    kind: SourceKind
    url: str = Field(max_length=2000, description="The feed's URL (http or https).")
    interval: int = Field(default=DEFAULT_INTERVAL_SECONDS, description="Seconds between runs.")
    header: str | None = Field(default=None, description="Credential header, 'Name: value'.")
    basic: str | None = Field(default=None, description="HTTP Basic, 'user:password'.")
    api_key: str | None = Field(default=None, description="API key sent in api_key_header.")
    api_key_header: str = DEFAULT_API_KEY_HEADER
    confidence: str = Field(default="medium", description="For indicators that state none.")
    tlp: str | None = Field(default=None, description="For indicators that state none.")
    tags: list[str] = Field(default_factory=list, description="Added to every indicator.")
    types: list[IocType] = Field(default_factory=list, description="Keep only these types.")
    columns: dict[str, int | str] = Field(
        default_factory=dict, description="CSV kind: field → 1-based column or column title."
    )

    def to_new_source(self) -> NewSource:
        return NewSource(
            name=check_name(self.name),
            kind=self.kind,
            url=check_url(self.url),
            interval_seconds=check_interval(self.interval),
            credentials=parse_credentials(
                header=self.header,
                basic=self.basic,
                api_key=self.api_key,
                api_key_header=self.api_key_header,
            ),
            settings=SourceSettings(
                confidence=parse_confidence(self.confidence),
                tlp=parse_tlp(self.tlp) if self.tlp else None,
                tags=normalize_tags(self.tags),
                types=frozenset(self.types),
                columns=check_columns(self.columns),
            ),
        )


class SourceState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


@router.get(
    "/sources",
    summary="List sources",
    description="Every source with its latest run. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 429),
)
def list_sources(request: Request, principal: SourcesAdmin) -> Response:
    store = services(request).sources
    items = [describe(source, store.runs(source.source_id, 1)) for source in store.list_all()]
    return json_response({"items": items})


@router.post(
    "/sources",
    summary="Add a source",
    description="Adds a feed to pull on a schedule. Credentials (`header`, `basic` or "
    "`api_key`) are stored to be sent and never shown back. Needs the `admin:sources` scope.",
    status_code=201,
    response_model=None,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": SourceCreate.model_json_schema()}},
        }
    },
    responses=error_responses(400, 401, 403, 413, 422, 429),
)
async def create_source(request: Request, principal: SourcesAdmin) -> Response:
    built = services(request)
    try:
        wanted = SourceCreate.model_validate_json(await request.body())
    except ValidationError as error:
        raise invalid_body(error) from None
    new = wanted.to_new_source()

    def create() -> Response:
        now = built.clock.now()
        source = built.sources.add(new, now)
        built.audit.record(
            key_id=principal.key.key_id,
            action="sources.create",
            parameters={"name": source.name, "kind": source.kind.value, "url": redact(source.url)},
            result_count=1,
            now=now,
        )
        return json_response(describe(source, []), status_code=201)

    return await run_in_threadpool(create)


@router.get(
    "/sources/{name}",
    summary="Show a source and its latest runs",
    description="The source's settings (credentials by kind and name only) and its latest "
    "runs, newest first, with their counts and errors. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def show_source(request: Request, principal: SourcesAdmin, name: Annotated[str, _NAME]) -> Response:
    store = services(request).sources
    source = store.get(name)
    return json_response(describe(source, store.runs(source.source_id)))


@router.post(
    "/sources/{name}/run",
    summary="Run a source now",
    description="Runs the source once and answers with the run (outcome, counts, error). "
    "409 when it is being run elsewhere. Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 409, 429),
)
def run_source(request: Request, principal: SourcesAdmin, name: Annotated[str, _NAME]) -> Response:
    built = services(request)
    source = built.sources.get(name)
    run = SourceRunner(
        built.settings,
        built.clock,
        built.indicators,
        built.sources,
        warninglists=built.warninglists,
    ).run(source)
    if run is None:
        raise Conflict(f"source {source.name} is being run elsewhere")
    built.audit.record(
        key_id=principal.key.key_id,
        action="sources.run",
        parameters={"name": source.name, "outcome": run.outcome.value},
        result_count=run.counts.added + run.counts.updated,
        now=built.clock.now(),
    )
    return json_response(describe_run(run))


@router.patch(
    "/sources/{name}",
    summary="Enable or disable a source",
    description='Takes `{"enabled": true|false}`; a disabled source is not run on its '
    "schedule (it can still be run now). Needs the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 422, 429),
)
async def set_source_state(
    request: Request, principal: SourcesAdmin, name: Annotated[str, _NAME]
) -> Response:
    built = services(request)
    try:
        wanted = SourceState.model_validate_json(await request.body())
    except ValidationError as error:
        raise invalid_body(error) from None
    source = await run_in_threadpool(built.sources.set_enabled, name, wanted.enabled)
    return json_response(describe(source))


@router.delete(
    "/sources/{name}",
    summary="Delete a source",
    description="Forgets the source, its runs and its provenance; indicators stay. Needs "
    "the `admin:sources` scope.",
    response_model=None,
    responses=error_responses(401, 403, 404, 429),
)
def delete_source(
    request: Request, principal: SourcesAdmin, name: Annotated[str, _NAME]
) -> Response:
    built = services(request)
    source = built.sources.remove(name)
    built.audit.record(
        key_id=principal.key.key_id,
        action="sources.delete",
        parameters={"name": source.name},
        result_count=1,
        now=built.clock.now(),
    )
    return json_response(describe(source))
