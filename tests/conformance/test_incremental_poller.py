"""Incremental ``added_after`` pollers against a real server resolve every reference they get.

SPEC §3: the first page of every walk carries the producer identity and the TLP marking
definitions, whatever ``added_after`` says, so a poller that starts at any time (OpenCTI's
connector, Sentinel's "one day back") or that resumes from ``X-TAXII-Date-Added-Last`` after a
short page can resolve every ``created_by_ref`` and ``object_marking_refs`` it received.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from taxii2client.v21 import Collection, as_pages

from iocfeed.indicators.model import IocType, Tlp
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from tests.conformance.conftest import LiveServer
from tests.factories import ioc

ACCEPT = {"Accept": "application/taxii+json;version=2.1"}


def unresolved(objects: Iterable[dict[str, Any]]) -> set[str]:
    """References that point at no object among ``objects``."""
    objects = list(objects)
    present = {obj["id"] for obj in objects}
    wanted = {ref for obj in objects for ref in obj.get("object_marking_refs", [])}
    wanted |= {obj["created_by_ref"] for obj in objects if "created_by_ref" in obj}
    return wanted - present


def poll(
    live: LiveServer, added_after: str | None, limit: int, *, follow: bool = True
) -> tuple[list[Any], str | None]:
    """One SIEM poll (following ``next`` to the end unless told not to): the objects and the
    last ``X-TAXII-Date-Added-Last``."""
    url = f"{live.api_root}collections/{ALL_COLLECTION_ID}/objects/"
    params: dict[str, Any] = {"limit": limit}
    if added_after is not None:
        params["added_after"] = added_after
    objects: list[Any] = []
    last = None
    with httpx.Client(auth=("poller", live.key), headers=ACCEPT) as client:
        while True:
            response = client.get(url, params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            objects += body.get("objects", [])
            last = response.headers.get("X-TAXII-Date-Added-Last", last)
            if not body.get("more") or not follow:
                return objects, last
            params = {"limit": limit, "next": body["next"]}


def test_taxii2_client_polls_from_any_time_resolve_every_reference(live: LiveServer) -> None:
    collection = Collection(
        f"{live.api_root}collections/{ALL_COLLECTION_ID}/", user="u", password=live.key
    )
    for hours in (1, 3, 24):
        since = datetime.now(UTC) - timedelta(hours=hours)
        objects = [
            obj
            for page in as_pages(collection.get_objects, per_request=200, added_after=since)
            for obj in page.get("objects", [])
        ]
        assert any(obj["type"] == "indicator" for obj in objects)
        assert unresolved(objects) == set()


def test_a_short_page_then_polls_from_the_last_header_resolve_every_reference(
    live: LiveServer,
) -> None:
    first, last = poll(live, None, limit=3, follow=False)
    assert len(first) <= 3 and last is not None
    # New intelligence at every TLP the key may read arrives between polls.
    now = datetime.now(UTC)
    tlps = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)
    for round_ in range(3):
        live.services.indicators.write(
            [
                ioc(IocType.DOMAIN, f"poll-{round_}-{n}.example", tlp=tlp)
                for n, tlp in enumerate(tlps)
            ],
            now,
        )
        objects, new_last = poll(live, last, limit=1000 if round_ else 10)
        names = {obj.get("name") for obj in objects}
        assert {f"Malicious domain poll-{round_}-{n}.example" for n in range(4)} <= names
        assert f"Malicious domain poll-{round_}-4.example" not in names  # RED: above the key
        assert unresolved(objects) == set()
        assert new_last is not None and new_last > last
        last = new_last
    # An idle poll stays empty and keeps the client's bookmark (no headers to follow).
    assert poll(live, last, limit=1000) == ([], None)
