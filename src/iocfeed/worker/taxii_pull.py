"""Pulling a TAXII 2.1 or 2.0 collection with ``taxii2-client``: pages of objects since a point.

The version is the one the collection URL answers in: a first GET of the collection asks
for TAXII 2.1 and, if the server refuses that (HTTP 406) or answers in another media type,
for TAXII 2.0; a server answering neither fails the run. Then ``taxii2client.v21`` pages
with ``next`` or ``taxii2client.v20`` with ``Range: items N-M``.

Each page's checkpoint is the server's ``X-TAXII-Date-Added-Last`` (the ``date_added`` of
its last object), which the source keeps and sends as ``added_after`` next time, so a run
asks only for what was added since. A TAXII 2.0 server need not send that header; then the
checkpoint is the newest ``modified`` among the objects read (see
``sources.taxii_versions.newest_modified``). Pages are held in memory one at a time (their
size is the server's page limit); every request has the source's time limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from taxii2client import v20, v21
from taxii2client.exceptions import TAXIIServiceException

from iocfeed.errors import SourceFailed
from iocfeed.sources.model import Credentials
from iocfeed.sources.taxii_versions import (
    ACCEPT,
    TaxiiVersion,
    newest_modified,
    next_start,
    version_of,
)

PAGE_SIZE = 1000
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"

Page = tuple[list[dict[str, Any]], str | None]


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _prepare(session: requests.Session, credentials: Credentials | None, timeout: float) -> None:
    session.mount("http://", _TimeoutAdapter(timeout))
    session.mount("https://", _TimeoutAdapter(timeout))
    if credentials is not None:
        session.headers.update(credentials.headers())
        basic = credentials.basic()
        if basic is not None:
            session.auth = basic


def pages(
    url: str, credentials: Credentials | None, added_after: str | None, timeout: float
) -> Iterator[Page]:
    """(objects, checkpoint) of each page added after ``added_after``."""
    url = url if url.endswith("/") else url + "/"
    try:
        version = _version(url, credentials, timeout)
        if version == "2.0":
            yield from _pages_v20(url, credentials, added_after, timeout)
        else:
            yield from _pages_v21(url, credentials, added_after, timeout)
    except requests.Timeout:
        raise SourceFailed(f"the TAXII server took longer than {timeout:g} seconds") from None
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise SourceFailed(f"the TAXII server answered HTTP {status}") from None
    except requests.RequestException as error:
        raise SourceFailed(f"cannot reach the TAXII server: {error}") from None
    except (TAXIIServiceException, ValueError) as error:
        raise SourceFailed(f"the TAXII server's answer cannot be used: {error}") from None


def _version(url: str, credentials: Credentials | None, timeout: float) -> TaxiiVersion:
    """The TAXII version the collection answers in (2.1 asked first, then 2.0)."""
    answered = ""
    with requests.Session() as session:
        _prepare(session, credentials, timeout)
        for asked in ACCEPT.values():
            response = session.get(url, headers={"Accept": asked})
            if response.status_code in (406, 415):
                continue
            response.raise_for_status()
            answered = response.headers.get("Content-Type", "")
            version = version_of(answered)
            if version is not None:
                return version
    shown = f"in {answered[:80]!r}" if answered else "to neither media type"
    raise SourceFailed(
        f"the URL is not a TAXII 2.1 or 2.0 collection: it answered {shown}, expected "
        f"{ACCEPT['2.1']!r} or {ACCEPT['2.0']!r}"
    )


def _remembering(session: requests.Session) -> dict[str, str | None]:
    last: dict[str, str | None] = {"date_added": None, "range": None}

    def remember(response: requests.Response, *_: Any, **__: Any) -> None:
        last["date_added"] = response.headers.get(DATE_ADDED_LAST)
        last["range"] = response.headers.get("Content-Range")

    session.hooks["response"].append(remember)
    return last


def _pages_v21(
    url: str, credentials: Credentials | None, added_after: str | None, timeout: float
) -> Iterator[Page]:
    collection = v21.Collection(url)
    session: requests.Session = collection._conn.session  # the client's own session
    _prepare(session, credentials, timeout)
    last = _remembering(session)
    filters = {"added_after": added_after} if added_after else {}
    try:
        for envelope in v21.as_pages(collection.get_objects, per_request=PAGE_SIZE, **filters):
            yield envelope.get("objects") or [], last["date_added"]
    finally:
        session.close()


def _pages_v20(
    url: str, credentials: Credentials | None, added_after: str | None, timeout: float
) -> Iterator[Page]:
    """Pages by ``Range``, each starting after the last item the server sent (a server may
    send fewer than asked; ``v20.as_pages`` then stops early when the total is small)."""
    collection = v20.Collection(url)
    session: requests.Session = collection._conn.session
    _prepare(session, credentials, timeout)
    last = _remembering(session)
    filters = {"added_after": added_after} if added_after else {}
    newest: str | None = None
    start: int | None = 0
    try:
        while start is not None:
            response = collection.get_objects(start=start, per_request=PAGE_SIZE, **filters)
            bundle = orjson.loads(response.content)
            if not isinstance(bundle, dict):
                raise ValueError("the objects endpoint did not answer a STIX bundle")
            objects = bundle.get("objects") or []
            newest = newest_modified(objects, newest)
            yield objects, last["date_added"] or newest
            start = next_start(last["range"], len(objects))
    finally:
        session.close()
