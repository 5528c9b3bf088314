"""One read-only TAXII collection per enabled source (``taxii_collection_per_source``).

Each serves exactly the indicators its source reported (provenance), under every rule of
the other read collections; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from iocfeed.indicators.model import IndicatorInput, IocType, Tlp
from iocfeed.sources.model import NewSource, SourceKind
from iocfeed.taxii.collections import COLLECTIONS, FeedSource, source_collection
from tests.factories import ioc
from tests.web.conftest import NOW, Site, start_site
from tests.web.test_taxii import (
    ALL,
    REFERENCE_IDS,
    ROOT,
    assert_taxii_error,
    get,
    ids,
    ok,
    post,
    walk,
)

URLHAUS = source_collection(FeedSource(name="abuse.ch-urlhaus", kind="urlhaus"))
PARTNER = source_collection(FeedSource(name="partner", kind="csv"))
URLHAUS_PATH = f"{ROOT}collections/{URLHAUS.id}/"
PARTNER_PATH = f"{ROOT}collections/{PARTNER.id}/"

REPORTED = [
    ioc(IocType.DOMAIN, "a.example"),
    ioc(IocType.URL, "http://a.example/payload.exe"),
    ioc(IocType.IPV4, "198.51.100.1"),
]
OTHERS = [ioc(IocType.DOMAIN, "b.example"), ioc(IocType.CVE, "CVE-2021-44228")]


@pytest.fixture
def per_source(database_url: str) -> Iterator[Site]:
    yield from start_site(database_url, taxii_collection_per_source=True)


def report(site: Site, name: str, kind: SourceKind, items: Iterable[IndicatorInput]) -> None:
    """Record that a run of the source ``name`` (added when new) listed ``items``."""
    store = site.services.sources
    known = {source.name: source for source in store.list_all()}
    source = known.get(name) or store.add(NewSource(name, kind, "https://feeds.example/"), NOW)
    run_id = store.start_run(source.source_id, NOW)
    seen = [(item.type, item.value, NOW, NOW) for item in items]
    store.record_seen(source.source_id, run_id, seen)


def stix_ids(site: Site, items: Iterable[IndicatorInput]) -> set[str]:
    return {site.current(item).stix_id for item in items}


def stored(pages: Iterable[dict[str, Any]]) -> list[str]:
    """The ids a walk served, without the reference objects."""
    return [i for page in pages for i in ids(page) if i not in REFERENCE_IDS]


def populate(site: Site) -> None:
    site.load([*REPORTED, *OTHERS])
    report(site, "abuse.ch-urlhaus", SourceKind.URLHAUS, REPORTED)
    report(site, "partner", SourceKind.CSV, [OTHERS[0], REPORTED[0]])


def test_source_collections_are_listed_only_when_configured(site: Site, per_source: Site) -> None:
    """Two apps on one store: without the setting, no source collection exists."""
    populate(site)
    plain = ok(get(site, f"{ROOT}collections/", "enterprise"))["collections"]
    assert [c["id"] for c in plain] == [c.id for c in COLLECTIONS]
    assert_taxii_error(get(site, URLHAUS_PATH), 404)
    assert_taxii_error(get(site, f"{URLHAUS_PATH}objects/"), 404)

    listed = ok(get(per_source, f"{ROOT}collections/", "enterprise"))["collections"]
    assert [c["id"] for c in listed] == [*(c.id for c in COLLECTIONS), URLHAUS.id, PARTNER.id]
    assert listed[-2] == {
        "id": URLHAUS.id,
        "title": "Source abuse ch-urlhaus",
        "description": URLHAUS.description,
        "can_read": True,
        "can_write": False,  # even for a key with write:iocs
        "media_types": ["application/stix+json;version=2.1"],
    }
    assert ok(get(per_source, PARTNER_PATH)) == listed[-1]
    assert all("." not in c["title"] and "," not in c["title"] for c in listed)


def test_a_source_collection_serves_exactly_what_the_source_reported(per_source: Site) -> None:
    site = per_source
    populate(site)
    reported = stix_ids(site, REPORTED)
    served = stored(walk(site, f"{URLHAUS_PATH}objects/", limit=2))
    assert sorted(served) == sorted(reported)
    assert len(served) == len(set(served))
    manifest = stored(walk(site, f"{URLHAUS_PATH}manifest/", limit=2))
    assert manifest == served
    first = ok(get(site, f"{URLHAUS_PATH}objects/"))
    references = [i for i in ids(first) if i in REFERENCE_IDS]
    assert references[0] == REFERENCE_IDS[0]  # the producer identity, then markings
    assert ids(first)[: len(references)] == references
    assert set(stored([ok(get(site, f"{PARTNER_PATH}objects/"))])) == stix_ids(
        site, [OTHERS[0], REPORTED[0]]
    )
    # Filters apply as on any collection.
    cves = ok(get(site, f"{URLHAUS_PATH}objects/", **{"match[type]": "vulnerability"}))
    assert stored([cves]) == []
    domain_id = site.current(REPORTED[0]).stix_id
    by_id = ok(get(site, f"{URLHAUS_PATH}objects/", **{"match[id]": domain_id}))
    assert stored([by_id]) == [domain_id]


def test_object_and_versions_of_a_source_collection(per_source: Site) -> None:
    site = per_source
    populate(site)
    domain = REPORTED[0]
    site.load([ioc(IocType.DOMAIN, "a.example", tags=("phishing",))], NOW + timedelta(hours=1))
    domain_id = site.current(domain).stix_id
    body = ok(get(site, f"{URLHAUS_PATH}objects/{domain_id}/", **{"match[version]": "all"}))
    assert [o["id"] for o in body["objects"]] == [domain_id, domain_id]
    versions = ok(get(site, f"{URLHAUS_PATH}objects/{domain_id}/versions/"))
    assert len(versions["versions"]) == 2
    other_id = site.current(OTHERS[0]).stix_id
    assert_taxii_error(get(site, f"{URLHAUS_PATH}objects/{other_id}/"), 404)
    assert_taxii_error(get(site, f"{URLHAUS_PATH}objects/{other_id}/versions/"), 404)
    assert ok(get(site, f"{PARTNER_PATH}objects/{other_id}/"))["objects"][0]["id"] == other_id


def test_the_tlp_ceiling_and_the_lookback_apply(per_source: Site) -> None:
    site = per_source
    old = ioc(IocType.DOMAIN, "old.example")
    red = ioc(IocType.DOMAIN, "red.example", tlp=Tlp.RED)
    raised = ioc(IocType.DOMAIN, "raised.example", tlp=Tlp.GREEN)
    fresh = ioc(IocType.DOMAIN, "fresh.example")
    site.load([old], NOW - timedelta(days=100))
    site.load([red, raised, fresh], NOW - timedelta(days=2))
    site.load([ioc(IocType.DOMAIN, "raised.example", tlp=Tlp.RED)], NOW - timedelta(days=1))
    report(site, "abuse.ch-urlhaus", SourceKind.URLHAUS, [old, red, raised, fresh])
    everything = {"match[version]": "all"}
    pro = stored([ok(get(site, f"{URLHAUS_PATH}objects/", "pro", **everything))])
    assert pro == [site.current(fresh).stix_id]  # 90 days, amber: no red, no old
    admin = stored([ok(get(site, f"{URLHAUS_PATH}objects/", "admin", **everything))])
    assert len(admin) == 5  # old, red, raised twice, fresh
    red_id = site.current(red).stix_id
    assert_taxii_error(get(site, f"{URLHAUS_PATH}objects/{red_id}/", "pro"), 404)


def test_next_tokens_are_bound_to_the_source_collection(per_source: Site) -> None:
    site = per_source
    populate(site)
    page = ok(get(site, f"{URLHAUS_PATH}objects/", limit=len(REFERENCE_IDS) + 1))
    assert page["more"]
    assert ok(get(site, f"{URLHAUS_PATH}objects/", limit=1, next=page["next"]))["objects"]
    for elsewhere in (ALL, PARTNER_PATH):
        assert_taxii_error(get(site, f"{elsewhere}objects/", next=page["next"]), 400)


def test_a_source_collection_is_read_only(per_source: Site) -> None:
    site = per_source
    populate(site)
    domain_id = site.current(REPORTED[0]).stix_id
    assert_taxii_error(post(site, [], path=URLHAUS_PATH), 403)
    response = site.client.delete(
        f"{URLHAUS_PATH}objects/{domain_id}/",
        headers={"Accept": "application/taxii+json;version=2.1", **site.headers("enterprise")},
    )
    assert_taxii_error(response, 403)


def test_ids_are_stable_and_a_gone_source_has_no_collection(
    database_url: str, per_source: Site
) -> None:
    site = per_source
    populate(site)
    sources = site.services.sources

    def listed(on: Site) -> list[str]:
        return [c["id"] for c in ok(get(on, f"{ROOT}collections/"))["collections"]]

    restarted = start_site(database_url, taxii_collection_per_source=True)
    try:
        assert listed(next(restarted)) == listed(site)
    finally:
        restarted.close()

    sources.set_enabled("abuse.ch-urlhaus", False)
    assert URLHAUS.id not in listed(site)
    for path in ("", "objects/", "manifest/"):
        assert_taxii_error(get(site, f"{URLHAUS_PATH}{path}"), 404)
    sources.set_enabled("abuse.ch-urlhaus", True)
    assert stored([ok(get(site, f"{URLHAUS_PATH}objects/"))])

    sources.remove("abuse.ch-urlhaus")
    assert listed(site) == [*(c.id for c in COLLECTIONS), PARTNER.id]
    domain_id = site.current(REPORTED[0]).stix_id
    for path in ("", "objects/", "manifest/", f"objects/{domain_id}/"):
        assert_taxii_error(get(site, f"{URLHAUS_PATH}{path}"), 404)

    # Added again under the same name: the same id, serving only what it reports now.
    report(site, "abuse.ch-urlhaus", SourceKind.TEXT, [REPORTED[2]])
    assert URLHAUS.id in listed(site)
    assert stored([ok(get(site, f"{URLHAUS_PATH}objects/"))]) == [site.current(REPORTED[2]).stix_id]
