"""The real app on a loopback port and Debian's Chromium driven by Playwright.

Playwright's own browser download cannot work on these machines, so the tests launch
``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it when missing).
Without it the browser tests skip saying so, and fail instead when ``CI`` is set.

Every page a test visits is recorded: ``Portal.visit`` saves a screenshot at 390 and 1280
pixels wide under ``test-output/pages/`` (git-ignored) and every request the browser makes
is kept, so that one test can assert that no page asks another host for anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from iocfeed.accounts.model import Account
from iocfeed.accounts.people import Role, SiteRole, User
from iocfeed.config import Settings
from iocfeed.demo import generate
from iocfeed.portal.actors import OPERATOR
from iocfeed.services import Services
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from iocfeed.web.app import create_app
from tests.conformance.conftest import serving
from tests.conftest import sqlite_url

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (390, 1280)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "pages"
PASSWORD = "correct horse battery staple"
INDICATORS = 300

# Fast password hashing (the argon2 minimums) and address limits that the many sign-ins of
# a test module, all from 127.0.0.1, never reach; the lockout test sets its own.
TEST_SETTINGS: dict[str, Any] = {
    "expiry_sweep_seconds": 0,
    "access_log": False,
    "failed_auth_per_minute": 0,
    "password_hash_memory_kib": 8192,
    "password_hash_time_cost": 1,
    "sign_in_address_free_failures": 10_000,
    "sign_in_address_lock_failures": 10_000,
}


def _chromium_or_skip() -> None:
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium (/usr/bin/chromium) is required in CI")
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Person:
    user: User
    account: Account
    email: str
    password: str = PASSWORD


@dataclass
class Portal:
    """The served app, its services, and what the browser asked for."""

    base: str
    services: Services
    requests: list[str] = field(default_factory=list)
    _made: int = 0

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def account(self, plan: str, *, name: str | None = None) -> Account:
        self._made += 1
        return self.services.accounts.create(name or f"org-{plan}-{self._made}", plan, OPERATOR)

    def person(
        self,
        plan: str = "pro",
        *,
        role: Role = Role.OWNER,
        site_role: SiteRole = SiteRole.NONE,
        account: Account | None = None,
    ) -> Person:
        """A new person (their own account on ``plan`` unless one is given)."""
        account = account or self.account(plan)
        self._made += 1
        email = f"person{self._made}@{account.name}.example"
        user = self.services.people.create_user(
            email, PASSWORD, account.account_id, role=role, site_role=site_role
        )
        return Person(user, account, email)

    def new_page(self, browser: Any, *, width: int = 1280) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": 900}, accept_downloads=True
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.base)
        page = context.new_page()
        page.on("request", lambda request: self.requests.append(request.url))
        return page

    def sign_in(self, page: Any, who: Person) -> None:
        page.goto(f"{self.base}/sign-in")
        page.fill("input[name=email]", who.email)
        page.fill("input[name=password]", who.password)
        page.click("button[type=submit] >> text=Sign in")
        page.wait_for_url(re.compile(r".*/overview$"))

    def screenshot(self, page: Any, name: str) -> None:
        """The page as it is now, at both widths, full length."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size(size)

    def api(self, key: str) -> httpx.Client:
        """An HTTP client outside the browser, authenticating with ``key``."""
        return httpx.Client(base_url=self.base, headers={"X-API-Key": key}, timeout=30)


def start_portal(directory: Path, **settings: Any) -> Iterator[Portal]:
    url = sqlite_url(directory)
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, **{**TEST_SETTINGS, **settings}))
    built: Services = app.state.services
    now = datetime.now(UTC)
    demo = generate(INDICATORS, seed=7, now=now)
    for hours in range(3):
        built.indicators.write(list(islice(demo, INDICATORS // 3)), now - timedelta(hours=hours))
    with serving(app) as base:
        yield Portal(base, built)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """One served app per test module; tests make their own accounts and people in it."""
    _chromium_or_skip()
    yield from start_portal(tmp_path_factory.mktemp("portal"))


@pytest.fixture
def page(portal: Portal, browser: Any) -> Iterator[Any]:
    opened = portal.new_page(browser)
    yield opened
    opened.context.close()
