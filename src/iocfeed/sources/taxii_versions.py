"""TAXII 2.1 and 2.0 told apart, and the parts of TAXII 2.0 paging that are plain text.

A collection says its version by the media type it answers: ``application/taxii+json``
(2.1, the version parameter optional) or ``application/vnd.oasis.taxii+json`` (2.0). TAXII
2.0 pages with ``Range: items N-M`` and answers ``Content-Range: items N-M/TOTAL`` (the total
may be ``*``); a server may send fewer items than asked, so the next page starts after the
last item it sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

TaxiiVersion = Literal["2.1", "2.0"]

ACCEPT: dict[TaxiiVersion, str] = {
    "2.1": "application/taxii+json;version=2.1",
    "2.0": "application/vnd.oasis.taxii+json; version=2.0",
}
_MEDIA: dict[str, TaxiiVersion] = {
    "application/taxii+json": "2.1",
    "application/vnd.oasis.taxii+json": "2.0",
}
_CONTENT_RANGE = re.compile(r"^\s*items\s+(\d+)-(\d+)/(\d+|\*)\s*$")


def version_of(content_type: str | None) -> TaxiiVersion | None:
    """The TAXII version a ``Content-Type`` names, or None if it is no TAXII media type."""
    if not content_type:
        return None
    media, *parameters = (part.strip().lower() for part in content_type.split(";"))
    version = _MEDIA.get(media)
    if version is None:
        return None
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "version" and value.strip().strip('"') != version:
            return None
    return version


def next_start(content_range: str | None, count: int) -> int | None:
    """Where the next TAXII 2.0 page starts after one of ``count`` items with this
    ``Content-Range``; None when this was the last page (or the server did not say)."""
    if count == 0 or not content_range:
        return None
    found = _CONTENT_RANGE.match(content_range)
    if found is None:
        raise ValueError(f"Content-Range {content_range[:80]!r} is not 'items N-M/TOTAL'")
    last, total = int(found[2]), found[3]
    if total != "*" and last + 1 >= int(total):
        return None
    return last + 1


def newest_modified(objects: Iterable[Mapping[str, Any]], since: str | None) -> str | None:
    """The newest ``modified`` (or ``created``) among ``objects``, or ``since`` if newer.

    The checkpoint of a TAXII 2.0 server that sends no ``X-TAXII-Date-Added-Last``: an
    object is added to a collection after it was last modified, so asking next time for
    what was added after the newest ``modified`` seen never skips an object added later
    (it may fetch some again, which a run counts as unchanged).
    """
    newest = since
    for obj in objects:
        stamp = obj.get("modified") or obj.get("created")
        if isinstance(stamp, str) and (newest is None or stamp > newest):
            newest = stamp
    return newest
