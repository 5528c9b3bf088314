"""Usage metering: requests, objects and bytes per account, day and surface; last use of
each key; last TAXII poll per collection; shared by workers through the database or Redis."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta

import pytest
import redis

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.portal.actors import OPERATOR
from iocfeed.portal.metering import DatabaseSink, UsageMeter
from iocfeed.store.usage import Counts, Poll, UsageKey, UsageStore
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from tests.conftest import REDIS_URL
from tests.web.conftest import NOW, Site, start_site

# A Redis database of its own, flushed by the tests that use it.
USAGE_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/11"
OBJECTS = f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"


@pytest.fixture(params=["database", "redis"])
def metered(request: pytest.FixtureRequest, database_url: str) -> Iterator[Site]:
    redis_url = None
    if request.param == "redis":
        redis.Redis.from_url(USAGE_REDIS_URL).flushdb()
        redis_url = USAGE_REDIS_URL
    yield from start_site(database_url, redis_url=redis_url)


def _account_key(site: Site, name: str) -> str:
    accounts = site.services.accounts
    account = accounts.create(name, "pro", OPERATOR)
    return accounts.create_key(account.account_id, f"{name} key", OPERATOR).plaintext


def test_usage_counts_each_surface_and_shows_last_polls(metered: Site) -> None:
    metered.load(
        IndicatorInput(IocType.DOMAIN, f"host{n}.example", Confidence.MEDIUM) for n in range(5)
    )
    key = _account_key(metered, "Acme")
    other = _account_key(metered, "Other")
    # Uncompressed, so that the bytes counted (sent on the wire) are the bytes read here.
    headers = {"X-API-Key": key, "Accept-Encoding": "identity"}
    search = metered.client.get("/api/v1/iocs?limit=3", headers=headers)
    assert len(search.json()["items"]) == 3
    export = metered.client.get("/api/v1/export/stix?include_identity=false", headers=headers)
    assert export.status_code == 200
    added_after = "2025-05-30T00:00:00Z"
    taxii = metered.client.get(f"{OBJECTS}?added_after={added_after}", headers=headers)
    assert taxii.status_code == 200
    metered.client.get("/api/v1/iocs", headers={"X-API-Key": other})

    usage = metered.client.get("/api/v1/me/usage", headers=headers)
    assert usage.status_code == 200
    body = usage.json()
    assert body["account_name"] == "Acme"
    assert body["month"] == "2025-06"
    surfaces = body["surfaces"]
    assert set(surfaces) == {"rest", "export", "taxii"}
    assert surfaces["rest"]["requests"] == 1 and surfaces["rest"]["objects"] == 3
    assert surfaces["rest"]["bytes"] == len(search.content)
    assert surfaces["export"]["requests"] == 1
    assert surfaces["export"]["objects"] == 5
    assert surfaces["export"]["bytes"] == len(export.content)
    taxii_objects = len(taxii.json()["objects"])
    assert surfaces["taxii"] == {
        "requests": 1,
        "objects": taxii_objects,
        "bytes": len(taxii.content),
    }
    assert body["total"]["requests"] == 3
    assert [day["day"] for day in body["days"]] == ["2025-06-01"] * 3
    [poll] = body["taxii_polls"]
    assert poll["collection_id"] == ALL_COLLECTION_ID
    assert poll["added_after"] == "2025-05-30T00:00:00.000000Z"
    assert poll["polled"].startswith("2025-06-01T12:00:00")

    if metered.services.settings.redis_url:  # the counters went to Redis, shared by workers
        assert redis.Redis.from_url(USAGE_REDIS_URL).keys("iocfeed:usage:*")

    # The usage request itself counts, once flushed; another month is empty.
    again = metered.client.get("/api/v1/me/usage", headers=headers).json()
    assert again["surfaces"]["rest"]["requests"] == 2
    empty = metered.client.get("/api/v1/me/usage?month=2025-05", headers=headers).json()
    assert empty["total"] == {"requests": 0, "objects": 0, "bytes": 0}
    assert empty["days"] == []


def test_last_use_and_client_address_are_recorded(sqlite_site: Site) -> None:
    key = _account_key(sqlite_site, "Acme")
    sqlite_site.clock.at = NOW + timedelta(minutes=3)
    sqlite_site.client.get("/api/v1/iocs", headers={"X-API-Key": key})
    sqlite_site.services.meter.flush()
    account = sqlite_site.services.accounts.named("Acme")
    [stored] = sqlite_site.services.accounts.list_keys(account.account_id)
    assert stored.last_used == NOW + timedelta(minutes=3)
    assert stored.last_address == "testclient"


def test_a_bad_month_is_a_422_naming_it(sqlite_site: Site) -> None:
    refused = sqlite_site.get("/api/v1/me/usage?month=2025-13", "pro")
    assert refused.status_code == 422
    assert refused.json()["parameter"] == "month"


def test_requests_without_a_key_are_not_metered(sqlite_site: Site) -> None:
    sqlite_site.client.get("/api/v1/iocs")
    sqlite_site.client.get("/healthz")
    sqlite_site.services.meter.flush()
    store = UsageStore(sqlite_site.services.engine)
    for account in sqlite_site.services.accounts.list_accounts():
        assert store.between(account.account_id, 20250101, 20251231) == {}


class FlakySink(DatabaseSink):
    """The real database sink, failing its first write (a database hiccup)."""

    failures = 1

    def write(
        self,
        counts: Mapping[UsageKey, Counts],
        uses: Mapping[str, tuple[datetime, str | None]],
        polls: Sequence[Poll],
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database went away")
        super().write(counts, uses, polls)


def test_a_failed_flush_keeps_its_counts_for_the_next(sqlite_site: Site) -> None:
    built = sqlite_site.services
    account = built.accounts.create("Acme", "pro", OPERATOR)
    key = built.accounts.create_key(account.account_id, "k", OPERATOR).key
    store = UsageStore(built.engine)
    meter = UsageMeter(FlakySink(store, built.keys), flush_seconds=3600)
    for size in (100, 200):
        meter.record(
            account_id=account.account_id, key_id=key.key_id, surface="taxii", objects=10,
            size=size, address="192.0.2.1", now=NOW,
        )  # fmt: skip
    meter.flush()  # fails: kept
    meter.record(
        account_id=account.account_id, key_id=key.key_id, surface="taxii", objects=1, size=1,
        address="192.0.2.1", now=NOW,
    )  # fmt: skip
    meter.close()
    stored = store.between(account.account_id, 20250601, 20250601)
    assert stored == {UsageKey(account.account_id, 20250601, "taxii"): Counts(3, 21, 301)}


def test_metering_can_be_turned_off(database_url: str) -> None:
    for site in start_site(database_url, usage_metering=False):
        site.get("/api/v1/iocs", "pro")
        usage = site.get("/api/v1/me/usage", "pro").json()
        assert usage["total"]["requests"] == 0
