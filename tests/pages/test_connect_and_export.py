"""``/connect`` lists the collections the TAXII API lists; the export builder's URL, preview
and download; the export documentation page."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from iocfeed.sources.model import NewSource, SourceKind
from iocfeed.store.audit import AuditFilter
from tests.pages.conftest import Portal, start_portal
from tests.stix.judges import assert_stix_clean

TAXII = {"Accept": "application/taxii+json;version=2.1"}


def test_connect_shows_exactly_the_collections_the_taxii_api_lists(
    portal: Portal, page: Any
) -> None:
    who = portal.person("pro")
    key = portal.services.accounts.create_key(who.account.account_id, "taxii", _operator())
    with portal.api(key.plaintext) as client:
        listed = client.get(
            "/taxii2/api/collections/", headers={"Accept": "application/taxii+json;version=2.1"}
        )
    assert listed.status_code == 200, listed.text
    expected = [(c["id"], c["title"]) for c in listed.json()["collections"]]

    portal.sign_in(page, who)
    page.goto(f"{portal.base}/connect")
    shown = list(
        zip(
            page.locator("#collection-table .collection-id").all_inner_texts(),
            page.locator("#collection-table .collection-title").all_inner_texts(),
            strict=True,
        )
    )
    assert shown == expected
    api_root = page.inner_text("#api-root")
    assert api_root == f"{portal.base}/taxii2/api/"
    assert f'Server("{portal.base}/taxii2/"' in page.inner_text("#taxii2-snippet")
    assert "90 days" in page.inner_text(
        "section[aria-labelledby=endpoints]"
    )  # the Pro plan's lookback
    portal.screenshot(page, "connect")

    # The API root the page gives is the one discovery advertises.
    with portal.api(key.plaintext) as client:
        discovery = client.get("/taxii2/", headers={"Accept": "application/taxii+json;version=2.1"})
    assert discovery.json()["default"] == api_root


def test_the_export_builder_shows_the_url_a_preview_and_a_download_that_validates(
    portal: Portal, page: Any
) -> None:
    who = portal.person("pro")
    portal.sign_in(page, who)
    page.goto(f"{portal.base}/export")
    page.check("input[name=type][value=domain]")
    page.check("input[name=type][value=url]")
    page.fill("input[name=limit]", "40")
    page.select_option("select[name=tlp]", "amber+strict")
    page.select_option("select[name=include_observables]", "true")
    page.click("#export-form button[type=submit]")
    page.wait_for_selector("#preview")
    portal.screenshot(page, "export-builder")

    url = page.inner_text("#api-url")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == portal.base
    assert parts.path == "/api/v1/export/stix"
    assert sorted(parse_qsl(parts.query)) == [
        ("include_observables", "true"),
        ("limit", "40"),
        ("tlp", "amber+strict"),
        ("type", "domain"),
        ("type", "url"),
    ]
    assert page.inner_text("#curl") == (
        f"curl -H \"X-API-Key: $IOCFEED_KEY\" --compressed -o iocfeed.json '{url}'"
    )
    preview = orjson.loads(page.inner_text("#preview"))
    assert preview[0]["type"] == "identity"
    assert any(obj["type"] == "indicator" for obj in preview)

    with page.expect_download() as waiting:
        page.click("#download")
    download = waiting.value
    assert download.suggested_filename.startswith("iocfeed-")
    bundle = orjson.loads(Path(download.path()).read_bytes())
    assert_stix_clean(bundle)
    indicators = [obj for obj in bundle["objects"] if obj["type"] == "indicator"]
    assert 0 < len(indicators) <= 40
    assert all(obj["pattern"].startswith(("[domain-name:", "[url:")) for obj in indicators), (
        "only the types asked for"
    )
    assert any(obj["type"] == "observed-data" for obj in bundle["objects"])
    # The download is in the audit trail as the person's, with what was asked (written
    # just after the body is sent).
    wanted = AuditFilter(account_id=who.account.account_id, action="export.stix")
    deadline = time.monotonic() + 10
    while not (records := portal.services.audit.query(wanted)) and time.monotonic() < deadline:
        time.sleep(0.05)
    [record] = records
    assert record.user_id == who.user.user_id
    assert record.result_count == len(indicators)
    assert record.parameters["type"] == ["domain", "url"]


def test_the_export_builder_names_a_parameter_it_cannot_use(portal: Portal, page: Any) -> None:
    page.goto(f"{portal.base}/export?limit=5000")
    assert page.inner_text("#problem") == "limit must be at most 1000, got 5000"
    page.goto(f"{portal.base}/export?since=yesterday")
    assert page.inner_text("#problem").startswith("since: cannot read 'yesterday'")
    # A visitor sees the URL and curl, and is asked to sign in for a preview.
    assert page.locator("#download").count() == 0
    assert "Sign in" in page.inner_text("main")


def test_the_export_documentation_page_lists_every_parameter(portal: Portal, page: Any) -> None:
    page.goto(f"{portal.base}/export/docs")
    portal.screenshot(page, "export-docs")
    text = page.inner_text("main")
    for name in (
        "type",
        "since",
        "limit",
        "format",
        "include_identity",
        "include_markings",
        "tlp",
        "include_observables",
        "tlp_version",
        "source",
    ):
        assert page.locator(f"#p-{name}").count() == 1, name
    assert "Requires the Pro plan (read:stix scope)" in text
    assert "X-Effective-Since" in text


def _operator() -> Any:
    from iocfeed.portal.actors import OPERATOR

    return OPERATOR


def test_connect_lists_per_source_collections_when_the_api_does(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With ``taxii_collection_per_source`` each enabled source adds a collection: the page
    lists the same ones (no browser needed to read the HTML)."""
    for portal in start_portal(
        tmp_path_factory.mktemp("sources"), taxii_collection_per_source=True
    ):
        now = portal.services.clock.now()
        portal.services.sources.add(
            NewSource("urlhaus", SourceKind.URLHAUS, "https://feeds.example/"), now
        )
        who = portal.person("pro")
        key = portal.services.accounts.create_key(who.account.account_id, "t", _operator())
        with portal.api(key.plaintext) as client:
            listed = client.get("/taxii2/api/collections/", headers=TAXII).json()["collections"]
            page = client.get("/connect").text
        ids = [collection["id"] for collection in listed]
        assert len(ids) == 14  # all, eleven types, submissions, and the source's
        shown = re.findall(r'<code class="collection-id">([^<]+)</code>', page)
        assert shown == ids
