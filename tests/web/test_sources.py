"""/api/v1/sources for admin keys: manage sources, run one now, search by source; the
revoked version of an indicator a source dropped reaches TAXII."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.taxii.media import TAXII_MEDIA_TYPE
from tests.sources.conftest import FEEDS, FeedServer, feeds
from tests.web.conftest import Site

__all__ = ["feeds"]  # the loopback feed server fixture

URLHAUS = FEEDS / "urlhaus" / "csv_recent.sample.csv"
SECRET = "very-secret-feed-key"


def post(site: Site, url: str, body: Any, who: str = "admin") -> Any:
    return site.client.post(url, json=body, headers=site.headers(who))


def test_admin_adds_runs_and_searches_by_source(site: Site, feeds: FeedServer) -> None:
    url = feeds.serve("/csv_recent/", URLHAUS)
    created = post(
        site,
        "/api/v1/sources",
        {"name": "urlhaus", "kind": "urlhaus", "url": url, "interval": 600, "api_key": SECRET,
         "api_key_header": "Auth-Key", "tags": ["abuse.ch"]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["credentials"] == "api_key (Auth-Key)"
    assert (body["kind"], body["interval"], body["enabled"]) == ("urlhaus", 600, True)
    run = post(site, "/api/v1/sources/urlhaus/run", None)
    assert run.status_code == 200, run.text
    assert (run.json()["outcome"], run.json()["added"]) == ("succeeded", 40)
    assert feeds.requests[-1]["Auth-Key"] == SECRET
    listed = site.get("/api/v1/sources")
    shown = site.get("/api/v1/sources/urlhaus")
    for response in (created, run, listed, shown):
        assert SECRET not in response.text
    assert shown.json()["runs"][0]["added"] == 40
    assert listed.json()["items"][0]["runs"][0]["outcome"] == "succeeded"
    found = site.get("/api/v1/iocs", params={"source": "urlhaus", "limit": 100})
    assert len(found.json()["items"]) == 40
    # An indicator reported by a second source is found under either name.
    second = feeds.serve("/second.txt", "http://27.215.214.134:60116/i\n")
    post(site, "/api/v1/sources", {"name": "second", "kind": "text", "url": second})
    assert post(site, "/api/v1/sources/second/run", None).json()["unchanged"] == 1
    for name in ("urlhaus", "second"):
        values = [
            i["value"] for i in site.get("/api/v1/iocs", params={"source": name}).json()["items"]
        ]
        assert "http://27.215.214.134:60116/i" in values


def test_enable_disable_delete_and_errors(site: Site, feeds: FeedServer) -> None:
    url = feeds.serve("/list.txt", "evil.example.com\n")
    assert (
        post(site, "/api/v1/sources", {"name": "list", "kind": "text", "url": url}).status_code
        == 201
    )
    patched = site.client.patch(
        "/api/v1/sources/list", json={"enabled": False}, headers=site.headers("admin")
    )
    assert patched.json()["enabled"] is False
    duplicate = post(site, "/api/v1/sources", {"name": "list", "kind": "text", "url": url})
    assert duplicate.status_code == 400
    assert duplicate.json()["message"] == "a source named 'list' exists"
    assert (
        post(site, "/api/v1/sources", {"name": "x", "kind": "rss", "url": url}).status_code == 422
    )
    bad_url = post(site, "/api/v1/sources", {"name": "y", "kind": "text", "url": "ftp://a/b"})
    assert (bad_url.status_code, bad_url.json()["parameter"]) == (400, "url")
    two = post(site, "/api/v1/sources", {"name": "z", "kind": "text", "url": url, "basic": "a:b",
                                         "header": "X-Key: v"})  # fmt: skip
    assert two.status_code == 400
    deleted = site.client.delete("/api/v1/sources/list", headers=site.headers("admin"))
    assert deleted.status_code == 200
    assert site.get("/api/v1/sources/list").status_code == 404
    assert post(site, "/api/v1/sources/list/run", None).status_code == 404


def test_only_admin_keys_manage_sources(site: Site) -> None:
    refused = site.get("/api/v1/sources", who="enterprise")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Requires the Admin plan (admin:sources scope)"


def test_a_dropped_indicator_is_revoked_and_its_revoked_version_reaches_taxii(
    site: Site, feeds: FeedServer
) -> None:
    url = feeds.serve("/list.txt", "kept.example.com\ndropped.example.com\n", etag=False)
    post(site, "/api/v1/sources", {"name": "list", "kind": "text", "url": url})
    post(site, "/api/v1/sources/list/run", None)
    feeds.serve("/list.txt", "kept.example.com\n", etag=False)
    assert post(site, "/api/v1/sources/list/run", None).json()["revoked"] == 0
    assert post(site, "/api/v1/sources/list/run", None).json()["revoked"] == 1
    objects = site.client.get(
        f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/",
        headers={"Accept": TAXII_MEDIA_TYPE, **site.headers("admin")},
        params={"match[type]": "indicator"},
    ).json()["objects"]
    dropped = [o for o in objects if "dropped.example.com" in o["pattern"]]
    kept = [o for o in objects if "kept.example.com" in o["pattern"]]
    assert [o.get("revoked", False) for o in dropped] == [True]
    assert [o.get("revoked", False) for o in kept] == [False]


def _exported(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    objects = response.json()["objects"]
    return {o["name"].rsplit(" ", 1)[-1] for o in objects if o["type"] == "indicator"}


def test_export_by_source_matches_every_source_that_reported_it(
    site: Site, feeds: FeedServer
) -> None:
    shared = "http://27.215.214.134:60116/i"
    listed = feeds.serve("/second.txt", f"{shared}\nb.example.org\n")
    dump = feeds.serve("/csv_recent/", URLHAUS)
    post(site, "/api/v1/sources", {"name": "urlhaus", "kind": "urlhaus", "url": dump})
    post(site, "/api/v1/sources", {"name": "second", "kind": "text", "url": listed})
    for name in ("urlhaus", "second"):
        assert post(site, f"/api/v1/sources/{name}/run", None).json()["outcome"] == "succeeded"
    export = "/api/v1/export/stix"
    by_urlhaus = _exported(site.get(export, params={"source": "urlhaus"}))
    by_second = _exported(site.get(export, params={"source": "second"}))
    both = _exported(site.get(export, params=[("source", "urlhaus"), ("source", "second")]))
    assert len(by_urlhaus) == 40
    assert by_second == {shared, "b.example.org"}
    assert both == by_urlhaus | by_second and len(both) == 41
    assert _exported(site.get(export, params={"source": "nobody"})) == set()
    empty = site.get(export, params={"source": " "})
    assert empty.status_code == 400
    assert "source" in empty.json()["message"]


def test_credentials_in_a_source_url_are_redacted_everywhere(site: Site, feeds: FeedServer) -> None:
    url = feeds.url("/gone").replace("://", "://bob:hunter2@") + "?token=s3cret"
    created = post(site, "/api/v1/sources", {"name": "secretive", "kind": "text", "url": url})
    assert created.status_code == 201, created.text
    run = post(site, "/api/v1/sources/secretive/run", None)
    assert run.json()["outcome"] == "failed"
    shown = site.get("/api/v1/sources/secretive")
    for response in (created, run, site.get("/api/v1/sources"), shown):
        assert "hunter2" not in response.text and "s3cret" not in response.text
    assert shown.json()["url"].endswith("/gone?token=***")


def test_running_a_source_another_worker_holds_is_a_409(site: Site, feeds: FeedServer) -> None:
    url = feeds.serve("/held.txt", "evil.example.com\n")
    created = post(site, "/api/v1/sources", {"name": "held", "kind": "text", "url": url})
    assert created.status_code == 201
    store = site.services.sources
    held = store.get("held")
    assert store.claim(held.source_id, site.clock.now(), timedelta(minutes=10))
    busy = post(site, "/api/v1/sources/held/run", None)
    assert busy.status_code == 409
    assert busy.json()["error"] == "conflict"
    assert busy.json()["message"] == "source held is being run elsewhere"
    assert store.runs(held.source_id) == []
