"""The TLP and lookback sweep: every read path, every plan, judged against the stored versions.

Indicators at all five TLPs and at the three confidence defaults, written with a fixed clock
0 to 400 days ago, plus the cases that move: raised (GREEN→RED, CLEAR→AMBER+STRICT, an old
GREEN raised lately), lowered (RED→GREEN), revoked (RED, GREEN), an old one changed lately,
and CVEs. Every version served through REST search, REST lookup, the STIX export (several
``tlp=``) and TAXII (objects, manifest, object by id and versions, ``match[version]`` last,
first, all and a timestamp, in several collections) is mapped back to its stored row by
``(stix_id, modified)``. None may be above the key's highest TLP by its own TLP or by its
indicator's current TLP (SPEC §4), and none may be older than the plan's lookback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from iocfeed.config import DEFAULT_PLANS
from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.stix.markings import TLP_2
from iocfeed.stix.timestamps import stix_timestamp
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import indicator_versions
from iocfeed.taxii.media import TAXII_MEDIA_TYPE
from tests.factories import ioc
from tests.web.conftest import NOW, PLAN_NAMES, Site, start_site

# The default plans without their rates: the sweep sends thousands of requests in one minute.
PLANS = {
    name: plan.model_copy(update={"requests_per_minute": None})
    for name, plan in DEFAULT_PLANS.items()
}
CEILING = {name: DEFAULT_PLANS[name].max_tlp.rank for name in PLAN_NAMES}
LOOKBACK = {name: DEFAULT_PLANS[name].lookback_days for name in PLAN_NAMES}
AGES = (0, 3, 10, 30, 100, 400)  # days
MARKING_RANK = {marking_id: tlp.rank for tlp, (marking_id, _) in TLP_2.items()}
ACCEPT = {"Accept": TAXII_MEDIA_TYPE}
TAXII_READERS = ("pro", "enterprise", "admin")
COLLECTIONS = ("all", "domain", "cve", "submissions")
EXPORT_TLPS = (None, "clear", "green", "amber+strict", "red")


@dataclass(frozen=True)
class Version:
    stix_id: str
    type: str
    value: str
    own: int  # the version's own TLP rank
    date_added: int  # epoch microseconds
    current: bool


@dataclass
class Truth:
    """Every stored version by ``(stix_id, modified)``, and each object's current TLP rank."""

    versions: dict[tuple[str, int], Version]
    current_rank: dict[str, int]

    def servable(self, plan: str, version: Version) -> bool:
        ceiling = CEILING[plan]
        days = LOOKBACK[plan]
        recent = days is None or version.date_added > to_us(NOW - timedelta(days=days))
        return version.own <= ceiling and self.current_rank[version.stix_id] <= ceiling and recent


def _at(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _writes(site: Site) -> None:
    """The fixture, written oldest first (the store's write clock only moves forward)."""
    steps: list[tuple[datetime, Any]] = []
    for age in AGES:
        items = [
            ioc(IocType.DOMAIN, f"t-{tlp.value.replace('+', '-')}-a{age}.example", tlp=tlp)
            for tlp in Tlp
        ]
        items += [
            ioc(IocType.DOMAIN, f"c-{c.value}-a{age}.example", confidence=c) for c in Confidence
        ]
        steps.append((_at(age), items))
    scenarios = {
        # value: [(days ago, fields), ...]
        "raised-green-red.example": [(5, {"tlp": Tlp.GREEN}), (1, {"tlp": Tlp.RED})],
        "raised-clear-strict.example": [(5, {"tlp": Tlp.CLEAR}), (1, {"tlp": Tlp.AMBER_STRICT})],
        "raised-old.example": [(100, {"tlp": Tlp.GREEN}), (2, {"tlp": Tlp.RED})],
        "raised-by-confidence.example": [
            (6, {"confidence": Confidence.LOW}),
            (1, {"confidence": Confidence.MEDIUM}),
        ],
        "lowered-red-green.example": [(5, {"tlp": Tlp.RED}), (1, {"tlp": Tlp.GREEN})],
        "lowered-strict-clear.example": [(50, {"tlp": Tlp.AMBER_STRICT}), (4, {"tlp": Tlp.CLEAR})],
        "old-updated.example": [
            (400, {"tlp": Tlp.GREEN}),
            (1, {"tlp": Tlp.GREEN, "description": "seen again"}),
        ],
        "revoked-red.example": [(5, {"tlp": Tlp.RED})],
        "revoked-green.example": [(5, {"tlp": Tlp.GREEN})],
    }
    for value, changes in scenarios.items():
        for days, fields in changes:
            steps.append((_at(days), [ioc(IocType.DOMAIN, value, **fields)]))
    steps.append(
        (
            _at(3),
            [
                ioc(IocType.CVE, "CVE-2021-44228", tlp=Tlp.GREEN),
                ioc(IocType.CVE, "CVE-2023-4863", tlp=Tlp.RED),
            ],
        )
    )
    for value in ("revoked-red.example", "revoked-green.example"):
        steps.append((_at(0.5), ("revoke", value)))
    for at, step in sorted(steps, key=lambda pair: pair[0]):
        if isinstance(step, tuple):
            site.services.indicators.revoke(IocType.DOMAIN, step[1], at)
        else:
            site.load(step, at)


def _truth(site: Site) -> Truth:
    v = indicator_versions.c
    statement = select(
        v.stix_id, v.type, v.value, v.modified, v.tlp_rank, v.date_added, v.superseded_at
    )
    with site.services.search.engine.connect() as connection:
        rows = connection.execute(statement).all()
    versions = {
        (r.stix_id, r.modified): Version(
            r.stix_id, r.type, r.value, r.tlp_rank, r.date_added, r.superseded_at is None
        )
        for r in rows
    }
    current = {r.stix_id: r.tlp_rank for r in rows if r.superseded_at is None}
    return Truth(versions, current)


@pytest.fixture
def swept(database_url: str) -> Iterator[tuple[Site, Truth]]:
    for site in start_site(database_url, plans=PLANS):
        _writes(site)
        yield site, _truth(site)


def _micros(timestamp: str) -> int:
    return to_us(datetime.fromisoformat(timestamp.replace("Z", "+00:00")))


class Judge:
    """Maps each served version to its stored row and records every breach."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self.served: dict[str, set[tuple[str, int]]] = {plan: set() for plan in PLAN_NAMES}
        self.breaches: list[str] = []

    def version(self, plan: str, path: str, stix_id: str, modified: str) -> None:
        key = (stix_id, _micros(modified))
        found = self.truth.versions.get(key)
        if found is None:
            self.breaches.append(f"{plan} {path}: {key} is no stored version")
            return
        self.served[plan].add(key)
        if not self.truth.servable(plan, found):
            self.breaches.append(
                f"{plan} {path}: {found.value} own={found.own} "
                f"current={self.truth.current_rank[stix_id]} added={found.date_added}"
            )

    def stix_object(self, plan: str, path: str, obj: dict[str, Any]) -> None:
        """A served STIX object; marking definitions are judged too, except in the export,
        whose ``tlp=`` sets how objects are marked, not which are served (SPEC §4)."""
        if obj["type"] == "marking-definition" and path.startswith("export"):
            return
        if obj["type"] == "marking-definition":
            if MARKING_RANK.get(obj["id"], 0) > CEILING[plan]:
                self.breaches.append(f"{plan} {path}: marking {obj['id']} above the ceiling")
            return
        if obj["type"] == "identity":
            return
        self.version(plan, path, obj["id"], obj["modified"])


def _rest(site: Site, judge: Judge, plan: str) -> None:
    for params in ({}, {"since": "1970-01-01"}, {"status": "revoked", "since": "2000-01-01"}):
        url: str | None = "/api/v1/iocs"
        query: dict[str, Any] | None = {"limit": 7, **params}
        while url is not None:
            response = site.get(url, plan, params=query)
            assert response.status_code == 200, response.text
            body = response.json()
            for item in body["items"]:
                judge.version(plan, f"search {params}", item["stix_id"], item["modified"])
            url, query = body["next"], None
    for version in {(v.type, v.value) for v in judge.truth.versions.values()}:
        response = site.get(f"/api/v1/iocs/{version[0]}/{version[1]}", plan)
        assert response.status_code in (200, 404), response.text
        if response.status_code == 200:
            item = response.json()
            judge.version(plan, "lookup", item["stix_id"], item["modified"])


def _export(site: Site, judge: Judge, plan: str) -> None:
    for tlp in EXPORT_TLPS:
        params = {"limit": 1000, **({"tlp": tlp} if tlp else {})}
        response = site.get("/api/v1/export/stix", plan, params=params)
        if plan == "free":
            assert response.status_code == 403
            continue
        assert response.status_code == 200, response.text
        for obj in response.json()["objects"]:
            judge.stix_object(plan, f"export tlp={tlp}", obj)


def _taxii_get(site: Site, plan: str, path: str, **params: Any) -> Any:
    return site.client.get(path, headers={**ACCEPT, **site.headers(plan)}, params=params)


def _taxii(site: Site, judge: Judge, plan: str, timestamps: list[str]) -> None:
    if plan == "free":
        assert _taxii_get(site, plan, "/taxii2/api/collections/all/objects/").status_code == 403
        return
    # Object by id and versions for every indicator that moved and a fixed one of each kind.
    stix_ids = sorted(
        {
            v.stix_id
            for v in judge.truth.versions.values()
            if not v.value.startswith(("t-", "c-"))
            or v.value.endswith(("-a3.example", "-a400.example"))
        }
    )
    matches: list[dict[str, str]] = [
        {},
        {"match[version]": "last"},
        {"match[version]": "first"},
        {"match[version]": "all"},
        {"match[version]": ",".join(timestamps)},
        {"match[version]": "first", "added_after": "2000-01-01T00:00:00Z"},
    ]
    for collection in COLLECTIONS:
        base = f"/taxii2/api/collections/{collection}/"
        for match in matches:
            for endpoint in ("objects", "manifest"):
                params: dict[str, Any] = {"limit": 40, **match}
                while True:
                    response = _taxii_get(site, plan, f"{base}{endpoint}/", **params)
                    assert response.status_code == 200, response.text
                    body = response.json()
                    for obj in body.get("objects", []):
                        where = f"{collection} {endpoint} {match}"
                        if endpoint == "objects":
                            judge.stix_object(plan, where, obj)
                        elif obj["id"].split("--")[0] not in ("identity", "marking-definition"):
                            judge.version(plan, where, obj["id"], obj["version"])
                    if not body.get("more"):
                        break
                    params = {"limit": 40, **match, "next": body["next"]}
        if collection != "all":
            continue
        for stix_id in stix_ids:
            for match in matches[:5]:
                response = _taxii_get(site, plan, f"{base}objects/{stix_id}/", **match)
                assert response.status_code in (200, 404), response.text
                for obj in response.json().get("objects", []):
                    judge.stix_object(plan, f"{collection} object {match}", obj)
            response = _taxii_get(site, plan, f"{base}objects/{stix_id}/versions/")
            assert response.status_code in (200, 404), response.text
            for modified in response.json().get("versions", []):
                judge.version(plan, f"{collection} versions", stix_id, modified)


def test_no_path_serves_a_version_above_the_ceiling_or_beyond_the_lookback(
    swept: tuple[Site, Truth],
) -> None:
    site, truth = swept
    judge = Judge(truth)
    # Every version's modified, as TAXII writes it: match[version]=<timestamp> picks each.
    timestamps = sorted(stix_timestamp(from_us(modified)) for _, modified in truth.versions)
    for plan in PLAN_NAMES:
        _rest(site, judge, plan)
        _export(site, judge, plan)
        _taxii(site, judge, plan, timestamps)
    assert judge.breaches == []

    # Not vacuous: each plan received exactly what it may, and old versions of the moved
    # indicators are what the ceiling now withholds.
    for plan in PLAN_NAMES:
        expected = {key for key, version in truth.versions.items() if truth.servable(plan, version)}
        if plan == "free":  # REST only: current versions
            expected = {key for key in expected if truth.versions[key].current}
        assert judge.served[plan] == expected, plan
    green_version = next(
        key
        for key, version in truth.versions.items()
        if version.value == "raised-green-red.example" and not version.current
    )
    red_version = next(
        key
        for key, version in truth.versions.items()
        if version.value == "lowered-red-green.example" and not version.current
    )
    for plan in ("free", "pro", "enterprise"):
        assert green_version not in judge.served[plan]
        assert red_version not in judge.served[plan]
    assert {green_version, red_version} <= judge.served["admin"]


def test_rest_lookup_clamps_to_the_lookback(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "old.example", tlp=Tlp.GREEN)], NOW - timedelta(days=400))
    site.load([ioc(IocType.DOMAIN, "recent.example", tlp=Tlp.GREEN)], NOW - timedelta(days=8))
    for plan, old, recent in (
        ("free", 404, 404),
        ("pro", 404, 200),
        ("enterprise", 404, 200),
        ("admin", 200, 200),
    ):
        assert site.get("/api/v1/iocs/domain/old.example", plan).status_code == old, plan
        assert site.get("/api/v1/iocs/domain/recent.example", plan).status_code == recent, plan
    # The same as search: what lookup hides, search's clamped ``since`` hides too.
    found = site.get("/api/v1/iocs", "free", params={"q": "recent", "since": "1970-01-01"})
    assert found.json()["items"] == []


def test_rest_revoke_answers_like_lookup_beyond_the_lookback(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "old.example", tlp=Tlp.GREEN)], NOW - timedelta(days=400))
    gone = site.client.delete("/api/v1/iocs/domain/old.example", headers=site.headers("enterprise"))
    assert gone.status_code == 404
    assert site.get("/api/v1/iocs/domain/old.example", "admin").json()["revoked"] is False
    revoked = site.client.delete("/api/v1/iocs/domain/old.example", headers=site.headers("admin"))
    assert revoked.status_code == 200
