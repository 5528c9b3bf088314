"""Webhooks over HTTP: scope, ownership, the secret shown once, URL checks, test deliveries
to a real receiver, and the delivery log after the worker's pass."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iocfeed.indicators.model import IndicatorInput, IocType
from iocfeed.worker.loop import Worker
from tests.conftest import sqlite_url
from tests.web.conftest import Site, migrated, start_site
from tests.worker.conftest import LOOPBACK, Receiver, receiver_fixture

__all__ = ["receiver_fixture"]


@pytest.fixture
def hooks_site(database_url: str) -> Iterator[Site]:
    yield from start_site(database_url, webhook_allowed_networks=LOOPBACK)


def create(site: Site, url: str, who: str = "pro", **body: object) -> dict[str, object]:
    answer = site.client.post(
        "/api/v1/webhooks", headers=site.headers(who), json={"url": url, **body}
    )
    assert answer.status_code == 201, answer.text
    made: dict[str, object] = answer.json()
    return made


def test_create_list_test_deliver_and_delete(hooks_site: Site, receiver: Receiver) -> None:
    site = hooks_site
    made = create(site, f"{receiver.base}/hook", events=["created", "revoked"])
    assert str(made["secret"]).startswith("whsec_")
    assert made["events"] == ["created", "revoked"]
    assert made["enabled"] is True
    receiver.secret = str(made["secret"])
    listed = site.get("/api/v1/webhooks", "pro").json()["items"]
    assert [item["id"] for item in listed] == [made["id"]]
    assert "secret" not in listed[0]

    ping = site.client.post(f"/api/v1/webhooks/{made['id']}/test", headers=site.headers("pro"))
    assert ping.json() == {"delivered": True, "response_status": 204, "error": None}
    assert receiver.accepted == [receiver.accepted[0]]
    assert receiver.accepted[0]["events"] == []

    site.load([IndicatorInput(type=IocType.DOMAIN, value="hooked.example")])
    dispatcher = Worker(site.services).dispatcher
    try:
        dispatcher.run_due()
    finally:
        dispatcher.close()
    assert [e["indicator"]["value"] for e in receiver.accepted[1]["events"]] == ["hooked.example"]
    log = site.get(f"/api/v1/webhooks/{made['id']}/deliveries", "pro").json()
    assert [(d["status"], d["attempts"], d["events"]) for d in log["items"]] == [
        ("delivered", 1, 1)
    ]
    assert log["next_before"] is None

    gone = site.client.delete(f"/api/v1/webhooks/{made['id']}", headers=site.headers("pro"))
    assert gone.status_code == 200
    assert site.get(f"/api/v1/webhooks/{made['id']}", "pro").status_code == 404


def test_webhooks_belong_to_their_owner(hooks_site: Site, receiver: Receiver) -> None:
    made = create(hooks_site, f"{receiver.base}/hook")
    for path in ("", "/deliveries"):
        answer = hooks_site.get(f"/api/v1/webhooks/{made['id']}{path}", "enterprise")
        assert answer.status_code == 404
    assert hooks_site.get("/api/v1/webhooks", "enterprise").json() == {"items": []}
    deleted = hooks_site.client.delete(
        f"/api/v1/webhooks/{made['id']}", headers=hooks_site.headers("enterprise")
    )
    assert deleted.status_code == 404


def test_free_plan_lacks_the_scope(hooks_site: Site) -> None:
    answer = hooks_site.client.post(
        "/api/v1/webhooks", headers=hooks_site.headers("free"), json={"url": "http://127.0.0.1/"}
    )
    assert answer.status_code == 403
    assert answer.json()["message"] == "Requires the Pro plan (write:webhooks scope)"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://127.0.0.1/", "http or https"),
        ("http:///nohost", "http or https"),
        ("http://user:pw@127.0.0.1/", "credentials"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.0.0.1/", "private"),
        ("http://[::1]:8080/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://nowhere.invalid/", "does not resolve"),
    ],
)
def test_urls_that_are_refused(tmp_path: object, url: str, words: str) -> None:
    for site in start_site(migrated(sqlite_url(tmp_path))):  # type: ignore[arg-type]
        answer = site.client.post(
            "/api/v1/webhooks", headers=site.headers("pro"), json={"url": url}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["parameter"] == "url"
        assert words in answer.json()["message"]


def test_bad_events_and_bodies(hooks_site: Site) -> None:
    answer = hooks_site.client.post(
        "/api/v1/webhooks",
        headers=hooks_site.headers("pro"),
        json={"url": "http://127.0.0.1/", "events": ["deleted"]},
    )
    assert answer.status_code == 400
    assert answer.json()["parameter"] == "events"
    answer = hooks_site.client.post(
        "/api/v1/webhooks", headers=hooks_site.headers("pro"), json={"address": "x"}
    )
    assert answer.status_code == 422


def test_at_most_so_many_per_owner(tmp_path: object) -> None:
    for site in start_site(
        migrated(sqlite_url(tmp_path)),  # type: ignore[arg-type]
        webhook_allowed_networks=LOOPBACK,
        webhooks_per_account=2,
    ):
        create(site, "http://127.0.0.1:9/a")
        create(site, "http://127.0.0.1:9/b")
        answer = site.client.post(
            "/api/v1/webhooks", headers=site.headers("pro"), json={"url": "http://127.0.0.1:9/c"}
        )
        assert answer.status_code == 400
        assert "at most 2 webhooks" in answer.json()["message"]
