"""Writes above the writer's TLP ceiling (SPEC §4): REST upserts and TAXII Add Objects never
change, revoke or reveal an indicator the writing key may not read.

Such a write is withheld and answered exactly as a fresh add would be. Every test runs on
SQLite and PostgreSQL, over HTTP in process.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.stix.markings import TLP_2
from tests.factories import ioc
from tests.web.conftest import Site
from tests.web.test_taxii import ACCEPT, ALL, ROOT, get, ok, post, stix_indicator

SECRET = ioc(
    IocType.DOMAIN, "redsecret.example", confidence=Confidence.HIGH, tlp=Tlp.RED,
    description="red only", tags=("apt",),
)  # fmt: skip
CLEAR_MARKING = TLP_2[Tlp.CLEAR][0]
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture
def secret(site: Site) -> Indicator:
    """A RED indicator, stored by an operator; Enterprise keys (AMBER+STRICT) may not read it."""
    site.load([SECRET])
    return site.current(SECRET)


def upsert(site: Site, body: Any, who: str = "enterprise") -> Any:
    return site.client.post("/api/v1/iocs", json=body, headers=site.headers(who))


def scrubbed(text: str) -> str:
    """``text`` with the ids and times that differ between any two fresh adds replaced."""
    return _TIMESTAMP.sub("<time>", _UUID.sub("<uuid>", text))


def assert_untouched(site: Site, before: Indicator) -> None:
    """No new version, no ``last_seen`` bump, no tag merge, no revocation."""
    assert site.current(SECRET) == before
    versions = ok(get(site, f"{ALL}objects/{before.stix_id}/versions/"))["versions"]
    assert len(versions) == 1


def assert_hidden(site: Site) -> None:
    for who in ("free", "pro", "enterprise"):
        response = site.get("/api/v1/iocs/domain/redsecret.example", who)
        assert response.status_code == 404, (who, response.text)


# --- REST -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        {"type": "domain", "value": "redsecret.example", "confidence": "high", "tlp": "clear"},
        {"type": "domain", "value": "redsecret.example", "confidence": "high", "revoked": True},
        {"type": "domain", "value": "redsecret.example", "tags": ["benign"], "tlp": "green"},
        {"type": "domain", "value": "redsecret.example", "last_seen": "2025-05-31T00:00:00Z"},
    ],
    ids=["declassify", "revoke", "retag", "last-seen"],
)
def test_an_upsert_above_the_ceiling_changes_nothing_and_reads_as_a_fresh_add(
    site: Site, secret: Indicator, item: dict[str, Any]
) -> None:
    hidden = upsert(site, [item])
    fresh = upsert(site, [{**item, "value": "nothere.example"}])
    assert hidden.status_code == fresh.status_code == 200
    assert hidden.content == fresh.content
    assert hidden.json()["added"] == 1
    assert_untouched(site, secret)
    assert_hidden(site)
    # The operator sees that a write was withheld; the writer never does.
    audit = site.services.audit.recent(2)
    assert [(r.action, r.parameters["withheld"], r.result_count) for r in audit] == [
        ("iocs.upsert", 0, 1),
        ("iocs.upsert", 1, 0),
    ]


def test_no_upsert_summary_tells_a_hidden_value_from_a_fresh_one(
    site: Site, secret: Indicator
) -> None:
    """The review's oracle: a known RED value came back `unchanged`, a new one `added`."""
    bodies = [
        [{"type": "domain", "value": "{v}", "confidence": "high"}, {"value": "x.{v}"}],
        [{"type": "domain", "value": "{v}"}, {"type": "domain", "value": "{v}"}],
        [{"type": "domain", "value": "{v}"}, {"type": "domain", "value": "{v}", "tags": ["x"]}],
    ]
    for body in bodies:
        answers = []
        for value in ("redsecret.example", "fresh.example"):
            filled = [{k: v.format(v=value) if k == "value" else v for k, v in item.items()}
                      for item in body]  # fmt: skip
            response = upsert(site, filled)
            answers.append((response.status_code, response.content))
        assert answers[0] == answers[1], body
    assert_untouched(site, secret)


def test_a_writer_may_lower_or_raise_what_it_can_read_but_not_come_back(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "amber.example", tlp=Tlp.AMBER)])
    lowered = upsert(site, [{"type": "domain", "value": "amber.example", "tlp": "clear"}])
    assert lowered.json()["updated"] == 1
    assert site.get("/api/v1/iocs/domain/amber.example", "free").json()["tlp"] == "clear"
    raised = upsert(site, [{"type": "domain", "value": "amber.example", "tlp": "red"}])
    assert raised.json()["updated"] == 1
    again = upsert(site, [{"type": "domain", "value": "amber.example", "tlp": "clear"}])
    assert again.json()["added"] == 1
    assert site.current(ioc(IocType.DOMAIN, "amber.example")).tlp is Tlp.RED
    assert site.get("/api/v1/iocs/domain/amber.example", "enterprise").status_code == 404


def test_an_operator_keeps_full_power(site: Site, secret: Indicator) -> None:
    response = upsert(site, [{"type": "domain", "value": "redsecret.example", "tlp": "clear"}],
                      who="admin")  # fmt: skip
    assert response.json()["updated"] == 1
    assert site.get("/api/v1/iocs/domain/redsecret.example", "free").json()["tlp"] == "clear"


# --- TAXII Add Objects ----------------------------------------------------------------------


def taxii_add(site: Site, value: str, object_id: str, **extra: Any) -> Any:
    obj = stix_indicator(object_id, f"[domain-name:value = '{value}']", **extra)
    response = post(site, [obj])
    assert response.status_code == 202, response.text
    return response


KEPT = "indicator--21111111-2222-4333-8444-{:012d}"  # UUIDv4: kept for a new value
NOT_KEPT = "indicator--21111111-2222-1333-8444-{:012d}"  # UUIDv1: a new value gets a fresh id


@pytest.mark.parametrize(
    "extra",
    [{"object_marking_refs": [CLEAR_MARKING]}, {"revoked": True}, {"labels": ["benign"]}, {}],
    ids=["clear-marking", "revoked", "labels", "plain"],
)
@pytest.mark.parametrize("posted", [KEPT, NOT_KEPT], ids=["uuid4", "uuid1"])
def test_a_taxii_add_above_the_ceiling_changes_nothing_and_reads_as_a_fresh_add(
    site: Site, secret: Indicator, extra: dict[str, Any], posted: str
) -> None:
    hidden = taxii_add(site, "redsecret.example", posted.format(1), **extra)
    fresh = taxii_add(site, "nothere.example", posted.format(2), **extra)
    assert scrubbed(hidden.text) == scrubbed(fresh.text)
    status = hidden.json()
    assert status["success_count"] == 1
    [success] = status["successes"]
    assert success["id"] == posted.format(1)
    assert ("message" in success) is (posted is NOT_KEPT)
    assert "ceiling" not in hidden.text and secret.stix_id not in hidden.text
    # The status kept for the writer says the same.
    kept = ok(get(site, f"{ROOT}status/{status['id']}/", "enterprise"))
    assert kept == status
    assert_untouched(site, secret)
    assert_hidden(site)
    response = get(site, f"{ALL}objects/{secret.stix_id}/", "pro")
    assert response.status_code == 404
    # The object the fresh add stored is read back under the id the status named.
    stored = site.current(ioc(IocType.DOMAIN, "nothere.example"))
    fresh_success = fresh.json()["successes"][0]
    assert stored.stix_id == (fresh_success.get("message") or fresh_success["id"]).split()[-1]
    audit = site.services.audit.recent(2)
    assert [(r.action, r.parameters["withheld"]) for r in audit] == [
        ("taxii.add_objects", 0),
        ("taxii.add_objects", 1),
    ]


def test_a_taxii_add_under_the_hidden_objects_own_id_reads_as_a_fresh_add(
    site: Site, secret: Indicator
) -> None:
    """A key that saw the id while the indicator was readable learns nothing from it now."""
    hidden = taxii_add(site, "redsecret.example", secret.stix_id,
                       object_marking_refs=[CLEAR_MARKING])  # fmt: skip
    fresh = taxii_add(site, "nothere.example", KEPT.format(3), object_marking_refs=[CLEAR_MARKING])
    assert scrubbed(hidden.text) == scrubbed(fresh.text)
    assert hidden.json()["successes"] == [
        {"id": secret.stix_id, "version": "2025-05-01T00:00:00.000Z"}
    ]
    assert_untouched(site, secret)
    assert site.client.get(
        f"{ALL}objects/{secret.stix_id}/", headers={**ACCEPT, **site.headers("free")}
    ).status_code in (403, 404)
