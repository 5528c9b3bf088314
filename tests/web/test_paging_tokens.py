"""``next`` tokens over HTTP: forged, altered and misplaced tokens are 400s that say why, and a
stale token with a fresh ``added_after`` still yields every object added after that time.

Every test runs on SQLite and on PostgreSQL (the ``site`` fixture).
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select

from iocfeed.auth.keys import parse_key
from iocfeed.indicators.cursor import CursorCodec, Endpoint, Scope
from iocfeed.indicators.model import IocType, Tlp
from iocfeed.indicators.query import Keyset
from iocfeed.store.engine import open_engine
from iocfeed.store.schema import server_secrets
from iocfeed.taxii.collections import ALL_COLLECTION_ID, collection_by_id
from iocfeed.taxii.timestamps import format_timestamp
from tests.factories import ioc
from tests.web.conftest import NOW, PLAN_NAMES, Site, start_site
from tests.web.test_errors import assert_error
from tests.web.test_taxii import ALL, ROOT, assert_taxii_error, get, ok

DOMAINS = collection_by_id("domain")
DOMAIN = f"{ROOT}collections/{DOMAINS.id}/"
SEARCH = "/api/v1/iocs"
TAXII_PLANS = ("pro", "enterprise", "admin")
WRONG_SECRET = CursorCodec(b"not the server's secret, 32 byte")
REFERENCE_TYPES = ("identity--", "marking-definition--")


def indicator_ids(body: dict[str, Any]) -> list[str]:
    """The stored objects of a page (the producer identity and markings aside)."""
    found = [item["id"] for item in body.get("objects", [])]
    return [item for item in found if not item.startswith(REFERENCE_TYPES)]


def search(site: Site, who: str, **params: Any) -> Any:
    return site.client.get(SEARCH, headers=site.headers(who), params=params)


def key_id(site: Site, who: str) -> str:
    parsed = parse_key(site.keys[who])
    assert parsed is not None
    return parsed[0]


def crc_token(at: datetime) -> str:
    """A token in the old unsigned format, as anyone could build one: a chosen position and
    snapshot, and a CRC-32."""
    micros = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    body = struct.pack(">Bqqq", 1, micros, 0, micros)
    return base64.urlsafe_b64encode(body + struct.pack(">I", zlib.crc32(body))).decode().rstrip("=")


def resigned(site: Site, who: str, endpoint: Endpoint, place: str, at: datetime) -> str:
    """A token of today's format for exactly this request, signed with another secret."""
    scope = Scope(key_id=key_id(site, who), endpoint=endpoint, place=place)
    return WRONG_SECRET.issue(Keyset(at=at, seq=0), at, scope)


@pytest.fixture
def raised(site: Site) -> tuple[Site, str, datetime]:
    """An indicator published GREEN and then raised to RED: its id and the GREEN version's
    ``date_added``."""
    site.load([ioc(IocType.DOMAIN, "raised.example", tlp=Tlp.GREEN, description="now secret")])
    green = site.current(ioc(IocType.DOMAIN, "raised.example"))
    site.clock.advance(seconds=1)
    site.load([ioc(IocType.DOMAIN, "raised.example", tlp=Tlp.RED)])
    return site, green.stix_id, green.date_added


@pytest.mark.parametrize("who", PLAN_NAMES)
def test_forged_tokens_are_refused_on_rest_search(
    raised: tuple[Site, str, datetime], who: str
) -> None:
    site, _, green_added = raised
    snapshot = green_added + timedelta(milliseconds=500)
    for token in (crc_token(snapshot), resigned(site, who, Endpoint.SEARCH, "", snapshot)):
        body = assert_error(
            search(site, who, q="raised.example", next=token),
            400,
            "invalid_query",
            parameter="next",
        )
        assert "not a token this server issued" in body["message"]


@pytest.mark.parametrize("who", TAXII_PLANS)
def test_forged_tokens_are_refused_on_every_taxii_read(
    raised: tuple[Site, str, datetime], who: str
) -> None:
    site, stix_id, green_added = raised
    snapshot = green_added + timedelta(milliseconds=500)
    places = [
        (f"{ALL}objects/", Endpoint.OBJECTS, f"{ALL_COLLECTION_ID}/"),
        (f"{ALL}manifest/", Endpoint.MANIFEST, f"{ALL_COLLECTION_ID}/"),
        (f"{ALL}objects/{stix_id}/", Endpoint.OBJECT, f"{ALL_COLLECTION_ID}/{stix_id}"),
        (
            f"{ALL}objects/{stix_id}/versions/",
            Endpoint.VERSIONS,
            f"{ALL_COLLECTION_ID}/{stix_id}",
        ),
    ]
    for path, endpoint, place in places:
        for token in (crc_token(snapshot), resigned(site, who, endpoint, place, snapshot)):
            body = assert_taxii_error(get(site, path, who, next=token), 400)
            assert "not a token this server issued" in body["description"], path


@pytest.fixture
def feed(site: Site) -> Site:
    """Six domains and three addresses, each loaded a minute after the other."""
    for number in range(6):
        site.load([ioc(IocType.DOMAIN, f"d{number}.example", tlp=Tlp.GREEN)])
        site.clock.advance(minutes=1)
    for number in range(3):
        site.load([ioc(IocType.IPV4, f"198.51.100.{number + 1}", tlp=Tlp.GREEN)])
        site.clock.advance(minutes=1)
    return site


def last_token(site: Site, path: str, who: str = "pro", **params: Any) -> str:
    """Walk to the end; the token that fetched the last page (what a careless client keeps)."""
    body = ok(get(site, path, who, limit=2, **params))
    token = body["next"]
    while body["more"]:
        token = body["next"]
        body = ok(get(site, path, who, limit=2, next=token, **params))
    return str(token)


def test_a_token_from_another_collection_is_refused(feed: Site) -> None:
    token = ok(get(feed, f"{ALL}objects/", "pro", limit=2))["next"]
    body = assert_taxii_error(get(feed, f"{DOMAIN}objects/", "pro", limit=2, next=token), 400)
    assert body["description"] == "next was issued for another collection; start again without it"


def test_a_token_with_other_filters_is_refused(feed: Site) -> None:
    token = ok(get(feed, f"{ALL}objects/", "pro", limit=2, **{"match[type]": "indicator"}))["next"]
    for other in ({}, {"match[type]": "vulnerability"}, {"match[version]": "all"}):
        response = get(feed, f"{ALL}objects/", "pro", limit=2, next=token, **other)
        assert "other filters" in assert_taxii_error(response, 400)["description"]
    # limit is not a filter: a walk may change its page size
    again = get(feed, f"{ALL}objects/", "pro", limit=5, next=token, **{"match[type]": "indicator"})
    assert indicator_ids(ok(again))


def test_a_token_from_another_endpoint_or_key_is_refused(feed: Site) -> None:
    token = ok(get(feed, f"{ALL}objects/", "pro", limit=2))["next"]
    body = assert_taxii_error(get(feed, f"{ALL}manifest/", "pro", next=token), 400)
    assert "issued for TAXII Get Objects, not TAXII Get Object Manifests" in body["description"]
    body = assert_taxii_error(get(feed, f"{ALL}objects/", "enterprise", next=token), 400)
    assert "another API key" in body["description"]
    stix_id = indicator_ids(ok(get(feed, f"{ALL}objects/", "pro")))[0]
    versions = f"{ALL}objects/{stix_id}/versions/"
    body = assert_taxii_error(get(feed, versions, "pro", next=token), 400)
    assert "not TAXII Get Object Versions" in body["description"]


def test_rest_search_tokens_belong_to_their_key_and_filters(feed: Site) -> None:
    first = search(feed, "free", type="domain", limit=2)
    assert first.status_code == 200, first.text
    token = first.json()["next"].split("next=")[1]
    assert search(feed, "free", type="domain", limit=2, next=token).status_code == 200
    body = assert_error(
        search(feed, "free", type="ipv4", next=token), 400, "invalid_query", parameter="next"
    )
    assert "other filters" in body["message"]
    body = assert_error(
        search(feed, "pro", type="domain", next=token), 400, "invalid_query", parameter="next"
    )
    assert "another API key" in body["message"]
    body = assert_error(search(feed, "free", next=token), 400, "invalid_query", parameter="next")
    assert "other filters" in body["message"]


def test_a_stale_token_with_a_fresh_added_after_yields_what_was_added_after_it(
    feed: Site,
) -> None:
    stale = last_token(
        feed, f"{ALL}objects/", added_after=format_timestamp(NOW - timedelta(days=1))
    )
    since = feed.clock.now()
    feed.clock.advance(minutes=1)
    fresh = [ioc(IocType.DOMAIN, f"new{number}.example") for number in range(5)]
    feed.load(fresh)
    expected = {feed.current(item).stix_id for item in fresh}
    after = format_timestamp(since)
    for path in (f"{ALL}objects/", f"{DOMAIN}objects/"):  # the same or another collection
        served: list[str] = []
        body = ok(get(feed, path, "pro", limit=2, added_after=after, next=stale))
        served += indicator_ids(body)
        while body["more"]:  # OpenCTI drops added_after while it pages
            body = ok(get(feed, path, "pro", limit=2, next=body["next"]))
            served += indicator_ids(body)
        assert sorted(served) == sorted(expected), path


def test_the_same_added_after_continues_the_walk(feed: Site) -> None:
    after = format_timestamp(NOW - timedelta(days=1))
    everything: list[str] = []
    body = ok(get(feed, f"{ALL}objects/", "pro", limit=2, added_after=after))
    everything += indicator_ids(body)
    while body["more"]:  # taxii2-client's as_pages sends added_after with every page
        body = ok(get(feed, f"{ALL}objects/", "pro", limit=2, added_after=after, next=body["next"]))
        everything += indicator_ids(body)
    assert len(everything) == len(set(everything)) == 9


def test_another_collection_restarts_from_the_walks_added_after(feed: Site) -> None:
    """OpenCTI sends the last token of one collection, without added_after, to the next."""
    start = NOW + timedelta(minutes=2, seconds=30)  # after d0..d2
    token = last_token(feed, f"{ALL}objects/", added_after=format_timestamp(start))
    body = ok(get(feed, f"{DOMAIN}objects/", "pro", limit=10, next=token))
    assert len(indicator_ids(body)) == 3  # d3, d4, d5
    assert body["more"] is False


@contextmanager
def engine_of(url: str) -> Iterator[Connection]:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _first_token(site: Site) -> str:
    for number in range(3):
        site.load([ioc(IocType.DOMAIN, f"w{number}.example")])
    return str(ok(get(site, f"{ALL}objects/", "pro", limit=1))["next"])


def _follow(site: Site, token: str, who: str = "pro") -> Any:
    return get(site, f"{ALL}objects/", who, limit=1, next=token)


def test_every_worker_on_one_database_shares_the_stored_secret(database_url: str) -> None:
    first, second = start_site(database_url), start_site(database_url)
    one, other = next(first), next(second)
    try:
        other.keys = one.keys  # the same keys, as two workers see them
        assert one.services.settings.secret_key is None
        ok(_follow(other, _first_token(one)))
    finally:
        first.close()
        second.close()


def test_a_configured_secret_key_signs_and_another_one_refuses(database_url: str) -> None:
    signer = start_site(database_url, secret_key="the same secret on every host")
    site = next(signer)
    try:
        token = _first_token(site)
        with engine_of(database_url) as connection:
            stored = connection.execute(select(server_secrets)).all()
        assert stored == []  # nothing made when a secret is configured
        same = start_site(database_url, secret_key="the same secret on every host")
        other = start_site(database_url, secret_key="another host, another secret")
        for follower, status in ((same, 200), (other, 400)):
            reader = next(follower)
            reader.keys = site.keys
            assert _follow(reader, token).status_code == status
            follower.close()
        assert _follow(site, token).status_code == 200
    finally:
        signer.close()
