"""TAXII 2.1 under /taxii2/ (SPEC §3): every endpoint, filter and error path, in process.

Storage-dependent behaviour runs on SQLite and PostgreSQL (``site``); the rest on SQLite.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.stix.markings import TLP_2
from iocfeed.taxii.collections import ALL_COLLECTION_ID, COLLECTIONS, SUBMISSIONS_COLLECTION_ID
from iocfeed.taxii.media import TAXII_MEDIA_TYPE
from tests.conftest import sqlite_url
from tests.factories import ioc
from tests.web.conftest import NOW, Site, migrated, start_site

ROOT = "/taxii2/api/"
ALL = f"{ROOT}collections/{ALL_COLLECTION_ID}/"
SUBMISSIONS = f"{ROOT}collections/{SUBMISSIONS_COLLECTION_ID}/"
IDENTITY = "identity--6a8f9f3e-4c1b-4d63-9a57-2f3d9b0c7e21"
REFERENCE_IDS = [IDENTITY, *(marking_id for marking_id, _ in TLP_2.values())]
ACCEPT = {"Accept": TAXII_MEDIA_TYPE}
POST = {"Accept": TAXII_MEDIA_TYPE, "Content-Type": TAXII_MEDIA_TYPE}


def get(site: Site, path: str, who: str = "admin", **params: Any) -> Any:
    return site.client.get(path, headers={**ACCEPT, **site.headers(who)}, params=params)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == TAXII_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body.get("objects", [])]


def walk(site: Site, path: str, who: str = "admin", **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a ``next`` walk."""
    body = ok(get(site, path, who, **params))
    yield body
    while body["more"]:
        body = ok(get(site, path, who, **params, next=body["next"]))
        yield body


def post(site: Site, objects: Any, who: str = "enterprise", path: str = SUBMISSIONS) -> Any:
    content = orjson.dumps(objects if isinstance(objects, dict) else {"objects": objects})
    return site.client.post(
        f"{path}objects/", content=content, headers={**POST, **site.headers(who)}
    )


def stix_indicator(object_id: str, pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id,
        "created": "2025-05-01T00:00:00.000Z",
        "modified": "2025-05-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2025-05-01T00:00:00Z",
        **extra,
    }


def assert_taxii_error(response: Any, status: int) -> dict[str, Any]:
    """The one check of every error: status, media type and the TAXII error resource (§3.6.1)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["title"]
    assert body["http_status"] == str(status)
    assert body["description"]
    return body


@pytest.fixture
def loaded(site: Site) -> Site:
    site.load(
        [
            ioc(IocType.DOMAIN, "a.example"),
            ioc(IocType.IPV4, "198.51.100.1"),
            ioc(IocType.SHA256, "a" * 64),
            ioc(IocType.CVE, "CVE-2021-44228"),
            ioc(IocType.DOMAIN, "b.example"),
        ]
    )
    return site


# -- discovery, API root, collections ---------------------------------------------------


def test_discovery_names_the_api_root_with_and_without_slash(sqlite_site: Site) -> None:
    for path in ("/taxii2/", "/taxii2"):
        body = ok(get(sqlite_site, path))
        assert body["default"] == "http://testserver/taxii2/api/"
        assert body["api_roots"] == ["http://testserver/taxii2/api/"]


def test_api_root_speaks_taxii_2_1_and_states_the_body_limit(sqlite_site: Site) -> None:
    body = ok(get(sqlite_site, ROOT))
    assert body["versions"] == [TAXII_MEDIA_TYPE]
    assert body["max_content_length"] == sqlite_site.services.settings.max_body_bytes
    assert ok(get(sqlite_site, ROOT.rstrip("/"))) == body


def test_collections_list_every_collection_and_what_the_key_may_do(sqlite_site: Site) -> None:
    pro = ok(get(sqlite_site, f"{ROOT}collections/", "pro"))["collections"]
    assert [c["id"] for c in pro] == [c.id for c in COLLECTIONS]
    assert all(c["can_read"] and not c["can_write"] for c in pro)
    enterprise = ok(get(sqlite_site, f"{ROOT}collections/", "enterprise"))["collections"]
    assert [c["id"] for c in enterprise if c["can_write"]] == [SUBMISSIONS_COLLECTION_ID]


def test_collection_by_id_and_by_alias(sqlite_site: Site) -> None:
    by_id = ok(get(sqlite_site, ALL))
    assert by_id["title"] == "All indicators"
    assert ok(get(sqlite_site, f"{ROOT}collections/all")) == by_id


# -- objects, paging and headers ----------------------------------------------------------


def test_objects_start_with_the_reference_objects_then_indicators(loaded: Site) -> None:
    response = get(loaded, f"{ALL}objects/")
    body = ok(response)
    assert ids(body)[:6] == REFERENCE_IDS
    assert len(ids(body)) == 6 + 5
    assert body["more"] is False and "next" not in body
    assert response.headers["X-TAXII-Date-Added-First"] == "1970-01-01T00:00:00.000000Z"
    last = max(loaded.current(ioc(IocType.DOMAIN, "b.example")).date_added, NOW)
    assert response.headers["X-TAXII-Date-Added-Last"] == last.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    references = body["objects"][:6]
    referenced = {ref for obj in body["objects"][6:] for ref in obj["object_marking_refs"]}
    assert referenced <= {obj["id"] for obj in references}
    assert {obj["created_by_ref"] for obj in body["objects"][6:]} == {IDENTITY}


@pytest.mark.parametrize("limit", [7, 8, 1000])
def test_next_walk_serves_every_object_once_at_any_page_size(loaded: Site, limit: int) -> None:
    pages = list(walk(loaded, f"{ALL}objects/", limit=limit))
    served = [object_id for page in pages for object_id in ids(page)]
    assert len(served) == len(set(served)) == 11
    assert all(len(ids(page)) == limit for page in pages[:-1])
    assert served[:6] == REFERENCE_IDS


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
def test_a_limit_below_the_references_still_moves_on_and_resolves(loaded: Site, limit: int) -> None:
    """Too small for every reference and a stored object: each page keeps at least one stored
    object (a walk or an ``added_after`` poll always moves on) and the identity and markings
    it references, as far as the limit allows."""
    pages = list(walk(loaded, f"{ALL}objects/", limit=limit))
    assert all(len(ids(page)) <= limit for page in pages)
    stored = [o for page in pages for o in page["objects"] if o["id"] not in REFERENCE_IDS]
    assert len(stored) == len({o["id"] for o in stored}) == 5
    first = pages[0]["objects"]
    kept = [o for o in first if o["id"] not in REFERENCE_IDS]
    assert kept
    shown = {o["id"] for o in first} - {o["id"] for o in kept}
    needed = {IDENTITY} | {ref for o in kept for ref in o["object_marking_refs"]}
    assert shown <= needed
    assert len(shown) == min(len(needed), limit - len(kept))


def test_manifest_pages_like_objects(loaded: Site) -> None:
    records = [r for page in walk(loaded, f"{ALL}manifest/", limit=8) for r in page["objects"]]
    objects = [o for page in walk(loaded, f"{ALL}objects/", limit=8) for o in page["objects"]]
    assert [(r["id"], r["version"]) for r in records] == [
        (o["id"], o.get("modified", o["created"])) for o in objects
    ]
    assert {r["media_type"] for r in records} == {"application/stix+json;version=2.1"}
    assert records[0]["date_added"] == "1970-01-01T00:00:00.000000Z"


def test_added_after_is_strict_and_resumes_from_the_last_header(loaded: Site) -> None:
    first = get(loaded, f"{ALL}objects/", limit=8)
    rest = get(loaded, f"{ALL}objects/", added_after=first.headers["X-TAXII-Date-Added-Last"])
    # Every first page starts with the references; the stored objects never repeat.
    assert ids(ok(first))[:6] == ids(ok(rest))[:6] == REFERENCE_IDS
    assert not set(ids(ok(first))[6:]) & set(ids(ok(rest))[6:])
    assert len(ids(ok(first))[6:]) + len(ids(ok(rest))[6:]) == 5
    assert get(loaded, f"{ALL}objects/", added_after="2999-01-01T00:00:00Z").json() == {
        "more": False
    }


def test_limit_is_capped_at_the_server_maximum(loaded: Site) -> None:
    loaded.load(ioc(IocType.SHA1, f"{n:040x}") for n in range(1100))
    body = ok(get(loaded, f"{ALL}objects/", limit=5000))
    assert len(ids(body)) == 1000 and body["more"] is True


def test_per_type_collections_hold_only_their_type(loaded: Site) -> None:
    body = ok(get(loaded, f"{ROOT}collections/domain/objects/"))
    patterns = [o["pattern"] for o in body["objects"][6:]]
    assert patterns == ["[domain-name:value = 'a.example']", "[domain-name:value = 'b.example']"]
    cves = ok(get(loaded, f"{ROOT}collections/cve/objects/", **{"match[type]": "vulnerability"}))
    assert [o["name"] for o in cves["objects"]] == ["CVE-2021-44228"]


# -- match[...] ------------------------------------------------------------------------


def test_match_type(loaded: Site) -> None:
    indicators = ok(get(loaded, f"{ALL}objects/", **{"match[type]": "indicator"}))
    assert {o["type"] for o in indicators["objects"]} == {"indicator"}
    assert len(indicators["objects"]) == 4
    both = ok(get(loaded, f"{ALL}objects/", **{"match[type]": "vulnerability,identity"}))
    assert [o["type"] for o in both["objects"]] == ["identity", "vulnerability"]
    markings = ok(get(loaded, f"{ALL}objects/", **{"match[type]": "marking-definition"}))
    assert len(markings["objects"]) == 5
    nothing = get(loaded, f"{ALL}objects/", **{"match[type]": "x-no-such-type"})
    assert ok(nothing) == {"more": False}


def test_match_id(loaded: Site) -> None:
    wanted = loaded.current(ioc(IocType.IPV4, "198.51.100.1")).stix_id
    body = ok(get(loaded, f"{ALL}objects/", **{"match[id]": f"{wanted},{IDENTITY}"}))
    assert ids(body) == [IDENTITY, wanted]


def test_match_spec_version(loaded: Site) -> None:
    assert len(ids(ok(get(loaded, f"{ALL}objects/", **{"match[spec_version]": "2.1"})))) == 11
    assert ok(get(loaded, f"{ALL}objects/", **{"match[spec_version]": "2.0"})) == {"more": False}


@pytest.fixture
def versioned(site: Site) -> tuple[Site, list[str]]:
    """One domain in three versions, a minute apart: its ``modified`` values, oldest first."""
    item = ioc(IocType.DOMAIN, "v.example", confidence=Confidence.LOW)
    site.load([item])
    site.load(
        [ioc(IocType.DOMAIN, "v.example", confidence=Confidence.MEDIUM)], NOW + timedelta(minutes=1)
    )
    site.load(
        [ioc(IocType.DOMAIN, "v.example", confidence=Confidence.HIGH)], NOW + timedelta(minutes=2)
    )
    stix_id = site.current(item).stix_id
    versions = ok(get(site, f"{ALL}objects/{stix_id}/versions/"))["versions"]
    return site, versions


def test_match_version_last_first_all_and_timestamp(versioned: tuple[Site, list[str]]) -> None:
    site, versions = versioned
    assert len(versions) == 3
    path = f"{ALL}objects/"

    def modified(**match: str) -> list[str]:
        query = {f"match[{k}]": v for k, v in match.items()}
        body = ok(get(site, path, **{"match[type]": "indicator", **query}))
        return [o["modified"] for o in body.get("objects", [])]

    assert modified() == [versions[-1]]
    assert modified(version="last") == [versions[-1]]
    assert modified(version="first") == [versions[0]]
    assert modified(version="all") == versions
    assert modified(version="first,last") == [versions[0], versions[-1]]
    assert modified(version=versions[1]) == [versions[1]]
    assert modified(version="2001-01-01T00:00:00.000Z") == []


def test_object_by_id_and_its_versions(versioned: tuple[Site, list[str]]) -> None:
    site, versions = versioned
    stix_id = site.current(ioc(IocType.DOMAIN, "v.example")).stix_id
    latest = ok(get(site, f"{ALL}objects/{stix_id}/"))
    assert [(o["id"], o["modified"]) for o in latest["objects"]] == [(stix_id, versions[-1])]
    every = ok(get(site, f"{ALL}objects/{stix_id}", **{"match[version]": "all"}))
    assert [o["modified"] for o in every["objects"]] == versions
    paged = list(walk(site, f"{ALL}objects/{stix_id}/versions/", limit=2))
    assert [v for page in paged for v in page["versions"]] == versions
    assert ok(get(site, f"{ALL}objects/{IDENTITY}/versions/"))["versions"] == [
        "2024-01-01T00:00:00.000Z"
    ]


def test_revocation_is_a_new_version_that_added_after_polls_see(loaded: Site) -> None:
    item = ioc(IocType.DOMAIN, "a.example")
    before = get(loaded, f"{ALL}objects/")
    loaded.services.indicators.revoke(item.type, item.value, NOW + timedelta(minutes=5))
    poll = ok(get(loaded, f"{ALL}objects/", added_after=before.headers["X-TAXII-Date-Added-Last"]))
    assert [(o["id"], o.get("revoked")) for o in poll["objects"][6:]] == [
        (loaded.current(item).stix_id, True)
    ]


def test_the_plan_lookback_clamps_added_after(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "old.example")], NOW - timedelta(days=100))
    site.load([ioc(IocType.DOMAIN, "new.example")], NOW - timedelta(days=10))
    pro = ok(get(site, f"{ALL}objects/", "pro", **{"match[type]": "indicator"}))
    assert [o["name"] for o in pro["objects"]] == ["Malicious domain new.example"]
    asked = ok(
        get(
            site,
            f"{ALL}objects/",
            "pro",
            added_after="2000-01-01T00:00:00Z",
            **{"match[type]": "indicator"},
        )
    )
    assert asked == pro
    admin = ok(get(site, f"{ALL}objects/", "admin", **{"match[type]": "indicator"}))
    assert len(admin["objects"]) == 2


def test_indicators_above_the_key_tlp_are_not_served(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "red.example", tlp=Tlp.RED)])
    red_id = site.current(ioc(IocType.DOMAIN, "red.example")).stix_id
    assert red_id not in ids(ok(get(site, f"{ALL}objects/", "pro")))
    assert red_id in ids(ok(get(site, f"{ALL}objects/", "admin")))
    assert_taxii_error(get(site, f"{ALL}objects/{red_id}/", "pro"), 404)


# -- Add Objects, Status, Delete --------------------------------------------------------


NEW_ID = "indicator--4f0f6a0e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"


def test_posted_objects_are_stored_under_their_ids_and_reported(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "known.example")])
    known_id = site.current(ioc(IocType.DOMAIN, "known.example")).stix_id
    posted = [
        stix_indicator(NEW_ID, "[ipv4-addr:value = '203.0.113.77']", labels=["Posted"]),
        stix_indicator(
            "indicator--9d4f7a4e-1111-4222-8333-944455556666",
            "[domain-name:value = 'known.example']",
        ),
        stix_indicator(
            "indicator--aaaaaaaa-1111-4222-8333-944455556666",
            "[ipv4-addr:value = '203.0.113.1'] AND [ipv4-addr:value = '203.0.113.2']",
        ),
        stix_indicator(
            "indicator--bbbbbbbb-1111-4222-8333-944455556666", "[ipv4-addr:value = '999.1.1.1']"
        ),
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": "identity--0d5b9a1e-1f5c-4c8e-9f3a-2b7d6e5c4a3b",
            "name": "x",
        },
        {"type": "indicator", "id": "not-an-id"},
        "just a string",
    ]
    response = post(site, posted)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == TAXII_MEDIA_TYPE
    status = response.json()
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (7, 2, 5)
    assert status["pending_count"] == 0
    successes = {s["id"]: s for s in status["successes"]}
    assert successes[NEW_ID] == {"id": NEW_ID, "version": "2025-05-01T00:00:00.000Z"}
    assert known_id in successes["indicator--9d4f7a4e-1111-4222-8333-944455556666"]["message"]
    reasons = " ".join(f["message"] for f in status["failures"])
    assert "999.1.1.1" in reasons and "identity objects are not stored" in reasons
    # The status resource is kept for the key that posted, and only for it.
    stored = ok(get(site, f"{ROOT}status/{status['id']}/", "enterprise"))
    assert stored == status
    assert_taxii_error(get(site, f"{ROOT}status/{status['id']}/", "admin"), 404)
    # The new indicator is served under the posted id, in the read collections too.
    for path in (SUBMISSIONS, ALL, f"{ROOT}collections/ipv4/"):
        body = ok(get(site, f"{path}objects/", **{"match[id]": NEW_ID}))
        assert [(o["id"], o["labels"]) for o in body["objects"]] == [(NEW_ID, ["posted"])]


def test_posting_many_of_one_type_keeps_each_id(sqlite_site: Site) -> None:
    posted = [
        stix_indicator(
            f"indicator--{n:08x}-1111-4222-8333-944455556666",
            f"[ipv4-addr:value = '203.0.113.{n}']",
        )
        for n in range(1, 6)
    ]
    status = post(sqlite_site, posted).json()
    assert status["success_count"] == 5
    for obj in posted:
        stored = sqlite_site.services.search.by_stix_id(obj["id"])
        assert stored is not None and f"'{stored.value}'" in obj["pattern"]


def test_a_posted_id_naming_another_value_is_not_reused(sqlite_site: Site) -> None:
    post(sqlite_site, [stix_indicator(NEW_ID, "[domain-name:value = 'one.example']")])
    status = post(sqlite_site, [stix_indicator(NEW_ID, "[domain-name:value = 'two.example']")])
    assert status.json()["success_count"] == 1
    two = sqlite_site.current(ioc(IocType.DOMAIN, "two.example"))
    assert two.stix_id != NEW_ID
    assert sqlite_site.current(ioc(IocType.DOMAIN, "one.example")).stix_id == NEW_ID


def test_delete_revokes_the_object(site: Site) -> None:
    post(site, [stix_indicator(NEW_ID, "[domain-name:value = 'gone.example']")])
    response = site.client.delete(
        f"{SUBMISSIONS}objects/{NEW_ID}/", headers={**ACCEPT, **site.headers("enterprise")}
    )
    assert response.status_code == 200, response.text
    body = ok(get(site, f"{ALL}objects/{NEW_ID}/"))
    assert [o.get("revoked") for o in body["objects"]] == [True]
    versions = ok(get(site, f"{ALL}objects/{NEW_ID}/versions/"))["versions"]
    assert len(versions) == 2


# -- errors -------------------------------------------------------------------------------


def test_401_without_or_with_a_bad_key_asks_for_basic(sqlite_site: Site) -> None:
    for who in ("none", "bad", "expired", "revoked"):
        response = get(sqlite_site, f"{ALL}objects/", who)
        assert_taxii_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_http_basic_with_any_username_and_the_key_as_password(sqlite_site: Site) -> None:
    token = base64.b64encode(f"sentinel:{sqlite_site.keys['pro']}".encode()).decode()
    response = sqlite_site.client.get(ROOT, headers={**ACCEPT, "Authorization": f"Basic {token}"})
    ok(response)


def test_403_names_the_plan_needed(sqlite_site: Site) -> None:
    body = assert_taxii_error(get(sqlite_site, f"{ALL}objects/", "free"), 403)
    assert body["description"] == "Requires the Pro plan (read:taxii scope)"
    body = assert_taxii_error(post(sqlite_site, [], "pro"), 403)
    assert body["description"] == "Requires the Enterprise plan (write:iocs scope)"
    assert_taxii_error(post(sqlite_site, [], path=ALL), 403)
    response = sqlite_site.client.delete(
        f"{ALL}objects/{NEW_ID}/", headers={**ACCEPT, **sqlite_site.headers("enterprise")}
    )
    assert_taxii_error(response, 403)


def test_404s(sqlite_site: Site) -> None:
    missing = "indicator--00000000-0000-4000-8000-000000000000"
    for path in (
        f"{ROOT}collections/00000000-0000-4000-8000-000000000000/",
        f"{ROOT}collections/nope/objects/",
        f"{ALL}objects/{missing}/",
        f"{ALL}objects/{missing}/versions/",
        f"{ALL}objects/not-a-stix-id/",
        f"{ROOT}status/00000000-0000-4000-8000-000000000000/",
        "/taxii2/nosuchroot/",
    ):
        assert_taxii_error(get(sqlite_site, path), 404)
    response = sqlite_site.client.delete(
        f"{SUBMISSIONS}objects/{missing}/", headers={**ACCEPT, **sqlite_site.headers("admin")}
    )
    assert_taxii_error(response, 404)


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/taxii+json;version=2.0",
        "text/html",
        "application/taxii+json;q=0",
    ],
)
def test_406_for_an_accept_that_admits_no_taxii_2_1(sqlite_site: Site, accept: str) -> None:
    for path in ("/taxii2/", ROOT, f"{ALL}objects/"):
        response = sqlite_site.client.get(
            path, headers={"Accept": accept, **sqlite_site.headers("pro")}
        )
        assert_taxii_error(response, 406)
    # Negotiation comes first: even without a key the answer is 406.
    assert_taxii_error(sqlite_site.client.get(ROOT, headers={"Accept": accept}), 406)


@pytest.mark.parametrize("accept", ["application/taxii+json", "*/*", "application/*"])
def test_looser_accepts_that_admit_taxii_2_1_are_served(sqlite_site: Site, accept: str) -> None:
    ok(sqlite_site.client.get(ROOT, headers={"Accept": accept, **sqlite_site.headers("pro")}))


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/stix+json;version=2.1", None]
)
def test_415_for_a_body_that_is_not_a_taxii_envelope(
    sqlite_site: Site, content_type: str | None
) -> None:
    headers = {**ACCEPT, **sqlite_site.headers("enterprise")}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = sqlite_site.client.post(
        f"{SUBMISSIONS}objects/", content=b'{"objects": []}', headers=headers
    )
    assert_taxii_error(response, 415)


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"objects": {}}'])
def test_422_for_a_body_that_is_not_an_envelope(sqlite_site: Site, body: bytes) -> None:
    response = sqlite_site.client.post(
        f"{SUBMISSIONS}objects/",
        content=body,
        headers={**POST, **sqlite_site.headers("enterprise")},
    )
    assert_taxii_error(response, 422)


def chunks(data: bytes) -> Iterator[bytes]:
    """A body sent chunked, without a Content-Length to refuse it by."""
    yield data[:100]
    yield data[100:]


def test_413_for_a_body_over_the_limit(tmp_path: Path) -> None:
    for small in start_site(migrated(sqlite_url(tmp_path)), max_body_bytes=2000):
        assert ok(get(small, ROOT))["max_content_length"] == 2000
        envelope = {"objects": [stix_indicator(NEW_ID, "[domain-name:value = 'x.example']")] * 20}
        assert_taxii_error(post(small, envelope), 413)

        response = small.client.post(
            f"{SUBMISSIONS}objects/",
            content=chunks(orjson.dumps(envelope)),
            headers={**POST, **small.headers("enterprise")},
        )
        assert_taxii_error(response, 413)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "abc"),
        ("limit", "0"),
        ("added_after", "yesterday"),
        ("next", "not-a-token"),
        ("match[id]", "indicator--nope"),
        ("match[version]", "newest"),
        ("match[spec_version]", "two"),
        ("match[type]", "Not A Type!"),
    ],
)
def test_400_for_a_filter_that_cannot_be_understood(
    sqlite_site: Site, name: str, value: str
) -> None:
    body = assert_taxii_error(get(sqlite_site, f"{ALL}objects/", **{name: value}), 400)
    assert body["details"]["parameter"] == name


def test_a_damaged_next_token_is_refused(loaded: Site) -> None:
    token = ok(get(loaded, f"{ALL}objects/", limit=2))["next"]
    damaged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert_taxii_error(get(loaded, f"{ALL}objects/", next=damaged), 400)
