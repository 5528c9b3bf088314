"""Reads on a real PostgreSQL streaming replica: GET requests read it, writes and their
reads use the primary, and a ``next`` token never reads a replica behind its snapshot, so a
walk neither skips nor repeats while the replica lags (``store.replicas``)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from iocfeed.indicators.model import IocType, Tlp
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from tests.factories import ioc
from tests.replication import ReplicaPair
from tests.web.conftest import Site, start_site
from tests.web.test_paging_tokens import indicator_ids
from tests.web.test_taxii import ACCEPT, ALL, ok

REPLICA = "replica 1"


@pytest.fixture
def schema(replica_pair: ReplicaPair) -> Iterator[str]:
    """A migrated schema on the primary, replayed on the replica; no lag to begin with."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = open_engine(replica_pair.url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    engine = open_engine(replica_pair.url(schema=name))
    upgrade(engine)
    engine.dispose()
    replica_pair.delay(0)
    replica_pair.caught_up()
    yield name
    replica_pair.delay(0)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def replicated_site(pair: ReplicaPair, schema: str, **settings: Any) -> Iterator[Site]:
    return start_site(
        pair.url(schema=schema),
        database_replica_urls=[pair.url(replica=True, schema=schema)],
        **settings,
    )


@pytest.fixture
def site(replica_pair: ReplicaPair, schema: str) -> Iterator[Site]:
    yield from replicated_site(replica_pair, schema, database_replica_wait_seconds=0.2)


def load(site: Site, first: int, count: int) -> None:
    for number in range(first, first + count):
        site.load([ioc(IocType.DOMAIN, f"d{number}.example", tlp=Tlp.GREEN)])
        site.clock.advance(seconds=1)


def reads(site: Site) -> Counter[str]:
    return Counter(site.services.reads.reads)


def walk(
    clients: list[tuple[Site, str]], key: str, limit: int = 7, **params: Any
) -> tuple[list[str], dict[str, Any]]:
    """Page through every indicator of the all-collection, the n-th page through the n-th
    client (the last one for the rest); the ids served and the last page."""
    served: list[str] = []
    token: str | None = None
    page = 0
    while True:
        client = clients[min(page, len(clients) - 1)][0].client
        query = {"limit": limit, **params, **({"next": token} if token else {})}
        body = ok(client.get(f"{ALL}objects/", headers={**ACCEPT, "X-API-Key": key}, params=query))
        served += indicator_ids(body)
        page += 1
        if not body.get("more"):
            return served, body
        token = body["next"]


def test_get_requests_read_the_replica_and_writes_the_primary(
    site: Site, replica_pair: ReplicaPair
) -> None:
    load(site, 0, 5)
    replica_pair.caught_up()
    before = reads(site)
    assert len(site.get("/api/v1/iocs", params={"limit": 3}).json()["items"]) == 3
    assert len(indicator_ids(ok(site.client.get(f"{ALL}objects/", headers={
        **ACCEPT, **site.headers("admin")})))) == 5  # fmt: skip
    after = reads(site)
    assert after[REPLICA] > before[REPLICA]
    assert after["primary"] == before["primary"]

    # With the replica lagging, what was just written is not there yet: these reads really
    # are on the replica. The write itself, and the reads of its request, use the primary.
    replica_pair.delay(30)
    posted = site.client.post(
        "/api/v1/iocs",
        headers=site.headers("admin"),
        json=[{"type": "domain", "value": "fresh.example"}],
    )
    assert posted.status_code == 200, posted.text
    assert site.get("/api/v1/iocs/domain/fresh.example").status_code == 404
    replica_pair.delay(0)
    replica_pair.caught_up()
    assert site.get("/api/v1/iocs/domain/fresh.example").status_code == 200


def test_a_token_ahead_of_the_replica_falls_back_to_the_primary(
    site: Site, replica_pair: ReplicaPair, schema: str
) -> None:
    """Page 1 from a host that reads the primary; the rest on a host whose replica lags far
    behind that page's snapshot: they are read on the primary, and nothing is skipped."""
    load(site, 0, 20)
    replica_pair.caught_up()
    replica_pair.delay(30)
    load(site, 20, 15)  # on the primary only, for the next 30 s
    key = site.keys["admin"]
    for fresh in start_site(replica_pair.url(schema=schema)):
        before = reads(site)
        served, _ = walk([(fresh, key), (site, key)], key)
        assert len(served) == len(set(served)) == 35
        assert reads(site)["primary"] > before["primary"]


def test_a_token_waits_for_a_replica_that_catches_up_in_time(
    replica_pair: ReplicaPair, schema: str
) -> None:
    for site in replicated_site(replica_pair, schema, database_replica_wait_seconds=10):
        load(site, 0, 20)
        replica_pair.caught_up()
        replica_pair.delay(1.5)
        load(site, 20, 15)
        key = site.keys["admin"]
        for fresh in start_site(replica_pair.url(schema=schema)):
            before = reads(site)
            served, _ = walk([(fresh, key), (site, key)], key)
            assert len(served) == len(set(served)) == 35
            after = reads(site)
            assert after["primary"] == before["primary"]  # it waited for the replica
            assert after[REPLICA] > before[REPLICA]


def test_a_walk_on_a_lagging_replica_while_writes_go_on(
    site: Site, replica_pair: ReplicaPair
) -> None:
    """All on the lagging replica: the walk is a consistent snapshot (a prefix of the
    primary's order, nothing twice), and the next poll from its last date_added gets
    exactly the rest once the replica has caught up."""
    load(site, 0, 20)
    replica_pair.caught_up()
    replica_pair.delay(30)
    load(site, 20, 10)  # not yet on the replica
    key = site.keys["admin"]
    served: list[str] = []
    token: str | None = None
    written = 30
    while True:
        query = {"limit": 6, **({"next": token} if token else {})}
        response = site.client.get(f"{ALL}objects/", headers={**ACCEPT, "X-API-Key": key},
                                   params=query)  # fmt: skip
        body = ok(response)
        served += indicator_ids(body)
        last_added = response.headers["X-TAXII-Date-Added-Last"]
        load(site, written, 2)  # writes go on while the walk pages
        written += 2
        if not body.get("more"):
            break
        token = body["next"]
    assert len(served) == len(set(served)) == 20  # the replica's snapshot, whole
    replica_pair.delay(0)
    replica_pair.caught_up()
    rest, _ = walk([(site, key)], key, added_after=last_added)
    assert len(rest) == len(set(rest)) == written - 20
    assert not set(rest) & set(served)


def test_a_replica_that_is_down_sends_reads_to_the_primary(
    replica_pair: ReplicaPair, schema: str
) -> None:
    dead = "postgresql://postgres@127.0.0.1:1/postgres"
    for site in start_site(replica_pair.url(schema=schema), database_replica_urls=[dead],
                           database_connect_timeout_seconds=2):  # fmt: skip
        load(site, 0, 3)
        before = reads(site)
        assert len(site.get("/api/v1/iocs").json()["items"]) == 3
        assert reads(site)["primary"] > before["primary"]
        assert reads(site)[REPLICA] == 0
        health = site.client.get("/healthz").json()
        assert (health["status"], health["database"], health["replica_1"]) == (
            "degraded", "ok", "unavailable")  # fmt: skip


def test_a_rest_search_token_ahead_of_the_replica_reads_the_primary(
    site: Site, replica_pair: ReplicaPair, schema: str
) -> None:
    """The REST search's ``next`` follows the same rule as TAXII's."""
    load(site, 0, 12)
    replica_pair.caught_up()
    replica_pair.delay(30)
    load(site, 12, 9)
    headers = site.headers("admin")
    for fresh in start_site(replica_pair.url(schema=schema)):
        first = fresh.client.get("/api/v1/iocs", headers=headers, params={"limit": 5}).json()
        served = [item["value"] for item in first["items"]]
        following = first["next"]
        before = reads(site)
        while following:
            page = site.client.get(following, headers=headers).json()
            served += [item["value"] for item in page["items"]]
            following = page["next"]
        assert len(served) == len(set(served)) == 21
        assert reads(site)["primary"] > before["primary"]
