"""The overview shows the plan and this month's usage as the meter counted it: requests per
surface and the last TAXII poll of each collection with the ``added_after`` it used; the
health page shows the store and the limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from iocfeed.accounts.people import SiteRole
from iocfeed.config import DEFAULT_PLANS
from iocfeed.portal.actors import OPERATOR
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from tests.pages.conftest import Portal

TAXII = {"Accept": "application/taxii+json;version=2.1"}


def test_the_overview_shows_the_plan_and_this_month_s_usage(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    key = portal.services.accounts.create_key(who.account.account_id, "sentinel", OPERATOR)
    # Inside the Pro plan's 90-day lookback, so it is the added_after the server uses.
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    with portal.api(key.plaintext) as client:
        for _ in range(2):
            polled = client.get(
                f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/",
                params={"added_after": since, "limit": 20},
                headers=TAXII,
            )
            assert polled.status_code == 200, polled.text
        assert client.get("/api/v1/export/stix", params={"limit": 7}).status_code == 200

    portal.sign_in(page, who)
    facts = page.inner_text("#plan-facts")
    shown = facts.split("Scopes\n", 1)[1].split("\n", 1)[0].split(", ")
    assert shown == sorted(DEFAULT_PLANS["pro"].scopes)
    assert "90 days" in facts and "amber" in facts and "600 requests / minute" in facts
    assert page.inner_text("#usage-surfaces tr[data-surface=taxii] td.requests") == "2"
    assert page.inner_text("#usage-surfaces tr[data-surface=export] td.requests") == "1"
    exported = page.inner_text("#usage-surfaces tr[data-surface=export] td.objects")
    assert int(exported) >= 7
    poll = f"#usage-polls tr[data-collection='{ALL_COLLECTION_ID}']"
    assert page.inner_text(f"{poll} td.added-after") == since
    assert "All indicators" in page.inner_text(poll)
    portal.screenshot(page, "overview")


def test_the_health_page_shows_the_store_and_the_limiter(portal: Portal, page: Any) -> None:
    portal.sign_in(page, portal.person("admin", site_role=SiteRole.ADMIN))
    page.goto(f"{portal.base}/admin/health")
    assert page.inner_text("#limiter-backend") == "database"
    assert page.inner_text("#database-latency").endswith(" ms")
    assert page.inner_text("#store-size").endswith(("KB", "MB"))
    assert "ipv4" in page.inner_text("#indicators-by-type")
    portal.screenshot(page, "admin-health")
