"""Operations: health, Prometheus metrics, the access log and the audit trail."""

from __future__ import annotations

import logging

import orjson
import pytest

from iocfeed.config import Settings
from iocfeed.indicators.model import IndicatorInput, IocType
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.web.app import create_app
from tests.web.conftest import Site, TestClient

# A key created without narrowing: it takes its account's plan whole.
WIDEST = {"scopes": None, "max_tlp": None, "expires": None, "networks": [], "device": False}


def test_healthz_checks_the_database(site: Site) -> None:
    response = site.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database")} == {"status": "ok", "database": "ok"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["ms"] >= 0
    assert "redis" not in body


def test_healthz_reports_an_unreachable_database() -> None:
    app = create_app(
        Settings(
            database_url="postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2",
            expiry_sweep_seconds=0,
        )
    )
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert {k: body[k] for k in ("status", "database")} == {
        "status": "unavailable",
        "database": "unavailable",
    }
    assert body["checks"]["database"]["detail"] == "The database is unavailable"
    assert response.headers["retry-after"] == "5"


def test_metrics_count_requests_latency_and_indicators(sqlite_site: Site) -> None:
    sqlite_site.load([IndicatorInput(IocType.IPV4, f"198.51.100.{n}") for n in range(1, 4)])
    sqlite_site.load([IndicatorInput(IocType.DOMAIN, "evil.example")])
    for _ in range(2):
        assert sqlite_site.get("/api/v1/iocs").status_code == 200
    assert sqlite_site.get("/api/v1/iocs", "none").status_code == 401
    assert sqlite_site.get("/api/v1/iocs/ipv4/198.51.100.1").status_code == 200

    response = sqlite_site.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = set(response.text.splitlines())
    for expected in (
        'iocfeed_requests_total{method="GET",route="/api/v1/iocs",status="200"} 2.0',
        'iocfeed_requests_total{method="GET",route="/api/v1/iocs",status="401"} 1.0',
        'iocfeed_requests_total{method="GET",route="/api/v1/iocs/{type}/{value:path}",'
        'status="200"} 1.0',
        'iocfeed_request_duration_seconds_count{route="/api/v1/iocs"} 3.0',
        'iocfeed_indicators{type="ipv4"} 3.0',
        'iocfeed_indicators{type="domain"} 1.0',
        'iocfeed_indicators{type="sha256"} 0.0',
    ):
        assert expected in lines, expected
    assert any(line.startswith("iocfeed_request_duration_seconds_bucket{") for line in lines)


def test_access_log_names_the_key_id_and_never_the_key(
    sqlite_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    key = sqlite_site.keys["pro"]
    key_id, secret = key.split("_")[1], key.split("_", 2)[2]
    with caplog.at_level(logging.INFO, logger="iocfeed.access"):
        assert sqlite_site.get("/api/v1/iocs?type=ipv4", "pro").status_code == 200
        assert sqlite_site.client.get("/api/v1/me", auth=("x", key)).status_code == 200
        assert sqlite_site.get("/api/v1/me", "bad").status_code == 401
    entries = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "iocfeed.access"]
    assert [(e["method"], e["route"], e["status"], e["key_id"]) for e in entries] == [
        ("GET", "/api/v1/iocs", 200, key_id),
        ("GET", "/api/v1/me", 200, key_id),
        ("GET", "/api/v1/me", 401, None),
    ]
    assert all(isinstance(e["ms"], float) for e in entries)
    assert secret not in caplog.text and key not in caplog.text


def test_audit_records_who_changed_what(sqlite_site: Site) -> None:
    enterprise, admin = sqlite_site.headers("enterprise"), sqlite_site.headers("admin")
    client = sqlite_site.client
    posted = client.post(
        "/api/v1/iocs", json=[{"value": "evil.example"}, {"value": "?"}], headers=enterprise
    )
    assert posted.status_code == 200
    assert (
        client.delete("/api/v1/iocs/domain/evil[.]example", headers=enterprise).status_code == 200
    )
    created = client.post("/api/v1/keys", json={"name": "splunk", "plan": "pro"}, headers=admin)
    new_id = created.json()["key_id"]
    assert client.delete(f"/api/v1/keys/{new_id}", headers=admin).status_code == 200

    enterprise_id = sqlite_site.keys["enterprise"].split("_")[1]
    admin_id = sqlite_site.keys["admin"].split("_")[1]
    records = sqlite_site.services.audit.recent()
    assert [(r.key_id, r.action, r.parameters, r.result_count) for r in reversed(records)] == [
        (enterprise_id, "iocs.upsert", {"items": 2, "withheld": 0}, 1),
        (enterprise_id, "iocs.revoke", {"type": "domain", "value": "evil.example"}, 1),
        (admin_id, "keys.create", {"key_id": new_id, "name": "splunk", **WIDEST}, 1),
        (admin_id, "keys.revoke", {"key_id": new_id}, 1),
    ]
    assert all(r.at == sqlite_site.clock.now() for r in records)


def test_landing_page_shows_connection_settings_and_no_data(sqlite_site: Site) -> None:
    response = sqlite_site.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://testserver/taxii2/api/" in response.text
    assert ALL_COLLECTION_ID in response.text
    assert "iocf_" not in response.text
