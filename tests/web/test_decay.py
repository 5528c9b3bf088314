"""Decay end to end: the worker's sweep revokes, TAXII serves the revoked version, and the
exported confidence and valid_until follow the model and satisfy the OASIS validator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.services import decay_policy
from iocfeed.stix.timestamps import stix_timestamp
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.taxii.media import TAXII_MEDIA_TYPE
from iocfeed.worker.loop import Worker
from tests.stix.judges import assert_stix_clean
from tests.web.conftest import Site

DAY = timedelta(days=1)
OBJECTS = f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"


def taxii_versions(site: Site, stix_id: str) -> list[dict[str, Any]]:
    response = site.client.get(
        OBJECTS,
        params={"match[id]": stix_id, "match[version]": "all"},
        headers={"Accept": TAXII_MEDIA_TYPE, **site.headers("admin")},
    )
    assert response.status_code == 200, response.text
    return [item for item in response.json()["objects"] if item["id"] == stix_id]


def test_the_worker_revokes_an_ip_reported_60_days_ago_and_taxii_serves_it(site: Site) -> None:
    now = site.clock.now()
    old = IndicatorInput(IocType.IPV4, "203.0.113.60", Confidence.HIGH)
    resighted = IndicatorInput(IocType.IPV4, "203.0.113.61", Confidence.HIGH)
    site.load([old, resighted], at=now - 60 * DAY)
    site.load([resighted])  # reported again today
    Worker(site.services).run_once()

    revoked = site.current(old)
    assert revoked.revoked
    versions = taxii_versions(site, revoked.stix_id)
    assert [v.get("revoked", False) for v in versions] == [False, True]
    assert versions[-1]["confidence"] < 10

    kept = site.current(resighted)
    assert not kept.revoked
    latest = taxii_versions(site, kept.stix_id)[-1]
    assert "revoked" not in latest and latest["confidence"] == 85


def test_exported_confidence_and_valid_until_follow_the_model(site: Site) -> None:
    now = site.clock.now()
    policy = decay_policy(site.services.settings)
    inputs = [
        IndicatorInput(IocType.IPV4, "198.51.100.20", Confidence.HIGH),
        IndicatorInput(IocType.DOMAIN, "fading.example", Confidence.MEDIUM),
        IndicatorInput(IocType.SHA256, "b" * 64, Confidence.LOW),
        IndicatorInput(IocType.URL, "http://fading.example/x", Confidence.HIGH),
        IndicatorInput(IocType.CVE, "CVE-2024-3094", Confidence.HIGH),
    ]
    site.load(inputs, at=now - 12 * DAY)
    site.services.indicators.decay_due(now)
    response = site.get("/api/v1/export/stix", "admin")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert_stix_clean(bundle)
    by_id = {item["id"]: item for item in bundle["objects"]}
    for item in inputs:
        stored = site.current(item)
        sdo = by_id[stored.stix_id]
        found = policy.assess(stored, now)
        if item.type is IocType.CVE:
            assert sdo["confidence"] == 85 and "valid_until" not in sdo
            continue
        # Within one step of the model's score now, and never above it.
        assert 0 <= sdo["confidence"] - found.score < policy.step, item
        assert found.revoke_at is not None
        assert sdo["valid_until"] == stix_timestamp(
            found.revoke_at.replace(microsecond=found.revoke_at.microsecond // 1000 * 1000)
        )
        assert sdo["valid_until"] > sdo["valid_from"]
    # Addresses fall fast: twelve days take a high-confidence IP below medium.
    assert by_id[site.current(inputs[0]).stix_id]["confidence"] < 50
