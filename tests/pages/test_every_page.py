"""Every page, as a visitor, a subscriber and an admin: no request to another host, a
screenshot at 390 and 1280 pixels (light and dark), nothing wider than a 390-pixel screen,
text contrast of at least 4.5:1 (WCAG AA) in both colour schemes, and a sign-in done with
the keyboard alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from iocfeed.accounts.people import SiteRole
from iocfeed.portal.actors import OPERATOR
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from tests.pages.conftest import Person, Portal

PUBLIC = ("", "sign-in", "connect", "export", "export/docs")
SUBSCRIBER = ("overview", "keys", "connect", "export?type=ipv4&limit=5", "export/docs")
ADMIN = ("admin/accounts", "admin/users", "admin/plans", "admin/audit", "admin/health")

# Each element's text colour against the first opaque background behind it.
_COLOURS = """() => {
  const out = [];
  const opaque = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.endsWith(", 0)") && bg !== "transparent") return bg;
    }
    return getComputedStyle(document.documentElement).backgroundColor;
  };
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const shown = el.offsetParent !== null || el.tagName === "BODY";
    if (!own || !shown || el.closest("[hidden]")) continue;
    const name = el.tagName + (el.className ? "." + el.className : "");
    out.push([name, getComputedStyle(el).color, opaque(el)]);
  }
  return out;
}"""


def _channels(colour: str) -> tuple[float, float, float]:
    numbers = [float(part) for part in re.findall(r"[\d.]+", colour)[:3]]
    return numbers[0], numbers[1], numbers[2]


def _luminance(colour: str) -> float:
    def linear(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(value) for value in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.fixture(scope="module")
def people(portal: Portal) -> dict[str, Person]:
    """A subscriber with a key that has been used, and an admin."""
    subscriber = portal.person("pro")
    key = portal.services.accounts.create_key(subscriber.account.account_id, "siem", OPERATOR)
    with portal.api(key.plaintext) as client:
        client.get(
            f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/",
            params={"limit": 5},
            headers={"Accept": "application/taxii+json;version=2.1"},
        )
    return {"subscriber": subscriber, "admin": portal.person("admin", site_role=SiteRole.ADMIN)}


def _pages(who: str) -> tuple[str, ...]:
    return {"visitor": PUBLIC, "subscriber": SUBSCRIBER, "admin": SUBSCRIBER + ADMIN}[who]


def _name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.split("?")[0]).strip("-") or "landing"


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def schemed_page(portal: Portal, browser: Any, scheme: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.on("request", lambda request: portal.requests.append(request.url))
    yield page
    context.close()


@pytest.mark.parametrize("who", ["visitor", "subscriber", "admin"])
def test_every_page_stays_on_this_host_reads_well_and_is_saved(
    portal: Portal, people: dict[str, Person], schemed_page: Any, scheme: str, who: str
) -> None:
    page = schemed_page
    if who != "visitor":
        portal.sign_in(page, people[who])
    portal.requests.clear()
    low: list[str] = []
    narrow: list[str] = []
    for path in _pages(who):
        response = page.goto(f"{portal.base}/{path}")
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        if who != "admin" or path.startswith("admin"):  # the subscriber's pages once
            suffix = "" if scheme == "light" else "-dark"
            prefix = "subscriber-" if who == "subscriber" else ""
            portal.screenshot(page, f"{prefix}{_name(path)}{suffix}")
        page.set_viewport_size({"width": 390, "height": 900})
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > 390:
            narrow.append(f"{path}: {wide} px wide at 390")
        page.set_viewport_size({"width": 1280, "height": 900})
        for element, foreground, background in page.evaluate(_COLOURS):
            ratio = contrast(foreground, background)
            if ratio < 4.5:
                low.append(f"{path} {element}: {foreground} on {background} = {ratio:.2f}")
    assert low == []
    assert narrow == []  # tables scroll inside their frame; the page itself never does
    hosts = {urlsplit(url).netloc for url in portal.requests if not url.startswith("data:")}
    assert hosts == {portal.host}, sorted(portal.requests)
    assert any(url.endswith("/static/site.css") for url in portal.requests)


def test_signing_in_with_the_keyboard_alone(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    page.goto(f"{portal.base}/sign-in")
    # The e-mail field has the focus on arrival.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'email'")
    page.keyboard.type(who.email)
    page.keyboard.press("Tab")
    page.keyboard.type(who.password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/overview$"))
    # The first Tab reaches the skip link, which moves to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
