"""Accounts decide what their keys may do, at once: suspension, plan changes, narrowing
(scopes, TLP, expiry, client networks, device keys), each refusal with its own message."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest

from iocfeed.accounts.model import Narrowing
from iocfeed.config import Scope
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.portal.actors import OPERATOR
from tests.web.conftest import NOW, Site

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

EXPORT = "/api/v1/export/stix"


def _key(site: Site, account: str, plan: str, narrowing: Narrowing | None = None) -> str:
    accounts = site.services.accounts
    made = accounts.create(account, plan, OPERATOR)
    return accounts.create_key(made.account_id, f"{account} key", OPERATOR, narrowing).plaintext


def test_me_names_the_account(sqlite_site: Site) -> None:
    key = _key(sqlite_site, "Acme", "pro")
    me = sqlite_site.client.get("/api/v1/me", headers={"X-API-Key": key}).json()
    assert me["account_name"] == "Acme"
    assert me["account_id"] == sqlite_site.services.accounts.named("Acme").account_id
    assert me["plan"] == "pro"


def test_a_suspended_accounts_keys_get_403_saying_so_until_reactivated(site: Site) -> None:
    key = _key(site, "Acme", "pro")
    account = site.services.accounts.named("Acme")
    site.services.accounts.suspend(account.account_id, OPERATOR)
    refused = site.client.get("/api/v1/me", headers={"X-API-Key": key})
    assert refused.status_code == 403
    assert refused.json()["error"] == "account_suspended"
    assert refused.json()["message"].startswith("This account is suspended")
    taxii = site.client.get("/taxii2/api/collections/", headers={"X-API-Key": key})
    assert taxii.status_code == 403
    assert "This account is suspended" in taxii.json()["description"]
    site.services.accounts.activate(account.account_id, OPERATOR)
    assert site.client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200


def test_a_plan_downgrade_takes_read_stix_away_at_once(site: Site) -> None:
    key = _key(site, "Acme", "pro")
    headers = {"X-API-Key": key}
    assert site.client.get(EXPORT, headers=headers).status_code == 200
    account = site.services.accounts.named("Acme")
    site.services.accounts.set_plan(account.account_id, "free", OPERATOR)
    refused = site.client.get(EXPORT, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Requires the Pro plan (read:stix scope)"
    site.services.accounts.set_plan(account.account_id, "pro", OPERATOR)
    assert site.client.get(EXPORT, headers=headers).status_code == 200


def test_a_key_narrowed_to_fewer_scopes_is_told_so(sqlite_site: Site) -> None:
    key = _key(sqlite_site, "Acme", "pro", Narrowing(scopes=frozenset({Scope.READ_IOCS})))
    refused = sqlite_site.client.get(EXPORT, headers={"X-API-Key": key})
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "This key is narrowed: it lacks the read:stix scope of the Pro plan"
    )


def test_a_key_narrowed_to_a_lower_tlp_is_served_only_up_to_it(sqlite_site: Site) -> None:
    sqlite_site.load(
        [
            IndicatorInput(IocType.DOMAIN, "green.example", Confidence.HIGH),  # green
            IndicatorInput(IocType.DOMAIN, "clear.example", Confidence.LOW),  # clear
        ]
    )
    wide = _key(sqlite_site, "Wide", "pro")
    narrow = _key(sqlite_site, "Narrow", "pro", Narrowing(max_tlp=Tlp.CLEAR))

    def values(key: str) -> set[str]:
        body = sqlite_site.client.get("/api/v1/iocs", headers={"X-API-Key": key}).json()
        return {item["value"] for item in body["items"]}

    assert values(wide) == {"green.example", "clear.example"}
    assert values(narrow) == {"clear.example"}
    # Narrowing it further takes effect on the next request; widening past the plan is refused.
    accounts = sqlite_site.services.accounts
    narrow_key = accounts.list_keys(accounts.named("Wide").account_id)[0]
    accounts.narrow_key(narrow_key.key_id, Narrowing(max_tlp=Tlp.CLEAR), OPERATOR)
    assert values(wide) == {"clear.example"}


def test_an_expired_narrowing_makes_the_key_unusable(sqlite_site: Site) -> None:
    key = _key(sqlite_site, "Acme", "pro", Narrowing(expires=NOW + timedelta(days=1)))
    assert sqlite_site.client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    sqlite_site.clock.at = NOW + timedelta(days=2)
    refused = sqlite_site.client.get("/api/v1/me", headers={"X-API-Key": key})
    assert refused.status_code == 401
    assert refused.json()["message"] == "This API key has expired"


def test_a_key_is_refused_outside_its_networks(sqlite_site: Site) -> None:
    key = _key(sqlite_site, "Acme", "pro", Narrowing(networks=("192.0.2.0/24",)))
    app = sqlite_site.client.app
    inside = TestClient(app, client=("192.0.2.7", 40000))
    outside = TestClient(app, client=("198.51.100.7", 40000))
    assert inside.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    refused = outside.get("/api/v1/me", headers={"X-API-Key": key})
    assert refused.status_code == 403
    assert refused.json()["error"] == "network_refused"
    assert "may not be used from 198.51.100.7" in refused.json()["message"]


def test_a_device_key_reads_exports_and_nothing_else(sqlite_site: Site) -> None:
    key = _key(sqlite_site, "Acme", "pro", Narrowing(device=True))
    assert sqlite_site.client.get(EXPORT, headers={"X-API-Key": key}).status_code == 200
    for url in ("/api/v1/iocs", "/api/v1/me", "/taxii2/api/collections/"):
        refused = sqlite_site.client.get(url, headers={"X-API-Key": key})
        assert refused.status_code == 403, url
        assert "device key" in refused.text


@pytest.mark.parametrize(
    ("narrowing", "parameter"),
    [
        (Narrowing(scopes=frozenset({Scope.WRITE_IOCS})), "scopes"),
        (Narrowing(max_tlp=Tlp.RED), "max_tlp"),
        (Narrowing(networks=("not-a-network",)), "networks"),
        (Narrowing(expires=NOW - timedelta(days=1)), "expires"),
    ],
)
def test_a_key_is_never_widened_past_its_plan(
    sqlite_site: Site, narrowing: Narrowing, parameter: str
) -> None:
    from iocfeed.errors import InvalidInput

    accounts = sqlite_site.services.accounts
    account = accounts.create("Acme", "pro", OPERATOR)
    with pytest.raises(InvalidInput) as refused:
        accounts.create_key(account.account_id, "k", OPERATOR, narrowing)
    assert refused.value.parameter == parameter
    assert accounts.list_keys(account.account_id) == []


def test_every_change_is_audited(sqlite_site: Site) -> None:
    from iocfeed.store.audit import AuditFilter

    accounts = sqlite_site.services.accounts
    account = accounts.create("Acme", "pro", OPERATOR)
    made = accounts.create_key(account.account_id, "k", OPERATOR)
    accounts.narrow_key(made.key.key_id, Narrowing(max_tlp=Tlp.GREEN), OPERATOR)
    accounts.set_plan(account.account_id, "free", OPERATOR)
    accounts.suspend(account.account_id, OPERATOR)
    accounts.revoke_key(made.key.key_id, OPERATOR)
    trail = sqlite_site.services.audit.query(AuditFilter(account_id=account.account_id))
    assert [record.action for record in trail] == [
        "keys.revoke",
        "accounts.suspend",
        "accounts.set_plan",
        "keys.narrow",
        "keys.create",
        "accounts.create",
    ]
    by_key = sqlite_site.services.audit.query(AuditFilter(key_id=made.key.key_id))
    assert [record.action for record in by_key] == ["keys.revoke", "keys.narrow", "keys.create"]
