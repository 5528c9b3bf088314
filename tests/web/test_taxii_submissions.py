"""Submissions is write-only for pollers (SPEC §3): reading it serves only what was posted.

A poller of every collection then gets each indicator from ``all`` and from its type's
collection, and from Submissions only the versions that were posted there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from iocfeed.indicators.model import IocType, Tlp
from tests.factories import ioc
from tests.web.conftest import NOW, Site
from tests.web.test_taxii import ALL, ROOT, SUBMISSIONS, get, ok, post, stix_indicator

POSTED_ID = "indicator--5b9f6a1c-2e3d-4f5a-8b6c-7d8e9f0a1b2c"


def walk_ids(site: Site, path: str, **params: Any) -> list[str]:
    body = ok(get(site, path, **params))
    found = [o["id"] for o in body.get("objects", [])]
    while body.get("more"):
        body = ok(get(site, path, **params, next=body["next"]))
        found += [o["id"] for o in body.get("objects", [])]
    return found


def test_submissions_serves_only_posted_versions(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, f"loaded-{n}.example", tlp=Tlp.GREEN) for n in range(3)])
    site.clock.advance(minutes=1)
    status = post(
        site,
        [
            stix_indicator(POSTED_ID, "[domain-name:value = 'posted.example']"),
            # A known value: the post makes a new version of it (a label changes).
            stix_indicator(
                "indicator--6c0a7b2d-3f4e-4a6b-9c7d-8e9f0a1b2c3d",
                "[domain-name:value = 'loaded-0.example']",
                labels=["from-a-partner"],
            ),
        ],
    )
    assert status.json()["success_count"] == 2
    loaded_0 = site.current(ioc(IocType.DOMAIN, "loaded-0.example")).stix_id
    loaded_1 = site.current(ioc(IocType.DOMAIN, "loaded-1.example")).stix_id

    served = walk_ids(site, f"{SUBMISSIONS}objects/")
    assert sorted(served) == sorted([POSTED_ID, loaded_0])  # no references, nothing loaded
    every = walk_ids(site, f"{SUBMISSIONS}objects/", **{"match[version]": "all"})
    assert sorted(every) == sorted([POSTED_ID, loaded_0])  # only the posted version of it
    manifest = ok(get(site, f"{SUBMISSIONS}manifest/"))
    assert sorted(r["id"] for r in manifest["objects"]) == sorted(served)
    assert get(site, f"{SUBMISSIONS}objects/{loaded_1}/").status_code == 404
    assert ok(get(site, f"{SUBMISSIONS}objects/{POSTED_ID}/versions/"))["versions"]

    # A poller of every collection: each indicator once from all, once from its type's.
    counts: dict[str, int] = {}
    for collection in ok(get(site, f"{ROOT}collections/"))["collections"]:
        for object_id in walk_ids(site, f"{ROOT}collections/{collection['id']}/objects/"):
            counts[object_id] = counts.get(object_id, 0) + 1
    assert counts[loaded_1] == 2
    assert counts[POSTED_ID] == counts[loaded_0] == 3  # and once from where it was posted
    # The read collections still serve what was posted.
    assert POSTED_ID in walk_ids(site, f"{ALL}objects/")


def test_a_later_load_supersedes_the_posted_version(site: Site) -> None:
    post(site, [stix_indicator(POSTED_ID, "[domain-name:value = 'posted.example']")])
    site.load(
        [ioc(IocType.DOMAIN, "posted.example", tlp=Tlp.AMBER, description="later")],
        NOW + timedelta(minutes=5),
    )
    # The latest version was not posted: Submissions has no latest version of it...
    assert walk_ids(site, f"{SUBMISSIONS}objects/") == []
    # ...but still serves the version that was.
    assert walk_ids(site, f"{SUBMISSIONS}objects/", **{"match[version]": "all"}) == [POSTED_ID]
