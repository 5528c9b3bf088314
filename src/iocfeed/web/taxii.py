"""TAXII 2.1 endpoints under ``/taxii2/`` (SPEC §3): thin routes over ``iocfeed.taxii_service``.

Each route checks the media types, authenticates, parses the filters with ``taxii.query``,
calls one service method and renders with ``taxii.resources``. Every path answers with
and without its trailing slash (TAXII URLs end in ``/``; clients differ in whether they
keep it), without a redirect that some clients would not follow with credentials.

Order of checks: the ``Accept`` header first (406), then ``Content-Type`` on writes (415),
then the key (401), its rate (429) and its scope (403), then the collection and object
(404). A request no TAXII response can satisfy is refused before any work, quota or
database access is spent on it; negotiation reveals nothing a discovery request would not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.errors import Forbidden, NotAcceptable, UnsupportedMediaType
from iocfeed.services import Services
from iocfeed.taxii import collections, query, resources
from iocfeed.taxii.media import TAXII_MEDIA_TYPE, acceptable, content_type_ok
from iocfeed.taxii_service import Reply, TaxiiService
from iocfeed.web.auth import require_scope, services
from iocfeed.web.params import body_error

API_ROOT = "api"
"""The one API root's path segment: ``/taxii2/api/``."""

TITLE = "iocfeed TAXII 2.1 server"
API_ROOT_TITLE = "iocfeed indicators"
TAXII_MAX_PAGE = 1000
"""The largest page TAXII serves (the issue's server maximum), below the general cap."""


def negotiate(request: Request) -> None:
    """406 unless the client accepts ``application/taxii+json;version=2.1`` (§1.6.8)."""
    if not acceptable(request.headers.get("accept")):
        raise NotAcceptable(f"This endpoint produces only {TAXII_MEDIA_TYPE}")


def envelope_content(request: Request) -> None:
    """415 unless a POST body is a TAXII 2.1 envelope (§5.5)."""
    if not content_type_ok(request.headers.get("content-type")):
        raise UnsupportedMediaType(f"Add Objects takes a TAXII envelope as {TAXII_MEDIA_TYPE}")


router = APIRouter(tags=["TAXII 2.1"], dependencies=[Depends(negotiate)])
Reader = Annotated[Principal, Depends(require_scope(Scope.READ_TAXII))]
Writer = Annotated[Principal, Depends(require_scope(Scope.WRITE_IOCS))]
Built = Annotated[Services, Depends(services)]


def route(path: str, method: str, **options: Any) -> Callable[[Any], Any]:
    """Register ``path`` and the same path without its trailing slash."""

    def register(endpoint: Any) -> Any:
        router.add_api_route(path, endpoint, methods=[method], **options)
        router.add_api_route(
            path.rstrip("/"), endpoint, methods=[method], include_in_schema=False, **options
        )
        return endpoint

    return register


def taxii(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code, headers, media_type=TAXII_MEDIA_TYPE)


def reply(result: Reply) -> Response:
    return taxii(result.body, headers=result.headers)


def params(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        found.setdefault(name, []).append(value)
    return found


def has_scope(principal: Principal, scope: str) -> bool:
    return scope in principal.plan.scopes


def filters(
    parse: Callable[..., query.ObjectsRequest],
    request: Request,
    principal: Principal,
    built: Services,
    collection: collections.Collection,
    **extra: str,
) -> query.ObjectsRequest:
    now = built.clock.now()
    return parse(
        params(request),
        collection=collection,
        max_tlp=principal.plan.max_tlp,
        lookback_start=principal.lookback_start(now),
        now=now,
        max_limit=min(built.settings.max_page_size, TAXII_MAX_PAGE),
        default_limit=min(built.settings.max_page_size, TAXII_MAX_PAGE),
        **extra,
    )


@route("/", "GET")
def discovery(request: Request, _principal: Reader) -> Response:
    """Server discovery (§4.1): the one API root, which is also the default."""
    root = str(request.base_url) + f"taxii2/{API_ROOT}/"
    return taxii(resources.discovery(title=TITLE, api_root=root))


@route(f"/{API_ROOT}/", "GET")
def api_root(_principal: Reader, built: Built) -> Response:
    """The API root (§4.2): TAXII 2.1, and the largest request body accepted."""
    body = resources.api_root(
        title=API_ROOT_TITLE,
        description="Indicators of compromise as STIX 2.1, one collection per IOC type.",
        max_content_length=built.settings.max_body_bytes,
    )
    return taxii(body)


@route(f"/{API_ROOT}/status/{{status_id}}/", "GET")
def status(status_id: str, principal: Writer, built: Built) -> Response:
    """Get Status (§4.3) of an Add Objects request made with the same key."""
    return taxii(TaxiiService(built).status(status_id, key_id=principal.key.key_id))


@route(f"/{API_ROOT}/collections/", "GET")
def collection_list(principal: Reader) -> Response:
    """Get Collections (§5.1): every collection, with what this key may do in it."""
    can_write = has_scope(principal, Scope.WRITE_IOCS)
    listed = [
        collections.resource(collection, can_read=True, can_write=can_write)
        for collection in collections.COLLECTIONS
    ]
    return taxii(resources.collections(listed))


@route(f"/{API_ROOT}/collections/{{collection_id}}/", "GET")
def collection(collection_id: str, principal: Reader) -> Response:
    """Get a Collection (§5.2), by id or alias."""
    found = collections.collection_by_id(collection_id)
    can_write = has_scope(principal, Scope.WRITE_IOCS)
    return taxii(collections.resource(found, can_read=True, can_write=can_write))


@route(f"/{API_ROOT}/collections/{{collection_id}}/manifest/", "GET")
def manifest(collection_id: str, request: Request, principal: Reader, built: Built) -> Response:
    """Get Object Manifests (§5.3): id, date_added and version of each object, paged."""
    found = collections.collection_by_id(collection_id)
    parsed = filters(query.parse_manifest_request, request, principal, built, found)
    return reply(TaxiiService(built).manifest(parsed, params(request)))


@route(f"/{API_ROOT}/collections/{{collection_id}}/objects/", "GET")
def objects(collection_id: str, request: Request, principal: Reader, built: Built) -> Response:
    """Get Objects (§5.4): an envelope of STIX objects, oldest ``date_added`` first."""
    found = collections.collection_by_id(collection_id)
    parsed = filters(query.parse_objects_request, request, principal, built, found)
    return reply(TaxiiService(built).objects(parsed, params(request)))


@route(
    f"/{API_ROOT}/collections/{{collection_id}}/objects/",
    "POST",
    dependencies=[Depends(envelope_content)],
    status_code=202,
)
async def add_objects(
    collection_id: str, request: Request, principal: Writer, built: Built
) -> Response:
    """Add Objects (§5.5) to the writable collection; answers with the status resource."""
    found = collections.collection_by_id(collection_id)
    if not found.can_write:
        raise Forbidden(
            f"The {found.title} collection is read-only; write to "
            f"{collections.SUBMISSIONS_COLLECTION_ID}",
            scope=Scope.WRITE_IOCS,
        )
    posted = envelope_objects(await request.body())
    result = await run_in_threadpool(
        TaxiiService(built).add_objects,
        posted,
        key_id=principal.key.key_id,
        max_tlp=principal.plan.max_tlp,
    )
    return taxii(result, status_code=202)


@route(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", "GET")
def get_object(
    collection_id: str, object_id: str, request: Request, principal: Reader, built: Built
) -> Response:
    """Get an Object (§5.6): its latest version, or those ``match[version]`` selects."""
    found = collections.collection_by_id(collection_id)
    parsed = filters(
        query.parse_object_request, request, principal, built, found, object_id=object_id
    )
    return reply(TaxiiService(built).object(parsed, params(request), object_id))


@route(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", "DELETE")
def delete_object(collection_id: str, object_id: str, principal: Writer, built: Built) -> Response:
    """Delete an Object (§5.7) from the writable collection: publishes it as revoked."""
    found = collections.collection_by_id(collection_id)
    if not found.can_write:
        raise Forbidden(
            f"The {found.title} collection is read-only; delete through "
            f"{collections.SUBMISSIONS_COLLECTION_ID}",
            scope=Scope.WRITE_IOCS,
        )
    TaxiiService(built).delete(object_id, max_tlp=principal.plan.max_tlp)
    return Response(status_code=200)


@route(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/", "GET")
def object_versions(
    collection_id: str, object_id: str, request: Request, principal: Reader, built: Built
) -> Response:
    """Get Object Versions (§5.8): every version's ``modified``, oldest first."""
    found = collections.collection_by_id(collection_id)
    parsed = filters(
        query.parse_versions_request, request, principal, built, found, object_id=object_id
    )
    return reply(TaxiiService(built).versions(parsed, params(request), object_id))


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
