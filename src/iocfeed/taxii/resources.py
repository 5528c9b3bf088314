"""TAXII 2.1 resource bodies (§3.6.1, §3.7, §4.1.1, §4.2.1, §5.1.1, §5.3.1, §5.8.1) and headers.

Every builder returns plain JSON-ready values. TAXII forbids empty lists (§2, ``list``):
a list property with nothing in it is omitted, never sent as ``[]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from iocfeed.taxii.media import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE
from iocfeed.taxii.timestamps import format_timestamp

DATE_ADDED_FIRST = "X-TAXII-Date-Added-First"
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"


def discovery(
    *,
    title: str,
    api_root: str,
    description: str | None = None,
    contact: str | None = None,
) -> dict[str, Any]:
    """The discovery resource (§4.1.1) of a server with one API root, which is the default.

    ``api_root`` is an HTTPS absolute URL or a path starting with one ``/``, without a query.
    """
    if api_root.startswith(("//", "../")) or "?" in api_root:
        raise ValueError(f"not a valid TAXII API root URL: {api_root!r}")
    body: dict[str, Any] = {"title": title}
    if description:
        body["description"] = description
    if contact:
        body["contact"] = contact
    body["default"] = api_root
    body["api_roots"] = [api_root]
    return body


def api_root(
    *, title: str, max_content_length: int, description: str | None = None
) -> dict[str, Any]:
    """The API root resource (§4.2.1): this server speaks TAXII 2.1 only."""
    if max_content_length <= 0:
        raise ValueError("max_content_length must be a positive integer")
    body: dict[str, Any] = {"title": title}
    if description:
        body["description"] = description
    body["versions"] = [TAXII_MEDIA_TYPE]
    body["max_content_length"] = max_content_length
    return body


def collections(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The collections resource (§5.1.1); ``{}`` when the key may see none."""
    return {"collections": list(resources)} if resources else {}


def envelope(
    objects: Sequence[Mapping[str, Any]], *, more: bool, next_token: str | None
) -> dict[str, Any]:
    """The envelope resource (§3.7) around already-built STIX objects."""
    body: dict[str, Any] = {"more": more}
    if more and next_token:
        body["next"] = next_token
    if objects:
        body["objects"] = list(objects)
    return body


def envelope_bytes(object_json: Sequence[bytes], more: bool, next_token: str | None) -> bytes:
    """The envelope (§3.7) as JSON bytes around objects serialised when they were stored.

    The objects are joined as they are, never parsed again: each must be one complete JSON
    object. This keeps a 1000-object page to a join instead of a parse and a dump.
    """
    head = b'{"more":true' if more else b'{"more":false'
    if more and next_token:
        head += b',"next":' + orjson.dumps(next_token)
    if not object_json:
        return head + b"}"
    return head + b',"objects":[' + b",".join(object_json) + b"]}"


def manifest_record(
    *, id: str, date_added: datetime, version: str, media_type: str = STIX_MEDIA_TYPE
) -> dict[str, Any]:
    """One manifest-record (§5.3.1): a single version of an object.

    ``version`` is the object's own STIX ``modified`` string, exactly as served, so a client
    can pass it back in ``match[version]``.
    """
    return {
        "id": id,
        "date_added": format_timestamp(date_added),
        "version": version,
        "media_type": media_type,
    }


def manifest(
    records: Sequence[Mapping[str, Any]], *, more: bool, next_token: str | None
) -> dict[str, Any]:
    """The manifest resource (§5.3.1).

    §5.3.1 lists only ``more`` and ``objects``; ``next`` is added as in the envelope so
    that clients paging by token (e.g. taxii2-client's ``as_pages``) work here too.
    """
    return envelope(records, more=more, next_token=next_token)


def versions(modified: Sequence[str], *, more: bool, next_token: str | None) -> dict[str, Any]:
    """The versions resource (§5.8.1): the STIX ``modified`` string of each version.

    ``next`` is added for token paging, as in :func:`manifest`.
    """
    body: dict[str, Any] = {"more": more}
    if more and next_token:
        body["next"] = next_token
    if modified:
        body["versions"] = list(modified)
    return body


def error(
    *,
    title: str,
    http_status: int,
    description: str | None = None,
    error_id: str | None = None,
    error_code: str | None = None,
    external_details: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The error message resource (§3.6.1); ``http_status`` MUST match the response status."""
    body: dict[str, Any] = {"title": title}
    if description:
        body["description"] = description
    if error_id:
        body["error_id"] = error_id
    if error_code:
        body["error_code"] = error_code
    body["http_status"] = str(http_status)
    if external_details:
        body["external_details"] = external_details
    if details:
        body["details"] = dict(details)
    return body


def date_added_headers(first: datetime | None, last: datetime | None) -> dict[str, str]:
    """``X-TAXII-Date-Added-First``/``-Last`` (§3.2) for a page; omitted when it is empty.

    Microsecond timestamps (§2), so ``added_after`` set to the last value resumes exactly
    after that object.
    """
    headers: dict[str, str] = {}
    if first is not None:
        headers[DATE_ADDED_FIRST] = format_timestamp(first)
    if last is not None:
        headers[DATE_ADDED_LAST] = format_timestamp(last)
    return headers
