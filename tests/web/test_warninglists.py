"""False-positive lists over HTTP: every write path screens, flagged values stay out of
exports and TAXII unless asked, and a policy change reaches TAXII as new versions."""

from __future__ import annotations

from typing import Any

import pytest

from iocfeed.indicators.model import IocType
from iocfeed.worker.loop import Worker
from tests.factories import ioc
from tests.web.conftest import Site
from tests.web.test_taxii import ALL, assert_taxii_error, get, ok, post, stix_indicator

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# What a fresh store does with each value (README, "False-positive lists").
BLOCKED = {
    "8.8.8.8": "public-dns-v4",
    "1.1.1.1": "public-dns-v4",
    "10.1.2.3": "rfc1918",
    "a.b.dns.google": "public-dns-hostname",
    EMPTY_MD5: "empty-hashes",
    EMPTY_SHA1: "empty-hashes",
    EMPTY_SHA256: "empty-hashes",
}
FLAGGED = {"google.com": "google", "login.wikipedia.org": "tranco10k"}
PLAIN = "payload-host.example"

PATTERNS = {
    "8.8.8.8": "[ipv4-addr:value = '8.8.8.8']",
    "1.1.1.1": "[ipv4-addr:value = '1.1.1.1']",
    "10.1.2.3": "[ipv4-addr:value = '10.1.2.3']",
    "a.b.dns.google": "[domain-name:value = 'a.b.dns.google']",
    EMPTY_MD5: f"[file:hashes.MD5 = '{EMPTY_MD5}']",
    EMPTY_SHA1: f"[file:hashes.'SHA-1' = '{EMPTY_SHA1}']",
    EMPTY_SHA256: f"[file:hashes.'SHA-256' = '{EMPTY_SHA256}']",
    "google.com": "[domain-name:value = 'google.com']",
    "login.wikipedia.org": "[domain-name:value = 'login.wikipedia.org']",
    PLAIN: f"[domain-name:value = '{PLAIN}']",
}


def upsert(site: Site, values: list[str], who: str = "enterprise") -> Any:
    body = [{"value": value} for value in values]
    return site.client.post("/api/v1/iocs", json=body, headers=site.headers(who))


def served_values(body: dict[str, Any]) -> set[str]:
    return {
        o["pattern"].split("'")[-2] for o in body.get("objects", []) if o["type"] == "indicator"
    }


def exported(site: Site, **params: Any) -> set[str]:
    response = site.get("/api/v1/export/stix", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return served_values(response.json())


def assert_flagged_stay_out(site: Site) -> None:
    for name, value in ((n, v) for v, n in FLAGGED.items()):
        stored = site.services.search.current(IocType.DOMAIN, value)
        assert stored is not None
        assert f"warninglist:{name}" in stored.tags
    assert exported(site) == {PLAIN}
    assert exported(site, include_flagged="true") == {PLAIN, *FLAGGED}
    assert served_values(ok(get(site, f"{ALL}objects/"))) == {PLAIN}
    flagged = ok(get(site, f"{ALL}objects/", include_flagged="true"))
    assert served_values(flagged) == {PLAIN, *FLAGGED}
    searched = site.get("/api/v1/iocs").json()["items"]
    assert [item["value"] for item in searched] == [PLAIN]
    shown = site.get("/api/v1/iocs/domain/google.com").json()
    assert "google" in shown["warninglists"] and "tranco10k" in shown["warninglists"]


def test_rest_upsert_blocks_and_flags(site: Site) -> None:
    response = upsert(site, [*BLOCKED, *FLAGGED, PLAIN])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["added"], body["rejected"]) == (3, len(BLOCKED))
    reasons = {error["text"]: error["reason"] for error in body["errors"]}
    for value, name in BLOCKED.items():
        assert reasons[value] == f"{value} is on the warninglist {name} (policy block)"
        assert site.services.search.current(IocType.IPV4, value) is None
    assert_flagged_stay_out(site)


def test_taxii_post_blocks_and_flags(site: Site) -> None:
    objects = [
        stix_indicator(f"indicator--0b5e6c8a-1d2f-4a3b-8c4d-{n:012x}", PATTERNS[value])
        for n, value in enumerate([*BLOCKED, *FLAGGED, PLAIN])
    ]
    status = post(site, objects).json()
    assert status["success_count"] == 3
    assert status["failure_count"] == len(BLOCKED)
    messages = [failure["message"] for failure in status["failures"]]
    for value, name in BLOCKED.items():
        assert f"{value} is on the warninglist {name} (policy block)" in messages
    assert_flagged_stay_out(site)


def test_taxii_include_flagged_must_be_a_boolean(site: Site) -> None:
    assert_taxii_error(get(site, f"{ALL}objects/", include_flagged="maybe"), 400)


def test_lists_and_check_with_any_key(site: Site) -> None:
    listed = site.get("/api/v1/warninglists", "free")
    assert listed.status_code == 200, listed.text
    by_name = {item["name"]: item for item in listed.json()["items"]}
    assert by_name["public-dns-v4"]["policy"] == "block"
    assert by_name["tranco10k"]["policy"] == "flag"
    assert by_name["tranco"]["policy"] == "off"
    assert by_name["documentation"]["origin"] == "operator"
    checked = site.get("/api/v1/warninglists/check", "free", params={"value": "8[.]8[.]8[.]8"})
    assert checked.json() == {
        "type": "ipv4",
        "value": "8.8.8.8",
        "action": "block",
        "matched": ["public-dns-v4"],
        "blocked_by": "public-dns-v4",
        "flagged_by": [],
        "allowed_by": [],
    }
    bad = site.get("/api/v1/warninglists/check", "free", params={"value": "x", "type": "md5"})
    assert bad.status_code == 422
    assert site.get("/api/v1/warninglists", "none").status_code == 401


def test_changing_lists_is_for_admins(site: Site) -> None:
    url = "/api/v1/warninglists/google/policy"
    refused = site.client.put(url, json={"policy": "off"}, headers=site.headers("enterprise"))
    assert refused.status_code == 403
    assert "admin:warninglists" in refused.json()["message"]
    missing = site.client.put(
        "/api/v1/warninglists/nope/policy", json={"policy": "off"}, headers=site.headers("admin")
    )
    assert missing.status_code == 404
    wrong = site.client.put(url, json={"policy": "maybe"}, headers=site.headers("admin"))
    assert wrong.status_code == 422
    named = site.client.put(
        "/api/v1/warninglists/tranco",
        json={"entries": ["1.2.3.4"]},
        headers=site.headers("admin"),
    )
    assert named.status_code == 400
    assert named.json()["parameter"] == "name"


def test_an_operator_allow_list_takes_back_a_default_block(site: Site) -> None:
    saved = site.client.put(
        "/api/v1/warninglists/our-resolvers",
        json={"policy": "allow", "entries": ["8.8.8.0/24"], "description": "lab"},
        headers=site.headers("admin"),
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["entries"] == 1
    body = upsert(site, ["8.8.8.8", "1.1.1.1"]).json()
    assert (body["added"], body["rejected"]) == (1, 1)
    assert site.services.search.current(IocType.IPV4, "8.8.8.8") is not None
    assert "warninglists.save" in [record.action for record in site.services.audit.recent(5)]


@pytest.mark.parametrize(("policy", "revoked"), [("block", True), ("flag", False)])
def test_a_policy_change_republishes_stored_indicators(
    site: Site, policy: str, revoked: bool
) -> None:
    scanner = "162.142.125.10"  # a Censys scanner: on censys-scanning, which starts off
    assert not site.get("/api/v1/warninglists/check", params={"value": scanner}).json()["matched"]
    site.load([ioc(IocType.IPV4, scanner), ioc(IocType.DOMAIN, PLAIN)])
    first_response = get(site, f"{ALL}objects/")
    first = ok(first_response)
    assert served_values(first) == {scanner, PLAIN}
    site.clock.advance(minutes=5)
    changed = site.client.put(
        "/api/v1/warninglists/censys-scanning/policy",
        json={"policy": policy},
        headers=site.headers("admin"),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["policy"] == policy
    assert site.services.audit.recent(1)[0].action == "warninglists.set"
    Worker(site.services).run_once()
    assert site.services.warninglists.store.due_rechecks() == []

    after = first_response.headers["X-TAXII-Date-Added-Last"]  # what the re-check published
    later = ok(get(site, f"{ALL}objects/", added_after=after, include_flagged="true"))
    (republished,) = [o for o in later["objects"] if o["type"] == "indicator"]
    assert republished["pattern"] == f"[ipv4-addr:value = '{scanner}']"
    assert republished.get("revoked", False) is revoked
    tagged = "warninglist:censys-scanning" in republished.get("labels", [])
    assert tagged is not revoked  # block revokes; flag tags
    default_view = served_values(ok(get(site, f"{ALL}objects/")))
    # A revoked version is served to everyone, so SIEMs drop it; a flagged one is not.
    assert (scanner in default_view) is revoked
    # A second pass has nothing left to do.
    Worker(site.services).run_once()
    assert site.services.warninglists.recheck_due() == 0


def test_turning_a_list_off_publishes_nothing(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "google.com", tags=("warninglist:google",))])
    changed = site.client.put(
        "/api/v1/warninglists/google/policy", json={"policy": "off"}, headers=site.headers("admin")
    )
    assert changed.json() == {**changed.json(), "policy": "off", "default_policy": "flag"}
    assert site.services.warninglists.store.due_rechecks() != []
    assert site.services.warninglists.recheck_due() == 0
    assert site.services.warninglists.store.due_rechecks() == []
    checked = site.get("/api/v1/warninglists/check", params={"value": "google.com"}).json()
    assert "google" not in checked["matched"]
