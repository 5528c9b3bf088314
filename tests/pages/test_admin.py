"""Admin pages in the browser: a downgrade and a suspension take effect on the account's
keys at once; users and reset links; the audit trail's filters; only admins get in."""

from __future__ import annotations

import re
from typing import Any

from iocfeed.accounts.people import SiteRole
from iocfeed.portal.actors import OPERATOR
from tests.pages.conftest import Person, Portal


def _admin(portal: Portal) -> Person:
    return portal.person("admin", site_role=SiteRole.ADMIN)


def _row(account_id: int) -> str:
    return f"#account-{account_id}"


def test_a_downgraded_account_s_key_loses_read_stix_at_once(portal: Portal, page: Any) -> None:
    customer = portal.person("pro")
    key = portal.services.accounts.create_key(customer.account.account_id, "siem", OPERATOR)
    with portal.api(key.plaintext) as client:
        assert client.get("/api/v1/export/stix", params={"limit": 5}).status_code == 200

    portal.sign_in(page, _admin(portal))
    page.goto(f"{portal.base}/admin/accounts")
    row = _row(customer.account.account_id)
    page.select_option(f"{row} select[name=plan]", "free")
    page.click(f"{row} .plan-form button")
    page.wait_for_selector(f"{row} td.plan:has-text('free')")
    portal.screenshot(page, "admin-accounts")

    with portal.api(key.plaintext) as client:
        refused = client.get("/api/v1/export/stix", params={"limit": 5})
        still = client.get("/api/v1/iocs", params={"limit": 5})
    assert refused.status_code == 403
    assert refused.json()["message"] == "Requires the Pro plan (read:stix scope)"
    assert still.status_code == 200  # read:iocs stays on the Free plan


def test_a_suspended_account_s_keys_and_people_are_refused(portal: Portal, page: Any) -> None:
    customer = portal.person("pro")
    key = portal.services.accounts.create_key(customer.account.account_id, "siem", OPERATOR)
    portal.sign_in(page, _admin(portal))
    page.goto(f"{portal.base}/admin/accounts")
    row = _row(customer.account.account_id)
    page.click(f"{row} .status-form button")
    page.wait_for_selector(f"{row} td.status:has-text('suspended')")

    with portal.api(key.plaintext) as client:
        refused = client.get("/taxii2/api/collections/")
    assert refused.status_code == 403
    assert "suspended" in refused.json()["description"]

    # The account's person cannot sign in, and is told why.
    page.click("header button >> text=Sign out")
    page.goto(f"{portal.base}/sign-in")
    page.fill("input[name=email]", customer.email)
    page.fill("input[name=password]", customer.password)
    with page.expect_response(re.compile(r".*/sign-in$")) as answer:
        page.click("button[type=submit] >> text=Sign in")
    assert answer.value.status == 403
    assert "suspended" in page.inner_text("#problem")
    portal.screenshot(page, "sign-in-suspended")

    # Reactivated, the key works again.
    portal.sign_in(page, _admin(portal))
    page.goto(f"{portal.base}/admin/accounts")
    page.click(f"{row} .status-form button")
    page.wait_for_selector(f"{row} td.status:has-text('active')")
    with portal.api(key.plaintext) as client:
        assert client.get("/api/v1/export/stix", params={"limit": 5}).status_code == 200


def test_a_signed_in_person_of_a_suspended_account_is_signed_out(
    portal: Portal, browser: Any
) -> None:
    customer = portal.person("pro")
    page = portal.new_page(browser)
    portal.sign_in(page, customer)
    portal.services.accounts.suspend(customer.account.account_id, OPERATOR)
    page.goto(f"{portal.base}/keys")
    page.wait_for_url(re.compile(r".*/sign-in\?next=%2Fkeys$"))
    page.context.close()


def test_an_admin_creates_an_account_and_a_user_who_sets_a_password_by_reset_link(
    portal: Portal, page: Any, browser: Any
) -> None:
    portal.sign_in(page, _admin(portal))
    page.goto(f"{portal.base}/admin/accounts")
    page.click("#create summary")
    page.fill("#create-account-form input[name=name]", "Contoso SOC")
    page.select_option("#create-account-form select[name=plan]", "enterprise")
    page.click("#create-account-form button[type=submit]")
    page.wait_for_selector("tr[data-account='Contoso SOC']")
    account = portal.services.accounts.named("Contoso SOC")
    assert account.plan == "enterprise"

    page.goto(f"{portal.base}/admin/users")
    page.click("#create summary")
    page.fill("#create-user-form input[name=email]", "analyst@contoso.example")
    page.fill("#create-user-form input[name=password]", "a temporary password 1")
    page.select_option("#create-user-form select[name=account_id]", str(account.account_id))
    page.select_option("#create-user-form select[name=role]", "owner")
    page.click("#create-user-form button[type=submit]")
    row = "tr[data-email='analyst@contoso.example']"
    page.wait_for_selector(row)
    page.click(f"{row} .reset-form button")
    link = page.inner_text("#reset-link")
    assert link.startswith(f"{portal.base}/reset-password/")
    portal.screenshot(page, "admin-users")

    person = portal.new_page(browser)
    person.goto(link)
    portal.screenshot(person, "reset-password")
    person.fill("input[name=password]", "my own new password")
    person.fill("input[name=confirm]", "my own new password")
    person.click("button[type=submit]")
    person.wait_for_selector("#done")
    person.goto(link)  # once only
    assert "unknown, used or expired" in person.inner_text("#problem")
    person.goto(f"{portal.base}/sign-in")
    person.fill("input[name=email]", "analyst@contoso.example")
    person.fill("input[name=password]", "my own new password")
    person.click("button[type=submit] >> text=Sign in")
    person.wait_for_url(re.compile(r".*/overview$"))
    assert "Contoso SOC" in person.inner_text("h1")
    person.context.close()


def test_the_audit_trail_filters_by_account_key_action_and_time(portal: Portal, page: Any) -> None:
    customer = portal.person("pro")
    other = portal.person("pro")
    key = portal.services.accounts.create_key(customer.account.account_id, "audited", OPERATOR)
    portal.services.accounts.create_key(other.account.account_id, "other", OPERATOR)
    with portal.api(key.plaintext) as client:
        assert client.get("/api/v1/export/stix", params={"limit": 3}).status_code == 200

    portal.sign_in(page, _admin(portal))
    page.goto(f"{portal.base}/admin/audit")
    page.select_option("select[name=account]", str(customer.account.account_id))
    page.click("#audit-filters button")
    assert _actions(page) == ["keys.create", "users.create", "accounts.create"]
    portal.screenshot(page, "admin-audit")

    page.select_option("select[name=account]", "")
    page.fill("input[name=key]", key.key.key_id)
    page.click("#audit-filters button")
    assert _actions(page) == ["export.stix", "keys.create"]
    page.fill("input[name=action]", "export.stix")
    page.click("#audit-filters button")
    assert _actions(page) == ["export.stix"]

    page.fill("input[name=since]", "2999-01-01T00:00:00Z")
    page.click("#audit-filters button")
    assert page.locator("tr.audit-row").count() == 0

    page.fill("input[name=since]", "not a time")
    page.click("#audit-filters button")
    assert "since" in page.inner_text("#problem")


def _actions(page: Any) -> list[str]:
    rows = page.locator("tr.audit-row")
    return list(rows.evaluate_all("rows => rows.map(row => row.dataset.action)"))


def test_admin_pages_are_for_site_admins_only(portal: Portal, page: Any) -> None:
    portal.sign_in(page, portal.person("enterprise"))
    for path in ("admin/accounts", "admin/users", "admin/plans", "admin/audit"):
        response = page.goto(f"{portal.base}/{path}")
        assert response.status == 403, path
        assert "site role admin" in page.inner_text("body")
    page.goto(f"{portal.base}/overview")
    assert "Admin" not in page.inner_text("nav.main")


def test_the_plans_table_shows_the_configured_plans(portal: Portal, page: Any) -> None:
    portal.sign_in(page, _admin(portal))
    page.goto(f"{portal.base}/admin/plans")
    text = page.inner_text("#plans-table")
    for name, plan in portal.services.settings.plans.items():
        assert name in text and plan.title in text
    portal.screenshot(page, "admin-plans")
