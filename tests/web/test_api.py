"""The REST API's behaviour (SPEC §5), on SQLite and PostgreSQL: filters, keyset paging,
the plan's lookback and TLP ceiling, defanged lookups, bulk upsert, revocation, /me, keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.web.schemas import timestamp
from tests.web.conftest import NOW, PLANS, Site

RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
FIELDS = {
    "type", "value", "stix_id", "confidence", "tags", "techniques", "description", "source",
    "tlp", "effective_tlp", "first_seen", "last_seen", "valid_until", "revoked", "created",
    "modified", "warninglists", "score", "sightings",
}  # fmt: skip

DAY = timedelta(days=1)


def values(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["value"] for item in response.json()["items"]]


def walk(site: Site, url: str, who: str = "admin") -> Iterator[dict[str, Any]]:
    """Every page of a search, following ``next``."""
    while url:
        response = site.get(url, who)
        assert response.status_code == 200, response.text
        page = response.json()
        yield page
        url = page["next"]


# --- filters --------------------------------------------------------------------------------

CATALOGUE = [
    IndicatorInput(IocType.IPV4, "198.51.100.7", Confidence.HIGH, tags=("c2", "cobalt-strike"),
                   techniques=("T1071.001",), source="osint-feed"),
    IndicatorInput(IocType.DOMAIN, "evil.example", Confidence.MEDIUM, tags=("phishing",),
                   techniques=("T1566.001",), description="Qakbot loader domain",
                   source="osint-feed"),
    IndicatorInput(IocType.URL, "http://evil.example/payload.exe", Confidence.LOW,
                   tags=("phishing", "malware"), source="sandbox"),
    IndicatorInput(IocType.SHA256, "a" * 64, Confidence.HIGH, tags=("malware",),
                   description="Dropper", source="sandbox"),
    IndicatorInput(IocType.CVE, "CVE-2021-44228", Confidence.HIGH, tags=("log4shell",)),
]  # fmt: skip


@pytest.fixture
def catalogue(site: Site) -> Site:
    """One expired and one revoked indicator, then CATALOGUE loaded a day apart.

    Loads go oldest first: the store never moves its clock backwards."""
    site.load(
        [
            IndicatorInput(
                IocType.IPV4, "192.0.2.50", first_seen=NOW - 20 * DAY, valid_until=NOW - DAY
            ),
            IndicatorInput(IocType.IPV4, "192.0.2.60"),
        ],
        at=NOW - 20 * DAY,
    )
    site.services.indicators.revoke(IocType.IPV4, "192.0.2.60", NOW - 10 * DAY)
    for days, item in enumerate(CATALOGUE):
        site.load([item], at=NOW - timedelta(days=len(CATALOGUE) - days))
    return site


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["CVE-2021-44228", "a" * 64, "http://evil.example/payload.exe", "evil.example",
              "198.51.100.7", "192.0.2.60", "192.0.2.50"]),
        ("type=ipv4", ["198.51.100.7", "192.0.2.60", "192.0.2.50"]),
        ("type=domain,url", ["http://evil.example/payload.exe", "evil.example"]),
        ("type=DOMAIN&type=cve", ["CVE-2021-44228", "evil.example"]),
        ("confidence=high", ["CVE-2021-44228", "a" * 64, "198.51.100.7"]),
        ("confidence=low,medium&type=url,domain",
         ["http://evil.example/payload.exe", "evil.example"]),
        ("tag=Phishing", ["http://evil.example/payload.exe", "evil.example"]),
        ("tag=phish", []),
        ("technique=t1566.001", ["evil.example"]),
        ("source=sandbox", ["a" * 64, "http://evil.example/payload.exe"]),
        ("q=EVIL", ["http://evil.example/payload.exe", "evil.example"]),
        ("q=loader", ["evil.example"]),
        ("q=100%25", []),
        ("status=active", ["CVE-2021-44228", "a" * 64, "http://evil.example/payload.exe",
                           "evil.example", "198.51.100.7"]),
        ("status=expired", ["192.0.2.50"]),
        ("status=revoked", ["192.0.2.60"]),
        (f"since={(NOW - 3 * DAY).date()}", ["CVE-2021-44228", "a" * 64,
                                               "http://evil.example/payload.exe"]),
        (f"until={(NOW - 3 * DAY).isoformat()}".replace("+", "%2B"),
         ["http://evil.example/payload.exe", "evil.example", "198.51.100.7", "192.0.2.60",
          "192.0.2.50"]),
        (f"since={(NOW - 4 * DAY).date()}&until={(NOW - 2 * DAY).date()}T12:00:00Z",
         ["a" * 64, "http://evil.example/payload.exe", "evil.example"]),
    ],
)  # fmt: skip
def test_each_filter(catalogue: Site, query: str, expected: list[str]) -> None:
    assert values(catalogue.get(f"/api/v1/iocs?{query}")) == expected


def test_an_indicator_as_json(catalogue: Site) -> None:
    (item,) = catalogue.get("/api/v1/iocs?type=domain").json()["items"]
    assert set(item) == FIELDS
    stored = catalogue.current(CATALOGUE[1])
    assert item["stix_id"] == stored.stix_id
    assert (item["type"], item["confidence"], item["tlp"], item["effective_tlp"]) == (
        "domain", "medium", None, "amber"
    )  # fmt: skip
    assert (item["tags"], item["techniques"]) == (["phishing"], ["T1566.001"])
    assert (item["description"], item["source"]) == ("Qakbot loader domain", "osint-feed")
    assert item["valid_until"] is None and item["revoked"] is False
    assert item["score"] == 50 and item["sightings"] == {"hit": 0, "false-positive": 0}
    for name in ("first_seen", "last_seen", "created", "modified"):
        assert RFC3339_Z.fullmatch(item[name]), item[name]
    assert item["modified"] == timestamp(NOW - 4 * DAY)


# --- keyset paging --------------------------------------------------------------------------


@pytest.fixture
def statements(site: Site) -> list[tuple[str, Any]]:
    """Every SQL statement the app sends from now on."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(site.services.engine, "before_cursor_execute", record)
    return seen


def numbered(count: int, start: int = 0) -> list[IndicatorInput]:
    return [
        IndicatorInput(IocType.IPV4, f"10.0.{n // 250}.{n % 250 + 1}")
        for n in range(start, start + count)
    ]


def test_paging_walks_every_row_once_newest_first_without_offset(
    site: Site, statements: list[tuple[str, Any]]
) -> None:
    for minute in range(23):  # three at a time, to exercise the tie-breaker
        site.load(numbered(3, start=3 * minute), at=NOW - timedelta(minutes=23 - minute))
    pages = list(walk(site, "/api/v1/iocs?limit=4&type=ipv4&type=domain"))
    served = [item for page in pages for item in page["items"]]
    assert len(pages) == 18 and all(len(page["items"]) == 4 for page in pages[:-1])
    assert sorted(item["value"] for item in served) == sorted(i.value for i in numbered(69))
    assert len({item["value"] for item in served}) == 69
    modified = [item["modified"] for item in served]
    assert modified == sorted(modified, reverse=True)
    for page in pages[:-1]:  # the filters ride along in next
        assert parse_qs(urlsplit(page["next"]).query)["type"] == ["ipv4", "domain"]
    assert pages[-1]["next"] is None
    selects = [
        (sql, parameters)
        for sql, parameters in statements
        if sql.lstrip().startswith("SELECT") and "FROM indicator_versions" in sql
    ]
    assert len(selects) >= len(pages)
    # SQLAlchemy writes "LIMIT ? OFFSET ?" on SQLite, always with offset 0 (its last parameter).
    assert all("OFFSET" not in sql or parameters[-1] == 0 for sql, parameters in selects)


def test_paging_while_indicators_are_written_neither_skips_nor_repeats(site: Site) -> None:
    site.load(numbered(10), at=NOW - DAY)
    first = site.get("/api/v1/iocs?limit=3").json()
    # Meanwhile: new indicators, and a change to one already served and one not yet served.
    site.load(numbered(5, start=100))
    site.load([IndicatorInput(IocType.IPV4, first["items"][0]["value"], Confidence.LOW),
               IndicatorInput(IocType.IPV4, "10.0.0.1", Confidence.HIGH)])  # fmt: skip
    rest = [item["value"] for page in walk(site, first["next"]) for item in page["items"]]
    served = [item["value"] for item in first["items"]] + rest
    assert sorted(served) == sorted(i.value for i in numbered(10))
    # A new walk sees the new state: the changed ones first.
    assert len(values(site.get("/api/v1/iocs?limit=1000"))) == 15


def test_paging_over_indicators_changed_within_one_millisecond(site: Site) -> None:
    site.load([IndicatorInput(IocType.DOMAIN, "slow.example")], at=NOW - DAY)
    site.load([IndicatorInput(IocType.DOMAIN, "fast.example")])
    for confidence in (Confidence.LOW, Confidence.HIGH, Confidence.MEDIUM):
        site.load([IndicatorInput(IocType.DOMAIN, "fast.example", confidence)])
    served = [i["value"] for page in walk(site, "/api/v1/iocs?limit=1") for i in page["items"]]
    assert served == ["fast.example", "slow.example"]


# --- the plan: lookback and TLP -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "since", "effective", "expected"),
    [
        ("free", None, NOW - 7 * DAY, ["recent.example"]),
        ("free", NOW - 60 * DAY, NOW - 7 * DAY, ["recent.example"]),
        ("free", NOW - DAY, NOW - DAY, []),
        ("pro", None, NOW - 90 * DAY, ["recent.example", "month.example"]),
        ("enterprise", NOW - 400 * DAY, NOW - 365 * DAY,
         ["recent.example", "month.example", "old.example"]),
        ("admin", None, None,
         ["recent.example", "month.example", "old.example", "ancient.example"]),
        ("admin", NOW - 60 * DAY, NOW - 60 * DAY, ["recent.example", "month.example"]),
    ],
)  # fmt: skip
def test_lookback_clamps_since_and_reports_it(
    site: Site, who: str, since: datetime | None, effective: datetime | None, expected: list[str]
) -> None:
    for name, age in [("ancient", 1000), ("old", 200), ("month", 30), ("recent", 3)]:
        site.load([IndicatorInput(IocType.DOMAIN, f"{name}.example", Confidence.HIGH)],
                  at=NOW - age * DAY)  # fmt: skip
    url = "/api/v1/iocs" + (f"?since={timestamp(since)}" if since else "")
    response = site.get(url, who)
    assert values(response) == expected
    if effective is None:
        assert "X-Effective-Since" not in response.headers
    else:
        assert response.headers["X-Effective-Since"] == timestamp(effective)


TLP_SET = [
    IndicatorInput(IocType.DOMAIN, "clear.example", Confidence.LOW),  # clear from confidence
    IndicatorInput(IocType.DOMAIN, "green.example", Confidence.HIGH),  # green
    IndicatorInput(IocType.DOMAIN, "amber.example", Confidence.MEDIUM),  # amber
    IndicatorInput(IocType.DOMAIN, "strict.example", Confidence.HIGH, tlp=Tlp.AMBER_STRICT),
    IndicatorInput(IocType.DOMAIN, "red.example", Confidence.LOW, tlp=Tlp.RED),
]


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("free", {"clear.example", "green.example"}),
        ("pro", {"clear.example", "green.example", "amber.example"}),
        ("enterprise", {"clear.example", "green.example", "amber.example", "strict.example"}),
        ("admin", {i.value for i in TLP_SET}),
    ],
)
def test_a_key_never_sees_above_its_tlp(site: Site, who: str, visible: set[str]) -> None:
    site.load(TLP_SET)
    assert set(values(site.get("/api/v1/iocs", who))) == visible
    for item in TLP_SET:
        status = site.get(f"/api/v1/iocs/domain/{item.value}", who).status_code
        assert status == (200 if item.value in visible else 404), item.value


# --- lookup ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("url/hxxp://evil[.]example/payload.exe", "http://evil.example/payload.exe"),
        ("url/hxxp%3A%2F%2Fevil%5B.%5Dexample%2Fpayload.exe", "http://evil.example/payload.exe"),
        ("url/HTTPS://Evil.Example/a%3Fq%3D1", "https://evil.example/a?q=1"),
        ("domain/EVIL[.]example", "evil.example"),
        ("ipv4/198.51.100[.]7", "198.51.100.7"),
        ("sha256/" + "A" * 64, "a" * 64),
        ("cve/cve-2021-44228", "CVE-2021-44228"),
    ],
)
def test_lookup_refangs_and_normalises(site: Site, path: str, value: str) -> None:
    site.load(
        [*CATALOGUE, IndicatorInput(IocType.URL, "https://evil.example/a?q=1", Confidence.HIGH)]
    )
    response = site.get(f"/api/v1/iocs/{path}", "free")
    if value == "evil.example":  # medium confidence: amber, above a free key's ceiling
        assert response.status_code == 404
        response = site.get(f"/api/v1/iocs/{path}", "pro")
    assert response.status_code == 200, response.text
    assert response.json()["value"] == value


# --- bulk upsert ----------------------------------------------------------------------------


def post(site: Site, body: Any, who: str = "enterprise") -> Any:
    return site.client.post("/api/v1/iocs", json=body, headers=site.headers(who))


def test_bulk_upsert_reports_each_outcome_and_every_bad_item(site: Site) -> None:
    site.load([IndicatorInput(IocType.DOMAIN, "known.example", Confidence.LOW)])
    response = post(
        site,
        [
            {"value": "hxxp://new[.]example/x", "tags": ["Phishing", "phishing"]},
            {"value": "known.example", "confidence": "high"},
            {"value": "abc", "type": "sha256"},
            "198.51.100.1",
            {"value": "203.0.113.5", "type": "ipv4", "confidence": "certain"},
            {"type": "domain"},
            {"value": "198.51.100.77", "tlp": "amber+strict", "first_seen": "2025-05-01"},
            {"value": "198.51.100.78", "description": "nul\u0000byte"},
            {"value": "198.51.100.79", "first_seen": "9999-12-31T23:30:00-01:00"},
        ],
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert {k: summary[k] for k in ("added", "updated", "unchanged", "rejected")} == {
        "added": 2, "updated": 1, "unchanged": 0, "rejected": 6
    }  # fmt: skip
    errors = {error["line"]: error["reason"] for error in summary["errors"]}
    assert errors == {
        3: "value: sha256 must be 64 hex characters, got 3",
        4: "expected a JSON object, got a string",
        5: errors[5],
        6: "missing value",
        8: "description: contains a NUL character (\\x00)",
        9: "first_seen: '9999-12-31T23:30:00-01:00' is out of the supported range of dates",
    }
    assert errors[5].startswith("confidence")
    assert site.get("/api/v1/iocs/url/http://new.example/x").json()["tags"] == ["phishing"]
    assert site.get("/api/v1/iocs/domain/known.example").json()["confidence"] == "high"
    added = site.get("/api/v1/iocs/ipv4/198.51.100.77").json()
    assert (added["tlp"], added["first_seen"]) == ("amber+strict", "2025-05-01T00:00:00.000000Z")

    again = post(site, {"indicators": [{"value": "known.example", "confidence": "high"}]})
    assert again.json() == {"added": 0, "updated": 0, "unchanged": 1, "rejected": 0, "errors": []}


def test_bulk_upsert_of_nothing(site: Site) -> None:
    assert post(site, []).json() == {
        "added": 0, "updated": 0, "unchanged": 0, "rejected": 0, "errors": []
    }  # fmt: skip


# --- revoke ---------------------------------------------------------------------------------


def test_delete_revokes_and_the_indicator_shows_revoked(site: Site) -> None:
    site.load(CATALOGUE)
    before = site.get("/api/v1/iocs/url/http://evil.example/payload.exe").json()
    response = site.client.delete(
        "/api/v1/iocs/url/hxxp://evil[.]example/payload.exe", headers=site.headers("enterprise")
    )
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["revoked"] is True
    assert revoked["stix_id"] == before["stix_id"]
    assert revoked["modified"] > before["modified"]
    shown = site.get("/api/v1/iocs/url/http://evil.example/payload.exe").json()
    assert shown == revoked
    assert values(site.get("/api/v1/iocs?status=revoked")) == ["http://evil.example/payload.exe"]
    assert "http://evil.example/payload.exe" not in values(site.get("/api/v1/iocs?status=active"))
    again = site.client.delete(
        "/api/v1/iocs/url/http://evil.example/payload.exe", headers=site.headers("enterprise")
    )
    assert again.status_code == 200 and again.json() == revoked


# --- /me ------------------------------------------------------------------------------------


def test_me_shows_plan_scopes_lookback_and_remaining_rate(site: Site) -> None:
    first = site.get("/api/v1/me", "free")
    assert first.status_code == 200
    me = first.json()
    key_id = site.keys["free"].split("_")[1]
    assert me == {
        "key_id": key_id,
        "name": "free key",
        "account_id": site.services.accounts.named("free key").account_id,
        "account_name": "free key",
        "plan": "free",
        "plan_title": "Free",
        "scopes": ["read:iocs"],
        "networks": [],
        "device": False,
        "lookback_days": 7,
        "lookback_start": timestamp(NOW - 7 * DAY),
        "max_tlp": "green",
        "expires": None,
        "rate_limit": {"limit": 60, "remaining": 59, "reset_seconds": 60},
    }
    assert first.headers["X-RateLimit-Remaining"] == "59"
    assert site.get("/api/v1/me", "free").json()["rate_limit"]["remaining"] == 58
    admin = site.get("/api/v1/me", "admin").json()
    assert admin["rate_limit"] is None and admin["lookback_start"] is None
    assert admin["scopes"] == sorted(PLANS["admin"].scopes)


# --- keys over the API ----------------------------------------------------------------------


def test_admin_creates_lists_and_revokes_keys(site: Site) -> None:
    admin = site.headers("admin")
    created = site.client.post(
        "/api/v1/keys",
        json={"name": "sentinel", "plan": "pro", "expires": "2026-01-01"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"iocf_{body['key_id']}_")
    assert (body["plan"], body["state"], body["expires"]) == (
        "pro", "active", "2026-01-01T00:00:00.000000Z"
    )  # fmt: skip
    me = site.client.get("/api/v1/me", headers={"X-API-Key": body["key"]})
    assert me.json()["plan"] == "pro"

    listing = site.client.get("/api/v1/keys", headers=admin)
    assert (
        body["key"] not in listing.text
        and body["key"].removeprefix(f"iocf_{body['key_id']}_") not in listing.text
    )
    states = {key["name"]: key["state"] for key in listing.json()["items"]}
    assert states["sentinel"] == "active"
    assert (states["old key"], states["leaked key"]) == ("expired", "revoked")
    assert all("key" not in key for key in listing.json()["items"])

    revoked = site.client.delete(f"/api/v1/keys/{body['key_id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert site.client.get("/api/v1/me", headers={"X-API-Key": body["key"]}).status_code == 401
