"""The OASIS client (taxii2-client) against a real server over HTTP Basic, as Sentinel would.

It walks discovery → API root → every collection with ``as_pages`` and must get every
object exactly once, also while another writer adds and changes indicators.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from stix2validator import ValidationOptions, validate_parsed_json
from taxii2client.common import TokenAuth
from taxii2client.v21 import Collection, Server, as_pages

from iocfeed.demo import generate
from iocfeed.indicators.model import Confidence
from iocfeed.taxii.collections import ALL_COLLECTION_ID, COLLECTIONS
from tests.conformance.conftest import KEY_TLP, REFERENCES, LiveServer

PAGE = 500


def served(pages: Iterable[dict[str, Any]]) -> list[str]:
    return [obj["id"] for page in pages for obj in page.get("objects", [])]


def test_discovery_to_every_collection_serves_each_object_once(live: LiveServer) -> None:
    server = Server(live.discovery, user="sentinel", password=live.key)
    assert [root.url for root in server.api_roots] == [live.api_root]
    api_root = server.default
    assert api_root.versions == ["application/taxii+json;version=2.1"]
    assert [c.id for c in api_root.collections] == [c.id for c in COLLECTIONS]
    total = 0
    for collection in api_root.collections:
        ids = served(as_pages(collection.get_objects, per_request=PAGE))
        assert len(ids) == len(set(ids)), collection.title
        stored = live.stored_ids(collection.id)
        # Submissions serves only what was posted to it (nothing here), without references.
        references = REFERENCES if stored else 0
        assert set(ids[references:]) == stored, collection.title
        assert len(ids) == references + len(stored)
        total += len(stored)
    # The all collection and the per-type ones, nothing from Submissions.
    assert total == 2 * len(live.stored_ids(ALL_COLLECTION_ID)) > 2 * 2000


def test_manifest_walk_matches_the_objects_walk(live: LiveServer) -> None:
    collection = Collection(
        f"{live.api_root}collections/{ALL_COLLECTION_ID}/", user="u", password=live.key
    )
    records = [
        (r["id"], r["version"])
        for page in as_pages(collection.get_manifest, per_request=PAGE)
        for r in page.get("objects", [])
    ]
    objects = [
        (o["id"], o.get("modified", o["created"]))
        for page in as_pages(collection.get_objects, per_request=PAGE)
        for o in page.get("objects", [])
    ]
    assert records == objects


def test_served_objects_pass_the_stix_validator(live: LiveServer) -> None:
    collection = Collection(
        f"{live.api_root}collections/{ALL_COLLECTION_ID}/", user="u", password=live.key
    )
    objects = collection.get_objects(limit=80)["objects"]
    bundle = {"type": "bundle", "id": "bundle--2d5b4c57-4a6e-4b8c-9d3e-1f2a3b4c5d6e"}
    result = validate_parsed_json({**bundle, "objects": objects}, ValidationOptions(version="2.1"))
    assert result.is_valid and not result.warnings, result.errors or result.warnings


def test_a_walk_during_writes_never_skips_or_repeats(live: LiveServer) -> None:
    """A writer adds and changes indicators between pages; the walk sees its first snapshot."""
    collection = Collection(
        f"{live.api_root}collections/{ALL_COLLECTION_ID}/", user="u", password=live.key
    )
    before = live.stored_ids(ALL_COLLECTION_ID)
    started = threading.Event()
    stop = threading.Event()
    store = live.services.indicators
    existing = list(generate(400, seed=11, now=datetime.now(UTC)))

    def writer() -> None:
        started.wait(30)
        fresh = generate(10_000, seed=99, now=datetime.now(UTC))
        round_ = 0
        while not stop.is_set() and round_ < 200:
            round_ += 1
            changed = [existing[(round_ * 7 + n) % len(existing)] for n in range(5)]
            store.write(
                [
                    *[next(fresh) for _ in range(20)],
                    *(
                        type(item)(**{**_fields(item), "confidence": _other(item.confidence)})
                        for item in changed
                    ),
                ],
                datetime.now(UTC),
            )
            store.revoke(changed[0].type, changed[0].value, datetime.now(UTC))

    thread = threading.Thread(target=writer)
    thread.start()
    ids: list[str] = []
    try:
        for page in as_pages(collection.get_objects, per_request=100):
            ids += [obj["id"] for obj in page.get("objects", [])]
            started.set()
    finally:
        stop.set()
        thread.join()
    assert len(ids) == len(set(ids))
    # An indicator that the writer raised above the key's TLP is withdrawn from the walk at
    # once, earlier versions included (SPEC §4: its current TLP counts too); one on a page
    # served before the raise has been served.
    search = live.services.search
    withdrawn = {
        stix_id
        for stix_id in before
        if (found := search.by_stix_id(stix_id)) is not None and found.effective_tlp > KEY_TLP
    }
    assert before - withdrawn <= set(ids[REFERENCES:]) <= before
    assert live.stored_ids(ALL_COLLECTION_ID) != before  # the writer did write meanwhile


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


def test_token_bearer_and_basic_username_authenticate_the_client(live: LiveServer) -> None:
    for auth in (
        TokenAuth(live.key),
        BearerAuth(live.key),
        requests.auth.HTTPBasicAuth(live.key, ""),
    ):
        server = Server(live.discovery, auth=auth)
        assert [root.url for root in server.api_roots] == [live.api_root]
        collection = server.default.collections[0]
        assert collection.get_objects(limit=5)["objects"], type(auth).__name__
    with pytest.raises(requests.HTTPError, match="401"):
        Server(live.discovery, auth=TokenAuth(live.key[:-1] + "x")).refresh()


def _fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


def _other(confidence: Confidence) -> Confidence:
    return Confidence.LOW if confidence is not Confidence.LOW else Confidence.HIGH


def test_pages_are_gzipped_for_clients_that_accept_it(live: LiveServer) -> None:
    """taxii2-client (requests) asks for gzip and decodes it; raw HTTP sees the saving."""
    import gzip

    import httpx

    collection = Collection(
        f"{live.api_root}collections/{ALL_COLLECTION_ID}/", user="u", password=live.key
    )
    seen: list[Any] = []
    collection._conn.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    page = collection.get_objects(limit=1000)
    assert len(page["objects"]) == 1000
    response = seen[-1]  # the client first fetched the collection itself
    assert "gzip" in response.request.headers["Accept-Encoding"]
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]

    url = f"{live.api_root}collections/{ALL_COLLECTION_ID}/objects/?limit=1000"
    accept = "application/taxii+json;version=2.1"
    with httpx.Client(auth=("u", live.key), timeout=30) as client:
        plain = client.get(url, headers={"Accept": accept, "Accept-Encoding": "identity"})
        with client.stream(
            "GET", url, headers={"Accept": accept, "Accept-Encoding": "gzip"}
        ) as raw:
            compressed = b"".join(raw.iter_raw())
    assert "content-encoding" not in plain.headers
    assert raw.headers["content-encoding"] == "gzip"
    assert gzip.decompress(compressed) == plain.content
    assert len(compressed) < len(plain.content) / 4
