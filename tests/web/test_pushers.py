"""Pushers over HTTP: admin only, the client secret never shown back, runs with their
per-record errors readable, bad settings named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iocfeed.indicators.model import IndicatorInput, IocType
from tests.web.conftest import Site, start_site
from tests.worker.test_sentinel import (
    CLIENT,
    SECRET,
    TENANT,
    WORKSPACE,
    SentinelStandIn,
    stand_in_fixture,
)

__all__ = ["stand_in_fixture"]

BODY = {
    "name": "sentinel-prod",
    "tenant_id": TENANT,
    "client_id": CLIENT,
    "client_secret": SECRET,
    "workspace_id": WORKSPACE,
    "source_system": "iocfeed-test",
    "max_tlp": "amber",
}


@pytest.fixture
def pushing(database_url: str, stand_in: tuple[SentinelStandIn, str]) -> Iterator[Site]:
    _sentinel, base = stand_in
    yield from start_site(database_url, sentinel_login_url=base, sentinel_api_url=base)


def test_add_show_run_delete_without_echoing_the_secret(
    pushing: Site, stand_in: tuple[SentinelStandIn, str]
) -> None:
    sentinel, _base = stand_in
    made = pushing.client.post("/api/v1/pushers", headers=pushing.headers("admin"), json=BODY)
    assert made.status_code == 201, made.text
    assert SECRET not in made.text
    assert made.json()["client_secret"] == "(set; never shown)"
    pushing.load(
        [IndicatorInput(type=IocType.EMAIL, value="x@example.com")]
        + [IndicatorInput(type=IocType.DOMAIN, value=f"h{n}.example") for n in range(3)]
    )
    ran = pushing.client.post(
        "/api/v1/pushers/sentinel-prod/run", headers=pushing.headers("admin")
    ).json()
    assert (ran["outcome"], ran["uploaded"], ran["rejected"]) == ("partial", 3, 1)
    assert ran["record_errors"][0]["messages"] == [
        "Error for Property=pattern: email-addr is not supported."
    ]
    shown = pushing.get("/api/v1/pushers/sentinel-prod", "admin")
    assert SECRET not in shown.text
    assert shown.json()["runs"][0]["id"] == ran["id"]
    listed = pushing.get("/api/v1/pushers", "admin")
    assert SECRET not in listed.text
    assert len(sentinel.received) == 3
    gone = pushing.client.delete("/api/v1/pushers/sentinel-prod", headers=pushing.headers("admin"))
    assert gone.status_code == 200
    assert pushing.get("/api/v1/pushers/sentinel-prod", "admin").status_code == 404


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"source_system": "Microsoft Sentinel"}, "source_system"),
        ({"name": "bad name!"}, "name"),
        ({"interval": 1}, "interval"),
    ],
)
def test_bad_settings_are_named(pushing: Site, change: dict[str, object], parameter: str) -> None:
    answer = pushing.client.post(
        "/api/v1/pushers", headers=pushing.headers("admin"), json={**BODY, **change}
    )
    assert answer.status_code == 400
    assert answer.json()["parameter"] == parameter


def test_only_admins(pushing: Site) -> None:
    answer = pushing.client.post(
        "/api/v1/pushers", headers=pushing.headers("enterprise"), json=BODY
    )
    assert answer.status_code == 403
    assert pushing.get("/api/v1/pushers", "pro").status_code == 403
