"""The OpenAPI description of the TAXII 2.1 routes: resource schemas, responses, parameters.

Documentation only: the bodies are built by ``iocfeed.taxii.resources`` and the filters are
parsed by ``iocfeed.taxii.query``; this module says, for the OpenAPI document, what those
send and read, so that schemathesis can hold every response to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NotRequired

from fastapi import Path
from pydantic import Field
from typing_extensions import TypedDict

from iocfeed.taxii import collections, query, resources
from iocfeed.taxii.media import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE
from iocfeed.web.schemas import RATE_HEADERS

# --- the OpenAPI document: TAXII resources ---------------------------------------------------
# Documentation only: the bodies are built as plain JSON by ``iocfeed.taxii.resources``. Keys
# that TAXII marks optional are ``NotRequired``; TAXII omits an empty list rather than send
# ``[]``, so a list may be absent.

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class StixObject(TypedDict):
    """A STIX 2.1 object: an `indicator`, `vulnerability` or `attack-pattern`, or the
    `identity` and TLP 2.0 `marking-definition` objects they refer to. Other STIX properties
    follow the STIX 2.1 specification."""

    type: Annotated[str, Field(description="STIX type, e.g. `indicator`.")]
    id: Annotated[str, Field(description="STIX id, `<type>--<UUID>`; stable across versions.")]
    spec_version: Annotated[str, Field(description="`2.1`.")]


class TaxiiDiscovery(TypedDict):
    """The discovery resource (TAXII 2.1 §4.1.1): this server's one API root."""

    title: str
    description: NotRequired[str]
    contact: NotRequired[str]
    default: NotRequired[Annotated[str, Field(description="URL of the default API root.")]]
    api_roots: NotRequired[Annotated[list[str], Field(description="URLs of the API roots.")]]


class TaxiiApiRoot(TypedDict):
    """The API root resource (TAXII 2.1 §4.2.1)."""

    title: str
    description: NotRequired[str]
    versions: Annotated[
        list[str], Field(description=f"TAXII versions spoken: `{TAXII_MEDIA_TYPE}`.")
    ]
    max_content_length: Annotated[
        int, Field(description="Largest request body accepted, in bytes (Add Objects).")
    ]


class TaxiiCollection(TypedDict):
    """A collection resource (TAXII 2.1 §5.2.1), with what the calling key may do in it."""

    id: Annotated[str, Field(description="The collection's id, a UUID fixed for ever.")]
    title: str
    description: NotRequired[str]
    alias: NotRequired[
        Annotated[str, Field(description="Short name, usable in place of the id in URLs.")]
    ]
    can_read: Annotated[bool, Field(description="Whether this key may read the collection.")]
    can_write: Annotated[bool, Field(description="Whether this key may add objects to it.")]
    media_types: NotRequired[
        Annotated[list[str], Field(description=f"Media types of its objects: `{STIX_MEDIA_TYPE}`.")]
    ]


class TaxiiCollections(TypedDict):
    """The collections resource (TAXII 2.1 §5.1.1); `{}` when there are none."""

    collections: NotRequired[list[TaxiiCollection]]


class TaxiiEnvelope(TypedDict):
    """The envelope resource (TAXII 2.1 §3.7): one page of STIX objects, oldest `date_added`
    first."""

    more: NotRequired[
        Annotated[
            bool,
            Field(description="Always sent here: true when another page follows (see `next`)."),
        ]
    ]
    next: NotRequired[
        Annotated[str, Field(description="Opaque token for the next page; send it back as `next`.")]
    ]
    objects: NotRequired[list[StixObject]]


class TaxiiManifestRecord(TypedDict):
    """One version of one object (TAXII 2.1 §5.3.1)."""

    id: Annotated[str, Field(description="STIX id of the object.")]
    date_added: Annotated[Timestamp, Field(description="When this server added this version.")]
    version: Annotated[
        str,
        Field(description="The version's STIX `modified`; usable in `match[version]`."),
    ]
    media_type: NotRequired[Annotated[str, Field(description=f"`{STIX_MEDIA_TYPE}`.")]]


class TaxiiManifest(TypedDict):
    """The manifest resource (TAXII 2.1 §5.3.1): a page of manifest records, oldest
    `date_added` first. `next` is added as in the envelope, for token paging."""

    more: NotRequired[
        Annotated[bool, Field(description="Always sent here: true when another page follows.")]
    ]
    next: NotRequired[Annotated[str, Field(description="Opaque token for the next page.")]]
    objects: NotRequired[list[TaxiiManifestRecord]]


class TaxiiVersions(TypedDict):
    """The versions resource (TAXII 2.1 §5.8.1): the STIX `modified` of each version, oldest
    first. `next` is added as in the envelope, for token paging."""

    more: NotRequired[
        Annotated[bool, Field(description="Always sent here: true when another page follows.")]
    ]
    next: NotRequired[Annotated[str, Field(description="Opaque token for the next page.")]]
    versions: NotRequired[list[str]]


class TaxiiStatusDetails(TypedDict):
    """One posted object in a status resource (TAXII 2.1 §4.3.1, status-details)."""

    id: Annotated[str, Field(description="STIX id of the posted object (empty if it had none).")]
    version: Annotated[str, Field(description="Its `modified` (or `created`) as posted.")]
    message: NotRequired[
        Annotated[str, Field(description="Why it failed, or the indicator it merged into.")]
    ]


class TaxiiStatus(TypedDict):
    """The status resource (TAXII 2.1 §4.3.1) of an Add Objects request. Writes complete
    before the response, so `status` is `complete` and `pending_count` 0."""

    id: Annotated[str, Field(description="Status id, for Get Status.")]
    status: Annotated[str, Field(description="`complete` or `pending`.")]
    request_timestamp: NotRequired[Timestamp]
    total_count: int
    success_count: int
    successes: NotRequired[list[TaxiiStatusDetails]]
    failure_count: int
    failures: NotRequired[list[TaxiiStatusDetails]]
    pending_count: int
    pendings: NotRequired[list[TaxiiStatusDetails]]


class TaxiiError(TypedDict):
    """The error message resource (TAXII 2.1 §3.6.1) of every TAXII error."""

    title: Annotated[str, Field(description="The HTTP reason phrase, e.g. `Not Found`.")]
    description: NotRequired[Annotated[str, Field(description="What went wrong, for a person.")]]
    error_id: NotRequired[
        Annotated[str, Field(description="A UUID naming this occurrence, for support requests.")]
    ]
    error_code: NotRequired[
        Annotated[
            str,
            Field(
                description="Machine-readable code, e.g. `invalid_query`, `unauthenticated`, "
                "`forbidden`, `not_found`, `not_acceptable`, `rate_limited`."
            ),
        ]
    ]
    http_status: NotRequired[
        Annotated[str, Field(description='The HTTP status code as a string, e.g. `"404"`.')]
    ]
    external_details: NotRequired[str]
    details: NotRequired[
        Annotated[
            dict[str, Any],
            Field(
                description="`parameter`: the query parameter or body field at fault; "
                "`errors`: every problem found, when there were several."
            ),
        ]
    ]


# --- the OpenAPI document: responses ---------------------------------------------------------

_ERRORS: dict[int, str] = {
    400: "A filter has a value that cannot be used: `details.parameter` names it.",
    401: "No API key, or one that is unknown, expired or revoked. Send it as `X-API-Key` or "
    "as the HTTP Basic password (any username).",
    403: "The key's plan lacks the scope this endpoint needs (`read:taxii`); the message "
    "names the plan that has it.",
    404: "No such collection: neither a collection id nor an alias.",
    406: f"The `Accept` header does not admit `{TAXII_MEDIA_TYPE}` (`*/*`, "
    "`application/*`, `application/taxii+json` and no header at all do).",
    413: "The request body is larger than the API root's `max_content_length`.",
    415: f"The body is not sent as `Content-Type: {TAXII_MEDIA_TYPE}` (a TAXII envelope; "
    "`application/taxii+json` without a version is taken as 2.1).",
    422: "The body is not a TAXII envelope: not JSON, not an object, or `objects` is not an array.",
    429: "Over the plan's requests per minute; retry after `Retry-After` seconds.",
}

_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "`Basic`: the key may be sent as the HTTP Basic password.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds until requests are accepted again.",
            "schema": {"type": "string"},
        },
        **RATE_HEADERS,
    },
}

_ERROR_SCHEMA = {"$ref": f"#/components/schemas/{TaxiiError.__name__}"}


def errors(
    *statuses: int, texts: Mapping[int, str] | None = None, model: bool = True
) -> dict[int | str, dict[str, Any]]:
    """``responses`` entries for error statuses: the TAXII error resource, TAXII media type.

    ``texts`` say what a status means on this route, where the usual explanation does not
    fit. ``model`` puts ``TaxiiError`` in the document's schemas; a route without a media
    type of its own (Delete) passes ``False``, as FastAPI would file it under another one.
    """
    described = {**_ERRORS, **(texts or {})}
    extra: dict[str, Any] = {"model": TaxiiError} if model else {}
    return {
        status: {
            **extra,
            "description": described[status],
            **({"headers": _ERROR_HEADERS[status]} if status in _ERROR_HEADERS else {}),
            "content": {TAXII_MEDIA_TYPE: {"schema": _ERROR_SCHEMA}},
        }
        for status in statuses
    }


_DATE_ADDED_HEADERS: dict[str, Any] = {
    resources.DATE_ADDED_FIRST: {
        "description": "`date_added` of the first object on this page (absent when it is empty).",
        "schema": {"type": "string", "format": "date-time"},
    },
    resources.DATE_ADDED_LAST: {
        "description": "`date_added` of the last object on this page (absent when it is "
        "empty): send it as `added_after` to poll for what was added since.",
        "schema": {"type": "string", "format": "date-time"},
    },
}


def success(model: Any, description: str, *, paged: bool = False) -> dict[str, Any]:
    """The ``responses`` entry of a TAXII resource served with the route's status."""
    headers = {**_DATE_ADDED_HEADERS, **RATE_HEADERS} if paged else RATE_HEADERS
    return {"model": model, "description": description, "headers": headers}


# --- the OpenAPI document: parameters --------------------------------------------------------

_ALIASES = ", ".join(f"`{collection.alias}`" for collection in collections.COLLECTIONS)

COLLECTION_ID = Path(
    description="The collection's id, a UUID listed by Get Collections, or its alias: "
    f"{_ALIASES} (case-insensitive). `all` holds every IOC type; `submissions` is the one "
    "collection that accepts Add Objects."
)
OBJECT_ID = Path(
    description="STIX id of the object, `<type>--<UUID>`, e.g. "
    "`indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`, as in `objects` or a manifest."
)
STATUS_ID = Path(
    description="The `id` of the status resource an Add Objects request answered with. Only "
    "the key that made that request can read it."
)


def _list_parameter(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description + " Repeat the parameter or separate values with commas.",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
        "example": [example],
    }


_PARAMETERS: dict[str, dict[str, Any]] = {
    query.ADDED_AFTER: {
        "name": query.ADDED_AFTER,
        "in": "query",
        "required": False,
        "description": "Only object versions added to the collection strictly after this time: "
        "`date_added`, when this server stored the version, not its STIX `created` or "
        "`modified`. An RFC 3339 timestamp, e.g. `2024-03-14T09:30:00.000000Z` (send `+` in "
        "an offset as `%2B`). To poll for what is new, send the previous response's "
        "`X-TAXII-Date-Added-Last`. Clamped to your plan's lookback: an earlier or missing "
        "value reads from the start of the lookback. The first page of every walk that has "
        "objects starts with the identity and TLP marking definitions the indicators refer "
        "to, whatever this says (their `date_added` is 1970-01-01).",
        "schema": {"type": "string", "format": "date-time"},
    },
    query.LIMIT: {
        "name": query.LIMIT,
        "in": "query",
        "required": False,
        "description": f"Most objects per page, a positive integer. At most {query.MAX_PAGE} "
        "are served (fewer if the server's page size is set lower), which is also the "
        "default; a larger value is lowered to that maximum, not refused. A page may hold "
        "fewer: keep reading while `more` is true.",
        "schema": {"type": "integer", "minimum": 1},
    },
    query.NEXT: {
        "name": query.NEXT,
        "in": "query",
        "required": False,
        "description": "The opaque `next` token of the previous page (present when `more` is "
        "true), to read the following page. Send the same filters with it; the walk sees the "
        "collection as it stood at its first page, so objects added meanwhile neither repeat "
        "nor go missing (the next poll gets them). A token is signed and valid only for the "
        "key, endpoint, collection and filters that received it (400 elsewhere); sent with "
        "another `added_after` than its walk's, it is stale and a fresh walk starts from "
        "that `added_after`.",
        "schema": {"type": "string"},
    },
    query.MATCH_ID: _list_parameter(
        query.MATCH_ID,
        "Only the objects with these STIX ids (`<type>--<UUID>`).",
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    ),
    query.MATCH_TYPE: _list_parameter(
        query.MATCH_TYPE,
        "Only objects of these STIX types: `indicator` (IP addresses, domains, URLs, file "
        "hashes and email addresses), `vulnerability` (CVEs), `attack-pattern` (ATT&CK "
        "techniques), `identity` and `marking-definition` (the producer and TLP markings the "
        "others refer to). Other well-formed type names are not an error; they match nothing.",
        "indicator",
    ),
    query.MATCH_VERSION: _list_parameter(
        query.MATCH_VERSION,
        "Which versions of each object: `last` (the default: the current version), `first` "
        "(the original), `all` (every version; not combined with other values), or a STIX "
        "`modified` timestamp such as `2024-01-31T12:00:00.000Z` for that exact version (as "
        "listed by Get Object Versions or a manifest's `version`).",
        "last",
    ),
    query.MATCH_SPEC_VERSION: _list_parameter(
        query.MATCH_SPEC_VERSION,
        "Only objects of these STIX specification versions, `n.m`. Every object here is STIX "
        f"{query.SPEC_VERSION}; other versions match nothing.",
        query.SPEC_VERSION,
    ),
}


def filter_parameters(endpoint: query.Endpoint) -> dict[str, Any]:
    """``openapi_extra`` listing the query parameters ``endpoint`` reads (``taxii.query``)."""
    taken = query.ENDPOINT_PARAMETERS[endpoint]
    return {"parameters": [spec for name, spec in _PARAMETERS.items() if name in taken]}


ADD_OBJECTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A TAXII envelope of STIX 2.1 objects. `indicator`, `vulnerability` "
        "(with a CVE external reference) and `attack-pattern` (with an ATT&CK external "
        "reference) objects are stored; `marking-definition`, `identity` and `relationship` "
        "objects in the same envelope are read for TLP, source and techniques. The size is "
        "limited by the API root's `max_content_length`.",
        "content": {
            TAXII_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "objects": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["type", "id"],
                                "properties": {
                                    "type": {"type": "string"},
                                    "id": {"type": "string"},
                                    "spec_version": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            }
        },
    }
}
