"""TAXII 2.1 endpoints under ``/taxii2/`` (SPEC §3): thin routes over ``iocfeed.taxii_service``.

Each route checks the media types, authenticates, parses the filters with ``taxii.query``,
calls one service method and renders with ``taxii.resources``. Every path answers with
and without its trailing slash (TAXII URLs end in ``/``; clients differ in whether they
keep it), without a redirect that some clients would not follow with credentials; only the
form with the slash is in the OpenAPI document.

Order of checks: the ``Accept`` header first (406), then ``Content-Type`` on writes (415),
then the key (401), its rate (429) and its scope (403), then the collection and object
(404). A request no TAXII response can satisfy is refused before any work, quota or
database access is spent on it; negotiation reveals nothing a discovery request would not.

The OpenAPI document describes every response as sent: the TAXII resources (``Taxii*``
schemas below) and the TAXII error resource, all as ``application/taxii+json;version=2.1``.
The filter parameters are read from the query string by ``taxii.query`` alone; they are
documented here from its table of which endpoint takes which (``ENDPOINT_PARAMETERS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import Forbidden, NotAcceptable, UnsupportedMediaType
from iocfeed.services import Services
from iocfeed.taxii import collections, query, resources
from iocfeed.taxii.media import TAXII_MEDIA_TYPE, acceptable, content_type_ok
from iocfeed.taxii_service import Reply, TaxiiService
from iocfeed.web.auth import injected_services, require_scope
from iocfeed.web.bulk import BULK, bulk_turns
from iocfeed.web.params import body_error
from iocfeed.web.schemas import RATE_HEADERS
from iocfeed.web.taxii_openapi import (
    ADD_OBJECTS_BODY,
    COLLECTION_ID,
    OBJECT_ID,
    STATUS_ID,
    TaxiiApiRoot,
    TaxiiCollection,
    TaxiiCollections,
    TaxiiDiscovery,
    TaxiiEnvelope,
    TaxiiManifest,
    TaxiiStatus,
    TaxiiVersions,
    errors,
    filter_parameters,
    success,
)
from iocfeed.web.usage import polled, served

API_ROOT = "api"
"""The one API root's path segment: ``/taxii2/api/``."""

TITLE = "iocfeed TAXII 2.1 server"
API_ROOT_TITLE = "iocfeed indicators"


async def negotiate(request: Request) -> None:
    """406 unless the client accepts ``application/taxii+json;version=2.1`` (§1.6.8)."""
    if not acceptable(request.headers.get("accept")):
        raise NotAcceptable(f"This endpoint produces only {TAXII_MEDIA_TYPE}")


async def envelope_content(request: Request) -> None:
    """415 unless a POST body is a TAXII 2.1 envelope (§5.5)."""
    if not content_type_ok(request.headers.get("content-type")):
        raise UnsupportedMediaType(f"Add Objects takes a TAXII envelope as {TAXII_MEDIA_TYPE}")


class TaxiiResponse(JSONResponse):
    """A TAXII 2.1 resource as ``application/taxii+json;version=2.1``; bytes are sent as is."""

    media_type = TAXII_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


router = APIRouter(tags=["TAXII 2.1"], dependencies=[Depends(negotiate)])
Reader = Annotated[Principal, Depends(require_scope(Scope.READ_TAXII))]
Writer = Annotated[Principal, Depends(require_scope(Scope.WRITE_IOCS))]
Built = Annotated[Services, Depends(injected_services)]


# --- routes -------------------------------------------------------------------------------


def route(path: str, method: str, **options: Any) -> Callable[[Any], Any]:
    """Register ``path`` and, outside the document, the same path without its trailing slash."""
    options.setdefault("response_class", TaxiiResponse)

    def register(endpoint: Any) -> Any:
        router.add_api_route(path, endpoint, methods=[method], **options)
        router.add_api_route(
            path.rstrip("/"), endpoint, methods=[method], include_in_schema=False, **options
        )
        return endpoint

    return register


def taxii(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return TaxiiResponse(body, status_code, headers)


def reply(result: Reply, request: Request | None = None) -> Response:
    if request is not None:
        served(request, result.objects)
    return taxii(result.body, headers=result.headers)


def params(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        found.setdefault(name, []).append(value)
    return found


def has_scope(principal: Principal, scope: str) -> bool:
    return scope in principal.plan.scopes


def filters(
    endpoint: query.Endpoint,
    request: Request,
    principal: Principal,
    built: Services,
    collection: collections.Collection,
    **extra: str,
) -> query.ObjectsRequest:
    now = built.clock.now()
    return query.parse_request(
        endpoint,
        params(request),
        collection=collection,
        max_tlp=principal.plan.max_tlp,
        lookback_start=principal.lookback_start(now),
        now=now,
        tokens=built.tokens.codec,
        key_id=principal.key.key_id,
        max_limit=min(built.settings.max_page_size, query.MAX_PAGE),
        default_limit=min(built.settings.max_page_size, query.MAX_PAGE),
        **extra,
    )


_READ = (401, 403, 406, 429)
_UNFIT = {422: "The request does not fit this operation's parameters."}
_NO_OBJECT = (
    "No such collection, or nothing to return for this object: no object with this id, or "
    "none of its versions that this key may read (TLP ceiling, lookback) and the filters "
    "(`added_after`, `match[version]`) select."
)
_WRITE_FORBIDDEN = (
    "The key's plan lacks `write:iocs`, or the collection is read-only: write to "
    f"`submissions` ({collections.SUBMISSIONS_COLLECTION_ID})."
)


@route(
    "/",
    "GET",
    summary="Server discovery",
    description="TAXII 2.1 §4.1: the server's one API root, which is also the default. "
    "Needs `read:taxii`.",
    responses={200: success(TaxiiDiscovery, "The discovery resource."), **errors(*_READ)},
)
def discovery(request: Request, _principal: Reader) -> Response:
    """Server discovery (§4.1): the one API root, which is also the default."""
    root = str(request.base_url) + f"taxii2/{API_ROOT}/"
    return taxii(resources.discovery(title=TITLE, api_root=root))


@route(
    f"/{API_ROOT}/",
    "GET",
    summary="API root",
    description="TAXII 2.1 §4.2: the TAXII version spoken (2.1 only) and the largest request "
    "body Add Objects accepts. Needs `read:taxii`.",
    responses={200: success(TaxiiApiRoot, "The API root resource."), **errors(*_READ)},
)
def api_root(_principal: Reader, built: Built) -> Response:
    """The API root (§4.2): TAXII 2.1, and the largest request body accepted."""
    body = resources.api_root(
        title=API_ROOT_TITLE,
        description="Indicators of compromise as STIX 2.1, one collection per IOC type.",
        max_content_length=built.settings.max_body_bytes,
    )
    return taxii(body)


@route(
    f"/{API_ROOT}/status/{{status_id}}/",
    "GET",
    summary="Get Status",
    description="TAXII 2.1 §4.3: the status resource of an Add Objects request made with the "
    "same key, as it answered that request. Needs `write:iocs`.",
    responses={
        200: success(TaxiiStatus, "The status resource."),
        **errors(
            *_READ,
            404,
            422,
            texts={
                **_UNFIT,
                403: "The key's plan lacks `write:iocs`.",
                404: "No status with this id made by this key.",
            },
        ),
    },
)
def status(status_id: Annotated[str, STATUS_ID], principal: Writer, built: Built) -> Response:
    """Get Status (§4.3) of an Add Objects request made with the same key."""
    return taxii(TaxiiService(built).status(status_id, key_id=principal.key.key_id))


@route(
    f"/{API_ROOT}/collections/",
    "GET",
    summary="Get Collections",
    description="TAXII 2.1 §5.1: every collection — `all`, one per IOC type, the "
    "writable `submissions`, and, when the server is so configured, one read-only "
    "collection per enabled source — with whether this key may read and write each. "
    "Collection ids never change: store them in the TAXII client's settings. Needs "
    "`read:taxii`.",
    responses={200: success(TaxiiCollections, "The collections resource."), **errors(*_READ)},
)
def collection_list(principal: Reader, built: Built) -> Response:
    """Get Collections (§5.1): every collection, with what this key may do in it."""
    can_write = has_scope(principal, Scope.WRITE_IOCS)
    listed = [
        collections.resource(collection, can_read=True, can_write=can_write)
        for collection in TaxiiService(built).collections()
    ]
    return taxii(resources.collections(listed))


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/",
    "GET",
    summary="Get a Collection",
    description="TAXII 2.1 §5.2: one collection, by id or alias, with whether this key may "
    "read and write it. Needs `read:taxii`.",
    responses={
        200: success(TaxiiCollection, "The collection resource."),
        **errors(*_READ, 404, 422, texts=_UNFIT),
    },
)
def collection(
    collection_id: Annotated[str, COLLECTION_ID], principal: Reader, built: Built
) -> Response:
    """Get a Collection (§5.2), by id or alias."""
    found = TaxiiService(built).collection(collection_id)
    can_write = has_scope(principal, Scope.WRITE_IOCS)
    return taxii(collections.resource(found, can_read=True, can_write=can_write))


_READ_NOTE = (
    " Objects above your plan's highest TLP are never served, and `added_after` is clamped "
    "to your plan's lookback. Needs `read:taxii`."
)


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/manifest/",
    "GET",
    dependencies=[BULK],
    summary="Get Object Manifests",
    description="TAXII 2.1 §5.3: the id, `date_added`, version and media type of each object "
    "version the filters select, oldest `date_added` first, in pages: what Get Objects would "
    "return, without the objects." + _READ_NOTE,
    openapi_extra=filter_parameters(query.Endpoint.MANIFEST),
    responses={
        200: success(TaxiiManifest, "One page of manifest records.", paged=True),
        **errors(400, *_READ, 404, 422, texts=_UNFIT),
    },
)
def manifest(
    collection_id: Annotated[str, COLLECTION_ID], request: Request, principal: Reader, built: Built
) -> Response:
    """Get Object Manifests (§5.3): id, date_added and version of each object, paged."""
    found = TaxiiService(built).collection(collection_id)
    parsed = filters(query.Endpoint.MANIFEST, request, principal, built, found)
    return reply(TaxiiService(built).manifest(parsed, params(request)), request)


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/objects/",
    "GET",
    dependencies=[BULK],
    summary="Get Objects",
    description="TAXII 2.1 §5.4: the STIX objects the filters select, oldest `date_added` "
    "first, in pages of an envelope. A full read (no `added_after`) starts with the "
    "producer identity and the TLP marking definitions the indicators refer to. To stay in "
    "sync, poll with `added_after` set to the last `X-TAXII-Date-Added-Last`, and follow "
    "`next` while `more` is true." + _READ_NOTE,
    openapi_extra=filter_parameters(query.Endpoint.OBJECTS),
    responses={
        200: success(TaxiiEnvelope, "One page of STIX objects.", paged=True),
        **errors(400, *_READ, 404, 422, texts=_UNFIT),
    },
)
def objects(
    collection_id: Annotated[str, COLLECTION_ID], request: Request, principal: Reader, built: Built
) -> Response:
    """Get Objects (§5.4): an envelope of STIX objects, oldest ``date_added`` first."""
    found = TaxiiService(built).collection(collection_id)
    parsed = filters(query.Endpoint.OBJECTS, request, principal, built, found)
    polled(request, principal, collection_id, parsed.effective_added_after)
    return reply(TaxiiService(built).objects(parsed, params(request)), request)


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/objects/",
    "POST",
    dependencies=[Depends(envelope_content)],
    status_code=202,
    summary="Add Objects",
    description="TAXII 2.1 §5.5: import STIX 2.1 objects into the `submissions` collection, "
    "like `iocfeed import` of a bundle; they then appear in the read collections. Good "
    "objects are stored even when others fail: the status resource lists each object's "
    "outcome. A new indicator keeps the id it was posted with (a UUIDv4 STIX id of the "
    "right type); a value already known keeps its existing id, which the status reports. "
    "Needs `write:iocs`.",
    openapi_extra=ADD_OBJECTS_BODY,
    responses={
        202: success(TaxiiStatus, "The request is done: its status resource (`complete`)."),
        **errors(*_READ, 404, 413, 415, 422, texts={403: _WRITE_FORBIDDEN}),
    },
)
async def add_objects(
    collection_id: Annotated[str, COLLECTION_ID],
    request: Request,
    principal: Writer,
    built: Built,
) -> Response:
    """Add Objects (§5.5) to the writable collection; answers with the status resource."""
    found = TaxiiService(built).collection(collection_id)
    if not found.can_write:
        raise Forbidden(
            f"The {found.title} collection is read-only; write to "
            f"{collections.SUBMISSIONS_COLLECTION_ID}",
            scope=Scope.WRITE_IOCS,
        )
    posted = envelope_objects(await request.body())
    async with bulk_turns(request).turn():
        result = await run_in_threadpool(
            TaxiiService(built).add_objects,
            posted,
            key_id=principal.key.key_id,
            max_tlp=principal.plan.max_tlp,
        )
    return taxii(result, status_code=202)


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/",
    "GET",
    summary="Get an Object",
    description="TAXII 2.1 §5.6: an envelope with the object's current version, or the "
    "versions `match[version]` selects, oldest `date_added` first." + _READ_NOTE,
    openapi_extra=filter_parameters(query.Endpoint.OBJECT),
    responses={
        200: success(TaxiiEnvelope, "The selected versions of the object.", paged=True),
        **errors(400, *_READ, 404, 422, texts={**_UNFIT, 404: _NO_OBJECT}),
    },
)
def get_object(
    collection_id: Annotated[str, COLLECTION_ID],
    object_id: Annotated[str, OBJECT_ID],
    request: Request,
    principal: Reader,
    built: Built,
) -> Response:
    """Get an Object (§5.6): its latest version, or those ``match[version]`` selects."""
    found = TaxiiService(built).collection(collection_id)
    parsed = filters(query.Endpoint.OBJECT, request, principal, built, found, object_id=object_id)
    return reply(TaxiiService(built).object(parsed, params(request), object_id), request)


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/",
    "DELETE",
    response_class=Response,
    summary="Delete an Object",
    description="TAXII 2.1 §5.7, through the `submissions` collection: revokes the indicator "
    "(publishes a new version with `revoked: true`) rather than erase it, so that SIEMs "
    "polling the feed drop it. Deleting twice changes nothing. The producer identity and "
    "TLP marking definitions cannot be deleted (403). Needs `write:iocs`.",
    responses={
        200: {"description": "Revoked. No body.", "headers": RATE_HEADERS},
        **errors(
            *_READ,
            404,
            422,
            texts={
                **_UNFIT,
                403: _WRITE_FORBIDDEN + " Or the object is one this server publishes itself.",
                404: "No such collection, or no object with this id that your plan may read.",
            },
            model=False,
        ),
    },
)
def delete_object(
    collection_id: Annotated[str, COLLECTION_ID],
    object_id: Annotated[str, OBJECT_ID],
    principal: Writer,
    built: Built,
) -> Response:
    """Delete an Object (§5.7) from the writable collection: publishes it as revoked."""
    found = TaxiiService(built).collection(collection_id)
    if not found.can_write:
        raise Forbidden(
            f"The {found.title} collection is read-only; delete through "
            f"{collections.SUBMISSIONS_COLLECTION_ID}",
            scope=Scope.WRITE_IOCS,
        )
    TaxiiService(built).delete(object_id, max_tlp=principal.plan.max_tlp)
    return Response(status_code=200)


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/",
    "GET",
    summary="Get Object Versions",
    description="TAXII 2.1 §5.8: the STIX `modified` of every version of the object, oldest "
    "first; each can be passed to `match[version]` of Get an Object." + _READ_NOTE,
    openapi_extra=filter_parameters(query.Endpoint.VERSIONS),
    responses={
        200: success(TaxiiVersions, "The object's versions.", paged=True),
        **errors(400, *_READ, 404, 422, texts={**_UNFIT, 404: _NO_OBJECT}),
    },
)
def object_versions(
    collection_id: Annotated[str, COLLECTION_ID],
    object_id: Annotated[str, OBJECT_ID],
    request: Request,
    principal: Reader,
    built: Built,
) -> Response:
    """Get Object Versions (§5.8): every version's ``modified``, oldest first."""
    found = TaxiiService(built).collection(collection_id)
    parsed = filters(query.Endpoint.VERSIONS, request, principal, built, found, object_id=object_id)
    return reply(TaxiiService(built).versions(parsed, params(request), object_id), request)


def envelope_objects(body: bytes) -> list[Any]:
    """The ``objects`` of a posted envelope (§3.7); anything else is a 422 naming the body."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise body_error(f"not valid JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(document, dict):
        raise body_error("expected a TAXII envelope, a JSON object with an `objects` array")
    posted = document.get("objects", [])
    if not isinstance(posted, list):
        raise body_error("`objects` must be an array of STIX objects", "objects")
    return posted
