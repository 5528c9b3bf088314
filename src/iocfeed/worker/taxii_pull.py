"""Pulling a TAXII 2.1 collection with ``taxii2-client``: pages of objects since a point.

Each page comes with the server's ``X-TAXII-Date-Added-Last`` (the ``date_added`` of its
last object), which the source keeps as its checkpoint and sends as ``added_after`` next
time, so a run asks only for what was added since. Pages are held in memory one at a time
(their size is the server's page limit); every request has the source's time limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Collection, as_pages

from iocfeed.errors import SourceFailed
from iocfeed.sources.model import Credentials

PAGE_SIZE = 1000
DATE_ADDED_LAST = "X-TAXII-Date-Added-Last"


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def pages(
    url: str, credentials: Credentials | None, added_after: str | None, timeout: float
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """(objects, X-TAXII-Date-Added-Last) of each page added after ``added_after``."""
    basic = credentials.basic() if credentials else None
    collection = Collection(
        url if url.endswith("/") else url + "/",
        user=basic[0] if basic else None,
        password=basic[1] if basic else None,
    )
    session: requests.Session = collection._conn.session  # the client's own session
    session.mount("http://", _TimeoutAdapter(timeout))
    session.mount("https://", _TimeoutAdapter(timeout))
    if credentials is not None:
        session.headers.update(credentials.headers())
    last: dict[str, str | None] = {"date_added": None}

    def remember(response: requests.Response, *_: Any, **__: Any) -> None:
        last["date_added"] = response.headers.get(DATE_ADDED_LAST)

    session.hooks["response"].append(remember)
    filters = {"added_after": added_after} if added_after else {}
    try:
        for envelope in as_pages(collection.get_objects, per_request=PAGE_SIZE, **filters):
            objects = envelope.get("objects") or []
            yield objects, last["date_added"]
    except requests.Timeout:
        raise SourceFailed(f"the TAXII server took longer than {timeout:g} seconds") from None
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise SourceFailed(f"the TAXII server answered HTTP {status}") from None
    except requests.RequestException as error:
        raise SourceFailed(f"cannot reach the TAXII server: {error}") from None
    except (TAXIIServiceException, ValueError) as error:
        raise SourceFailed(f"the TAXII server's answer cannot be used: {error}") from None
    finally:
        session.close()
