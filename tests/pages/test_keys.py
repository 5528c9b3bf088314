"""Keys in the browser: created and shown once, copied, used by a script outside the
browser, narrowed to TLP:GREEN with the next export changing accordingly, and revoked."""

from __future__ import annotations

from typing import Any

from iocfeed.indicators.model import Tlp
from iocfeed.stix.markings import marking_id
from tests.pages.conftest import Portal
from tests.stix.judges import assert_stix_clean

AMBER = marking_id(Tlp.AMBER)
GREEN = marking_id(Tlp.GREEN)


def _create_key(page: Any, portal: Portal, name: str) -> str:
    page.goto(f"{portal.base}/keys")
    page.click("#create summary")
    page.fill("#create-key-form input[name=name]", name)
    page.click("#create-key-form button[type=submit]")
    page.wait_for_selector("#new-key-secret")
    return str(page.inner_text("#new-key-secret")).strip()


def _markings(bundle: dict[str, Any]) -> set[str]:
    return {
        ref
        for obj in bundle["objects"]
        if obj["type"] != "marking-definition"
        for ref in obj.get("object_marking_refs", [])
    }


def test_a_key_is_created_copied_and_downloads_a_valid_export(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    portal.sign_in(page, who)
    shown = _create_key(page, portal, "sentinel-prod")
    portal.screenshot(page, "keys-created")
    assert shown.startswith("iocf_")

    page.click("#copy-key")
    page.wait_for_selector("#copy-status:has-text('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown

    # Shown once: the list has the key, the next visit does not show the secret.
    page.goto(f"{portal.base}/keys")
    assert "sentinel-prod" in page.inner_text("#keys-table")
    assert shown not in page.content()

    with portal.api(copied) as client:
        response = client.get("/api/v1/export/stix", params={"limit": 1000})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert_stix_clean(bundle)
    assert sum(obj["type"] == "indicator" for obj in bundle["objects"]) > 50
    assert AMBER in _markings(bundle)  # the Pro plan reaches TLP:AMBER


def test_a_key_narrowed_to_green_gets_less_at_once(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    portal.sign_in(page, who)
    key = _create_key(page, portal, "narrow-me")
    with portal.api(key) as client:
        before = client.get("/api/v1/export/stix", params={"limit": 1000}).json()
    assert AMBER in _markings(before)

    key_id = key.split("_")[1]
    row = f"#key-{key_id}"
    page.goto(f"{portal.base}/keys")
    page.click(f"#actions-{key_id} summary")
    form = f"#actions-{key_id} form.narrow-form"
    page.select_option(f"{form} select[name=max_tlp]", "green")
    portal.screenshot(page, "keys-narrow")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{row} td.max-tlp:has-text('green')")
    portal.screenshot(page, "keys")

    with portal.api(key) as client:
        after = client.get("/api/v1/export/stix", params={"limit": 1000}).json()
    assert_stix_clean(after)
    assert AMBER not in _markings(after)
    assert GREEN in _markings(after)
    count = sum(obj["type"] == "indicator" for obj in after["objects"])
    assert 0 < count < sum(obj["type"] == "indicator" for obj in before["objects"])


def test_a_revoked_key_is_refused_at_once(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    portal.sign_in(page, who)
    key = _create_key(page, portal, "short-lived")
    key_id = key.split("_")[1]
    page.goto(f"{portal.base}/keys")
    page.click(f"#actions-{key_id} summary")
    page.click(f"#actions-{key_id} form.revoke-form button")
    page.wait_for_selector(f"#key-{key_id} .badge:has-text('revoked')")
    with portal.api(key) as client:
        response = client.get("/api/v1/export/stix", params={"limit": 5})
    assert response.status_code == 401
    assert response.json()["message"] == "This API key has been revoked"


def test_a_member_sees_the_keys_but_cannot_change_them(portal: Portal, page: Any) -> None:
    from iocfeed.accounts.people import Role

    owner = portal.person("pro")
    member = portal.person(role=Role.MEMBER, account=owner.account)
    portal.sign_in(page, member)
    page.goto(f"{portal.base}/keys")
    assert page.locator("#create-key-form").count() == 0
