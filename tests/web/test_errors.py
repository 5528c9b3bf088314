"""Every error path of the REST API, through one assertion helper: one JSON shape, always.

``{"status", "error", "message", "parameter"?, "details"?}`` with the matching HTTP status,
``application/json``, and never a traceback or other internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from tests.conftest import sqlite_url
from tests.web.conftest import NOW, Site, migrated, start_site

SHAPE = {"status", "error", "message", "parameter", "details"}
INTERNALS = ("Traceback", 'File "', "sqlalchemy", "sqlite3", "psycopg", "iocfeed/", ".py")


def assert_error(
    response: Any,
    status: int,
    error: str,
    *,
    parameter: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The response is the API's error for ``status``; returns its body for further checks."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) <= SHAPE and {"status", "error", "message"} <= set(body), body
    assert body["status"] == status
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    assert body.get("parameter") == parameter
    if message is not None:
        assert message in body["message"], body["message"]
    for internal in INTERNALS:
        assert internal not in response.text, f"{internal!r} leaked: {response.text}"
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    if status == 429:
        assert int(response.headers["Retry-After"]) > 0
        for prefix in ("X-RateLimit-", "RateLimit-"):
            assert response.headers[prefix + "Remaining"] == "0"
            assert int(response.headers[prefix + "Limit"]) > 0
            assert int(response.headers[prefix + "Reset"]) > 0
    return body


AMBER_IP = IndicatorInput(IocType.IPV4, "203.0.113.9", confidence=Confidence.MEDIUM)


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("limit=1001", "limit", "at most 1000"),
        ("limit=0", "limit", "between 1 and 1000"),
        ("type=ipv4,hostname", "type", "type must be one of ipv4, ipv6"),
        ("confidence=certain", "confidence", "confidence must be one of high"),
        ("since=last+tuesday", "since", "ISO 8601"),
        ("until=2024-13-45", "until", "ISO 8601"),
        ("since=2025-05-30&until=2025-05-01", "until", "earlier than since"),
        ("technique=T9999", "technique", "unknown ATT&CK technique"),
        ("technique=phishing", "technique", "T1234"),
        ("next=not-a-cursor", "next", "not a token this server issued"),
    ],
)
def test_400_bad_parameters(sqlite_site: Site, query: str, parameter: str, message: str) -> None:
    response = sqlite_site.get(f"/api/v1/iocs?{query}")
    code = "limit_exceeded" if query == "limit=1001" else "invalid_query"
    assert_error(response, 400, code, parameter=parameter, message=message)


@pytest.mark.parametrize("parameter", ["q", "tag", "source"])
def test_400_nul_in_a_text_filter(site: Site, parameter: str) -> None:
    """PostgreSQL refuses NUL even inside a query: it must be a 400, not a 500."""
    response = site.get(f"/api/v1/iocs?{parameter}=evil%00")
    assert_error(response, 400, "invalid_query", parameter=parameter, message="NUL")


@pytest.mark.parametrize("value", ["%00", "evil%00"])
def test_400_nul_in_an_export_source(site: Site, value: str) -> None:
    response = site.get(f"/api/v1/export/stix?source={value}")
    assert_error(response, 400, "invalid_query", parameter="source", message="NUL")


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("none", "An API key is required"),
        ("bad", "Invalid API key"),
        ("expired", "expired"),
        ("revoked", "revoked"),
    ],
)
def test_401_without_a_usable_key(sqlite_site: Site, who: str, message: str) -> None:
    assert_error(sqlite_site.get("/api/v1/iocs", who), 401, "unauthenticated", message=message)


def test_401_for_a_malformed_key_and_a_wrong_basic_password(sqlite_site: Site) -> None:
    client = sqlite_site.client
    response = client.get("/api/v1/me", headers={"X-API-Key": "hunter2"})
    assert_error(response, 401, "unauthenticated", message="Invalid API key")
    response = client.get("/api/v1/me", auth=("sentinel", "hunter2"))
    assert_error(response, 401, "unauthenticated", message="Invalid API key")


@pytest.mark.parametrize(
    ("method", "url", "who", "message"),
    [
        ("POST", "/api/v1/iocs", "pro", "Requires the Enterprise plan (write:iocs scope)"),
        ("DELETE", "/api/v1/iocs/ipv4/1.2.3.4", "free", "Requires the Enterprise plan"),
        ("GET", "/api/v1/keys", "enterprise", "Requires the Admin plan (admin:keys scope)"),
        ("DELETE", "/api/v1/keys/abc", "pro", "Requires the Admin plan (admin:keys scope)"),
    ],
)
def test_403_names_the_plan_and_scope(
    sqlite_site: Site, method: str, url: str, who: str, message: str
) -> None:
    response = sqlite_site.client.request(method, url, headers=sqlite_site.headers(who), json=[])
    assert_error(response, 403, "forbidden", message=message)


def test_404_unknown_route_and_unknown_things(sqlite_site: Site) -> None:
    sqlite_site.load([AMBER_IP])
    assert_error(sqlite_site.get("/api/v1/nope"), 404, "not_found", message="/api/v1/nope")
    assert_error(sqlite_site.get("/nowhere", "none"), 404, "not_found")
    assert_error(
        sqlite_site.get("/api/v1/iocs/domain/unknown.example"),
        404,
        "not_found",
        message="No domain indicator 'unknown.example'",
    )
    # Above the key's TLP ceiling reads exactly like absent (amber for a free key).
    hidden = assert_error(
        sqlite_site.get("/api/v1/iocs/ipv4/203.0.113.9", "free"), 404, "not_found"
    )
    assert hidden["message"] == "No ipv4 indicator '203.0.113.9'"
    for key_id in ("nosuchkey000", "%00", "Robert'); DROP TABLE api_keys;--"):
        response = sqlite_site.client.delete(
            f"/api/v1/keys/{key_id}", headers=sqlite_site.headers("admin")
        )
        assert_error(response, 404, "not_found", message="no API key")
    response = sqlite_site.client.delete(
        "/api/v1/iocs/ipv4/192.0.2.1", headers=sqlite_site.headers("enterprise")
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(("method", "url"), [("PUT", "/api/v1/iocs"), ("PATCH", "/api/v1/me")])
def test_405_wrong_method(sqlite_site: Site, method: str, url: str) -> None:
    response = sqlite_site.client.request(method, url, headers=sqlite_site.headers("admin"))
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"]


@pytest.fixture
def small_body_site(tmp_path: Path) -> Iterator[Site]:
    yield from start_site(migrated(sqlite_url(tmp_path)), max_body_bytes=1024)


def test_413_declared_content_length(small_body_site: Site) -> None:
    body = b"[" + b'{"value": "198.51.100.1"},' * 100 + b"{}]"
    response = small_body_site.client.post(
        "/api/v1/iocs",
        content=body,
        headers={**small_body_site.headers("enterprise"), "Content-Type": "application/json"},
    )
    assert_error(response, 413, "body_too_large", message="1024 bytes")


def test_413_chunked_body_without_length(small_body_site: Site) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(100):
            yield b'{"value": "198.51.100.1"},'
        yield b"{}]"

    response = small_body_site.client.post(
        "/api/v1/iocs",
        content=chunks(),
        headers={**small_body_site.headers("enterprise"), "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "body_too_large", parameter="body", message="1024 bytes")
    assert small_body_site.services.search.counts_by_type()[IocType.IPV4] == 0


def test_415_body_that_is_not_json(sqlite_site: Site) -> None:
    response = sqlite_site.client.post(
        "/api/v1/iocs",
        content=b"value\n198.51.100.1\n",
        headers={**sqlite_site.headers("enterprise"), "Content-Type": "text/csv"},
    )
    assert_error(response, 415, "unsupported_media_type", message="application/json")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"value": "198.51.100.1"', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"value": "198.51.100.1"}', "expected a JSON array"),
        (b'"198.51.100.1"', "got a string"),
        (b'{"indicators": 5}', "got a number"),
    ],
)
def test_422_upsert_body_that_is_not_an_array(sqlite_site: Site, body: bytes, message: str) -> None:
    response = sqlite_site.client.post(
        "/api/v1/iocs",
        content=body,
        headers={**sqlite_site.headers("enterprise"), "Content-Type": "application/json"},
    )
    body_json = assert_error(response, 422, "invalid_request", parameter="body", message=message)
    assert body_json["details"][0]["location"] == "body"


@pytest.mark.parametrize(
    ("url", "error", "parameter", "message"),
    [
        ("/api/v1/iocs/sha256/abc", "invalid_indicator", None, "64 hex characters, got 3"),
        ("/api/v1/iocs/ipv4/300.1.1.1", "invalid_indicator", None, "300.1.1.1"),
        ("/api/v1/iocs/hostname/evil.com", "invalid_request", "type", "ipv4"),
        ("/api/v1/iocs?limit=ten", "invalid_request", "limit", "integer"),
        ("/api/v1/iocs?status=dormant", "invalid_request", "status", "active"),
    ],
)
def test_422_invalid_values(
    sqlite_site: Site, url: str, error: str, parameter: str | None, message: str
) -> None:
    assert_error(sqlite_site.get(url), 422, error, parameter=parameter, message=message)


@pytest.mark.parametrize(
    ("body", "parameter", "message"),
    [
        ({"plan": "free"}, "name", "required"),
        ({"name": "x", "plan": "platinum"}, "plan", "unknown plan 'platinum'"),
        ({"name": "x", "plan": "free", "expires": "soon"}, "expires", "datetime"),
        (
            {"name": "x", "plan": "free", "expires": "0001-01-01T00:00:00+01:00"},
            "expires",
            "after now and at most 9999-12-31T23:59:59Z",
        ),
        (
            {"name": "x", "plan": "free", "expires": "9999-12-31T23:59:59-23:59"},
            "expires",
            "at most 9999-12-31T23:59:59Z",
        ),
        ({"name": "x", "plan": "free", "expires": "2020-01-01"}, "expires", "already passed"),
        ({"name": "x", "plan": "free", "colour": "red"}, "colour", "not permitted"),
        ({"name": "a\x00b", "plan": "free"}, "name", "control characters"),
    ],
)
def test_422_key_creation(
    sqlite_site: Site, body: dict[str, str], parameter: str, message: str
) -> None:
    response = sqlite_site.client.post(
        "/api/v1/keys", json=body, headers=sqlite_site.headers("admin")
    )
    assert_error(response, 422, "invalid_request", parameter=parameter, message=message)


def test_429_over_the_plan_rate(sqlite_site: Site) -> None:
    for remaining in (2, 1, 0):
        response = sqlite_site.get("/api/v1/me", "tiny")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    response = sqlite_site.get("/api/v1/me", "tiny")
    assert_error(response, 429, "rate_limited", message="3 requests per minute")


def test_500_is_generic(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for site in start_site(migrated(sqlite_url(tmp_path))):
        with site.services.engine.begin() as connection:
            connection.execute(text("DROP TABLE indicator_versions"))
        response = site.get("/api/v1/iocs")
        body = assert_error(response, 500, "internal_error")
        assert body["message"] == "Internal server error"
        assert "indicator_versions" not in response.text
    assert any("unhandled error on GET /api/v1/iocs" in r.message for r in caplog.records)


@pytest.mark.parametrize("depth", [254, 255, 300, 1000, 1024, 1025])
def test_deeply_nested_json_is_a_rejection_never_a_500(sqlite_site: Site, depth: int) -> None:
    """orjson reads 1024 levels but writes 254: items in between are rejected, not echoed."""
    headers = {**sqlite_site.headers("admin"), "Content-Type": "application/json"}
    nested = "[" * depth + "]" * depth
    rest = [
        sqlite_site.client.post("/api/v1/iocs", content=body, headers=headers)
        for body in (nested, '[{"value": "a.example", "description": ' + nested + "}]")
    ]
    taxii_headers = {
        **sqlite_site.headers("admin"),
        "Content-Type": "application/taxii+json;version=2.1",
        "Accept": "application/taxii+json;version=2.1",
    }
    taxii = sqlite_site.client.post(
        "/taxii2/api/collections/submissions/objects/",
        content='{"objects": [{"type": "indicator", "x": ' + nested + "}]}",
        headers=taxii_headers,
    )
    for response in (*rest, taxii):
        assert response.status_code < 500, response.text
    # Bodies deeper than orjson's reading limit (1024 levels in all) are not JSON to us.
    for response, levels in ((rest[0], depth), (rest[1], depth + 2)):
        if levels > 1024:
            assert_error(response, 422, "invalid_request", parameter="body", message="depth")
            continue
        assert response.status_code == 200
        [error] = response.json()["errors"]
        inner = levels - 1  # the item's own nesting, below the body's array
        expected = "nested more than 254 levels deep" if inner > 254 else "expected a JSON"
        assert error["reason"].startswith(expected), (levels, error)
    assert taxii.status_code == (422 if depth + 3 > 1024 else 202), taxii.text


def test_keys_stored_with_out_of_range_times_still_list_and_fail_cleanly(
    sqlite_site: Site,
) -> None:
    """Rows written before expiry was range checked: listing works, using the key is a 401."""
    from iocfeed.store.schema import api_keys

    early, early_secret = sqlite_site.services.keys.create(name="early", plan="free", now=NOW)
    late, late_secret = sqlite_site.services.keys.create(name="late", plan="free", now=NOW)
    with sqlite_site.services.engine.begin() as connection:
        for key_id, micros in ((early.key_id, -62_135_600_400_000_000), (late.key_id, 2**62)):
            connection.execute(
                api_keys.update().where(api_keys.c.key_id == key_id).values(expires=micros)
            )
    listing = sqlite_site.get("/api/v1/keys")
    assert listing.status_code == 200, listing.text
    expiries = {item["key_id"]: item["expires"] for item in listing.json()["items"]}
    assert expiries[early.key_id] == "0001-01-01T00:00:00.000000Z"
    assert expiries[late.key_id] == "9999-12-31T23:59:59.999999Z"
    gone = sqlite_site.client.get("/api/v1/me", headers={"X-API-Key": early_secret})
    assert_error(gone, 401, "unauthenticated")
    assert (
        sqlite_site.client.get("/api/v1/me", headers={"X-API-Key": late_secret}).status_code == 200
    )
