"""``POST /api/v1/sightings`` end to end: hits and false positives change the score, false
positives from distinct accounts revoke, bad items and bodies are reported, all audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.store.audit import AuditLog
from tests.conftest import sqlite_url
from tests.stix.judges import assert_stix_clean
from tests.web.conftest import NOW, Site, migrated, start_site

DAY = timedelta(days=1)
URL = "/api/v1/sightings"
IP = IndicatorInput(IocType.IPV4, "203.0.113.77", Confidence.HIGH)


def report(site: Site, body: Any, key: str) -> Any:
    return site.client.post(URL, json=body, headers={"X-API-Key": key})


def reporter_key(site: Site, account: str) -> str:
    """A Pro key of its own account, named ``account``."""
    return site.services.keys.create(name=account, plan="pro", now=NOW)[1]


def lookup(site: Site, item: IndicatorInput = IP) -> dict[str, Any]:
    response = site.get(f"/api/v1/iocs/{item.type.value}/{item.value}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_hit_restarts_decay_and_raises_last_seen(site: Site) -> None:
    site.load([IP], at=NOW - 10 * DAY)
    site.services.indicators.decay_due(NOW)
    before = lookup(site)
    assert before["score"] < 85
    assert before["sightings"] == {"hit": 0, "false-positive": 0}
    response = report(
        site,
        [{"value": "203.0.113[.]77", "type": "ipv4", "kind": "hit", "source": "splunk-prod"}],
        site.keys["pro"],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 1,
        "not_found": 0,
        "invalid": 0,
        "results": [
            {
                "line": 1,
                "status": "accepted",
                "stix_id": before["stix_id"],
                "score": 85,
                "revoked": False,
            }
        ],
    }
    after = lookup(site)
    assert after["score"] == 85
    assert after["last_seen"] > before["last_seen"]
    assert after["sightings"] == {"hit": 1, "false-positive": 0}


def test_a_false_positive_lowers_the_score(site: Site) -> None:
    site.load([IP])
    stix_id = lookup(site)["stix_id"]
    response = report(
        site,
        [{"stix_id": stix_id, "kind": "false-positive", "source": "sentinel", "count": 3}],
        site.keys["pro"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["score"] == 85 - 25
    after = lookup(site)
    assert (after["score"], after["revoked"]) == (60, False)
    assert after["sightings"] == {"hit": 0, "false-positive": 1}
    # The TLP chosen at creation stays: high confidence, green, whatever the score.
    assert after["effective_tlp"] == "green"


def test_three_false_positives_from_distinct_accounts_revoke(site: Site) -> None:
    site.load([IP])
    item = {"value": IP.value, "type": "ipv4", "kind": "false-positive", "source": "soc"}
    first = reporter_key(site, "first org")
    assert report(site, [item], first).json()["results"][0]["revoked"] is False
    # The same account twice more: still one account, not revoked.
    assert report(site, [item, item], first).json()["results"][1]["revoked"] is False
    assert lookup(site)["revoked"] is False
    assert lookup(site)["score"] == 60
    second = reporter_key(site, "second org")
    assert report(site, [item], second).json()["results"][0]["score"] == 35
    third = reporter_key(site, "third org")
    answer = report(site, [item], third).json()["results"][0]
    assert answer["revoked"] is True
    after = lookup(site)
    assert after["revoked"] is True
    assert after["sightings"] == {"hit": 0, "false-positive": 5}


def test_each_item_is_answered_and_good_ones_are_kept(site: Site) -> None:
    site.load([IP])
    response = report(
        site,
        [
            {"value": IP.value, "type": "ipv4", "kind": "hit", "source": "s"},
            {"value": "198.51.100.200", "type": "ipv4", "kind": "hit", "source": "s"},
            {"value": IP.value, "type": "ipv4", "kind": "seen", "source": "s"},
            {"value": "not an ip", "type": "ipv4", "kind": "hit"},
            {"value": IP.value, "type": "ipv4", "kind": "hit", "last_seen": "2999-01-01"},
            {"value": IP.value, "type": "ipv4", "kind": "hit", "count": 0},
            "text",
        ],
        site.keys["pro"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["not_found"], body["invalid"]) == (1, 1, 5)
    statuses = [(r["line"], r["status"]) for r in body["results"]]
    assert statuses == [
        (1, "accepted"),
        (2, "not_found"),
        (3, "invalid"),
        (4, "invalid"),
        (5, "invalid"),
        (6, "invalid"),
        (7, "invalid"),
    ]
    reasons = {r["line"]: r.get("reason", "") for r in body["results"]}
    assert "kind" in reasons[3] and "future" in reasons[5] and "count" in reasons[6]
    assert lookup(site)["sightings"]["hit"] == 1


def test_a_malformed_body_is_a_422_json_error(sqlite_site: Site) -> None:
    for content in (b"{not json", b'{"value": "x"}', b"42"):
        response = sqlite_site.client.post(
            URL,
            content=content,
            headers={"X-API-Key": sqlite_site.keys["pro"], "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["status"] == 422


def test_the_free_plan_may_not_report(sqlite_site: Site) -> None:
    response = report(sqlite_site, [], sqlite_site.keys["free"])
    assert response.status_code == 403
    assert "write:sightings" in response.json()["message"]


def test_an_indicator_above_the_keys_tlp_is_not_found(sqlite_site: Site) -> None:
    from iocfeed.indicators.model import Tlp

    secret = IndicatorInput(IocType.DOMAIN, "red.example", Confidence.HIGH, tlp=Tlp.RED)
    sqlite_site.load([secret])
    response = report(
        sqlite_site,
        [{"value": "red.example", "type": "domain", "kind": "false-positive", "source": "x"}],
        sqlite_site.keys["pro"],
    )
    assert response.json()["not_found"] == 1


def test_sightings_are_audited(sqlite_site: Site) -> None:
    sqlite_site.load([IP])
    report(
        sqlite_site,
        [{"value": IP.value, "type": "ipv4", "kind": "hit", "source": "s"}],
        sqlite_site.keys["pro"],
    )
    audit: AuditLog = sqlite_site.services.audit
    record = next(r for r in audit.recent() if r.action == "sightings.report")
    assert record.result_count == 1
    assert record.parameters["hits"] == 1


def export(site: Site, **params: str) -> dict[str, Any]:
    response = site.get("/api/v1/export/stix", "admin", params=params)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    return bundle


def test_sightings_reach_the_bundle_only_when_asked_and_anonymised(site: Site) -> None:
    site.load([IP])
    stix_id = lookup(site)["stix_id"]
    key = reporter_key(site, "acme soc")
    report(
        site,
        [
            {"value": IP.value, "type": "ipv4", "kind": "hit", "source": "s", "count": 4},
            {"stix_id": stix_id, "kind": "false-positive", "source": "s"},
        ],
        key,
    )
    plain = export(site)
    assert {o["type"] for o in plain["objects"]} & {"sighting", "opinion"} == set()
    bundle = export(site, include_sightings="true")
    assert_stix_clean(bundle)
    (sighting,) = [o for o in bundle["objects"] if o["type"] == "sighting"]
    (opinion,) = [o for o in bundle["objects"] if o["type"] == "opinion"]
    assert sighting["sighting_of_ref"] == stix_id and sighting["count"] == 4
    assert opinion["object_refs"] == [stix_id] and opinion["opinion"] == "strongly-disagree"
    # Anonymous: nothing says which account reported them.
    assert "where_sighted_refs" not in sighting and "authors" not in opinion
    assert "acme soc" not in response_text(bundle)
    # The exported indicator has the score the false positive left.
    (indicator,) = [o for o in bundle["objects"] if o["id"] == stix_id]
    assert indicator["confidence"] == 60


def response_text(bundle: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(bundle).decode()


def test_an_account_that_opted_in_is_named(tmp_path: Path) -> None:
    url = migrated(sqlite_url(tmp_path))
    for site in start_site(url, sightings_named_accounts=["acme soc"]):
        site.load([IP])
        key = reporter_key(site, "acme soc")
        report(site, [{"value": IP.value, "type": "ipv4", "kind": "hit", "source": "s"}], key)
        bundle = export(site, include_sightings="true")
        assert_stix_clean(bundle)
        (identity,) = [o for o in bundle["objects"] if o.get("name") == "acme soc"]
        (sighting,) = [o for o in bundle["objects"] if o["type"] == "sighting"]
        assert sighting["where_sighted_refs"] == [identity["id"]]


def test_taxii_serves_sightings_when_asked(site: Site) -> None:
    from iocfeed.taxii.collections import ALL_COLLECTION_ID
    from iocfeed.taxii.media import TAXII_MEDIA_TYPE

    site.load([IP])
    stix_id = lookup(site)["stix_id"]
    report(
        site,
        [
            {"stix_id": stix_id, "kind": "hit", "source": "s"},
            {"stix_id": stix_id, "kind": "false-positive", "source": "s"},
        ],
        site.keys["pro"],
    )

    def objects(**params: str) -> list[dict[str, Any]]:
        response = site.client.get(
            f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/",
            params=params,
            headers={"Accept": TAXII_MEDIA_TYPE, "X-API-Key": site.keys["pro"]},
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["objects"]
        return found

    assert {o["type"] for o in objects()} & {"sighting", "opinion"} == set()
    served = objects(include_sightings="true")
    kinds = [o["type"] for o in served if o["type"] in {"sighting", "opinion"}]
    assert sorted(kinds) == ["opinion", "sighting"]
    assert_stix_clean(
        {"type": "bundle", "id": "bundle--" + stix_id.split("--")[1], "objects": served}
    )
    bad = site.client.get(
        f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/",
        params={"include_sightings": "maybe"},
        headers={"Accept": TAXII_MEDIA_TYPE, "X-API-Key": site.keys["pro"]},
    )
    assert bad.status_code == 400
