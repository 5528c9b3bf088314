"""Repeated writes above the writer's TLP ceiling (SPEC §4): each writer's withheld loads
merge into its own shadow of the value, so a second, third, ... write answers exactly as it
would for a value that was new and stored, and the TAXII status names the same id each time.

The real indicator never changes and the shadow is never served. Every test runs on SQLite
and PostgreSQL, over HTTP in process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy import event

from iocfeed.indicators.model import Confidence, IocType, Tlp
from tests.factories import ioc
from tests.web.conftest import NOW, Site
from tests.web.test_taxii import ALL, ROOT, get, ok
from tests.web.test_write_ceiling import (
    SECRET,
    assert_hidden,
    assert_untouched,
    scrubbed,
    taxii_add,
    upsert,
)

HIDDEN = "redsecret.example"
FRESH = "fresh.example"


@pytest.fixture
def site(site: Site) -> Site:
    """The site with the RED indicator stored, and a second Enterprise key."""
    site.load([SECRET])
    site.keys["enterprise2"] = site.services.keys.create(
        name="second writer", plan="enterprise", now=NOW
    )[1]
    return site


def named(response: Any) -> str:
    """The id a TAXII status names for the one object posted: kept, or stored/merged as."""
    [success] = response.json()["successes"]
    message = success.get("message") or ""
    return next((word for word in message.split() if "--" in word), success["id"])


def filled(body: list[dict[str, Any]], value: str) -> list[dict[str, Any]]:
    return [{"type": "domain", "value": value, **item} for item in body]


# Requests in order; each is sent for the hidden value and for a fresh one.
SEQUENCE: list[list[dict[str, Any]]] = [
    [{"confidence": "high", "tlp": "clear"}],
    [{"confidence": "high", "tlp": "clear"}],
    [{"confidence": "high", "tlp": "clear", "description": "seen in a phish"}],
    [{"confidence": "high", "tlp": "clear", "description": "seen in a phish"}],
    [{"confidence": "high", "tags": ["apt"]}, {"confidence": "high", "tags": ["apt"]}],
    [{"confidence": "low", "last_seen": "2025-05-31T00:00:00Z"}],
    [{"confidence": "low", "revoked": True}],
    [{"confidence": "low", "revoked": True}],
    [{"confidence": "low"}],
    [{"confidence": "low"}],
]
ANSWERS = [
    (1, 0, 0), (0, 0, 1), (0, 1, 0), (0, 0, 1), (0, 1, 1),
    (0, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (0, 0, 1),
]  # fmt: skip


def test_repeated_upserts_of_a_hidden_value_answer_as_for_a_fresh_one(site: Site) -> None:
    before = site.current(SECRET)
    for body, expected in zip(SEQUENCE, ANSWERS, strict=True):
        hidden = upsert(site, filled(body, HIDDEN))
        fresh = upsert(site, filled(body, FRESH))
        assert hidden.status_code == fresh.status_code == 200
        assert hidden.content == fresh.content, body
        summary = fresh.json()
        assert (summary["added"], summary["updated"], summary["unchanged"]) == expected, body
        assert_untouched(site, before)
    assert_hidden(site)
    # The fresh value was really stored; the hidden one has only its single RED version.
    assert site.current(ioc(IocType.DOMAIN, FRESH)).tlp is None  # low confidence: clear
    real = site.current(SECRET)
    assert (real.tlp, real.last_seen, real.revoked) == (Tlp.RED, before.last_seen, False)


def test_each_writer_has_its_own_shadow(site: Site) -> None:
    item = [{"type": "domain", "value": HIDDEN, "confidence": "high"}]
    assert upsert(site, item).json()["added"] == 1
    assert upsert(site, item).json()["unchanged"] == 1
    # Another key's first write of the value is its first: it knows nothing of the other's.
    assert upsert(site, item, who="enterprise2").json()["added"] == 1
    assert upsert(site, item, who="enterprise2").json()["unchanged"] == 1
    changed = [{**item[0], "description": "second writer's note"}]
    assert upsert(site, changed, who="enterprise2").json()["updated"] == 1
    # The first key's shadow did not take the second key's description.
    assert upsert(site, item).json()["unchanged"] == 1
    assert upsert(site, changed).json()["updated"] == 1
    assert_untouched(site, site.current(SECRET))


def test_a_shadow_is_never_served_and_a_hidden_value_cannot_be_revoked(site: Site) -> None:
    before = site.current(SECRET)
    body = [{"type": "domain", "value": HIDDEN, "tlp": "clear", "description": "mine"}]
    upsert(site, body)
    upsert(site, body)
    shadow_id = named(taxii_add(site, HIDDEN, f"indicator--{uuid.uuid4()}"))
    for who in ("free", "pro", "enterprise", "admin"):
        search = site.get("/api/v1/iocs", who, params={"q": "redsecret"}).json()["items"]
        assert [item["description"] for item in search] == (["red only"] if who == "admin" else [])
    for who in ("pro", "enterprise", "admin"):
        assert get(site, f"{ALL}objects/{shadow_id}/", who).status_code == 404
    assert_hidden(site)
    for _ in range(2):
        deleted = site.client.delete(
            f"/api/v1/iocs/domain/{HIDDEN}", headers=site.headers("enterprise")
        )
        assert deleted.status_code == 404
    assert_untouched(site, before)


@pytest.mark.parametrize("kept", [True, False], ids=["uuid4", "uuid1"])
def test_the_taxii_status_names_the_same_id_on_every_repeat(site: Site, kept: bool) -> None:
    def posted() -> str:
        return f"indicator--{uuid.uuid4() if kept else uuid.uuid1()}"

    before = site.current(SECRET)
    seen: dict[str, set[str]] = {HIDDEN: set(), FRESH: set()}
    extras: list[dict[str, Any]] = [{}, {}, {"description": "changed"}, {"labels": ["x"]}]
    for number, extra in enumerate(extras):
        answers = {}
        for value in (HIDDEN, FRESH):
            response = taxii_add(site, value, posted(), **extra)
            status = response.json()
            [success] = status["successes"]
            seen[value].add(named(response))
            if number:
                merged = f"merged into {named(response)} (this value was already known)"
                assert success["message"] == merged
            assert ok(get(site, f"{ROOT}status/{status['id']}/", "enterprise")) == status
            answers[value] = scrubbed(response.text)
        assert answers[HIDDEN] == answers[FRESH], extra
        assert_untouched(site, before)
    # One id per value, the one the first write answered with, never the real indicator's.
    assert len(seen[HIDDEN]) == len(seen[FRESH]) == 1
    assert before.stix_id not in seen[HIDDEN]
    assert seen[FRESH] == {site.current(ioc(IocType.DOMAIN, FRESH)).stix_id}


def test_rest_and_taxii_writes_of_one_key_share_its_shadow(site: Site) -> None:
    answers = {}
    for value in (HIDDEN, FRESH):
        first = named(taxii_add(site, value, f"indicator--{uuid.uuid4()}"))
        again = upsert(site, [{"type": "domain", "value": value, "description": "x"}])
        same = upsert(site, [{"type": "domain", "value": value, "description": "x"}])
        last = taxii_add(site, value, f"indicator--{uuid.uuid4()}").json()["successes"][0]
        assert last["message"] == f"merged into {first} (this value was already known)"
        answers[value] = (again.content, same.content)
    assert answers[HIDDEN] == answers[FRESH]
    assert [orjson.loads(body)["updated"] for body in answers[HIDDEN]] == [1, 0]


def test_a_shadow_answers_only_while_the_indicator_is_above_the_ceiling(site: Site) -> None:
    """Within the ceiling the writer merges into the real indicator; its shadow lies dormant
    and answers again, from the writer's own earlier withheld writes, once the indicator is
    above the ceiling again."""
    item = {"type": "domain", "value": HIDDEN, "confidence": "high", "description": "mine"}
    assert upsert(site, [item]).json()["added"] == 1
    site.load([ioc(IocType.DOMAIN, HIDDEN, tlp=Tlp.AMBER, confidence=Confidence.HIGH)])
    lowered = site.current(SECRET)
    assert upsert(site, [item]).json()["updated"] == 1  # the real one, whose description differs
    assert site.current(SECRET).description == "mine"
    assert site.current(SECRET).stix_id == lowered.stix_id
    site.load([ioc(IocType.DOMAIN, HIDDEN, tlp=Tlp.RED, description="red again")])
    raised = site.current(SECRET)
    assert upsert(site, [item]).json()["unchanged"] == 1  # from the shadow
    assert site.current(SECRET) == raised


@contextmanager
def statements(site: Site) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs meanwhile."""
    seen: list[str] = []
    engine = site.services.indicators.engine

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_writes_with_nothing_withheld_never_touch_the_shadows(site: Site) -> None:
    upsert(site, [{"type": "domain", "value": HIDDEN}])  # a shadow exists
    body = [{"type": "domain", "value": FRESH}, {"type": "ipv4", "value": "198.51.100.7"}]
    with statements(site) as seen:
        upsert(site, body)
        upsert(site, [{**body[0], "tags": ["x"]}])
        taxii_add(site, "another.example", f"indicator--{uuid.uuid4()}")
    assert seen and not [s for s in seen if "indicator_shadows" in s]
    with statements(site) as seen:
        upsert(site, [*body, {"type": "domain", "value": HIDDEN}])
    assert [s for s in seen if "indicator_shadows" in s]
