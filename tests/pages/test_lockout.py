"""Repeated wrong passwords are slowed, then locked, as the sign-in page shows them.

A server of its own, with small numbers: the first failure is free, the second and third
each cost a wait (one second, then two), and the fourth locks the person for 900 seconds.
A locked person is refused even with the right password until the lock ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.pages.conftest import Person, Portal, _chromium_or_skip, start_portal


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    _chromium_or_skip()
    yield from start_portal(
        tmp_path_factory.mktemp("lockout"),
        sign_in_free_failures=2,
        sign_in_first_delay_seconds=1.0,
        sign_in_lock_failures=4,
        sign_in_lock_seconds=900.0,
    )


def _try(page: Any, who: Person, password: str) -> tuple[int, str]:
    page.goto(f"{page.url.split('/sign-in')[0]}/sign-in")
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", password)
    with page.expect_response(re.compile(r".*/sign-in$")) as answer:
        page.click("button[type=submit] >> text=Sign in")
    problem = page.inner_text("#problem") if page.locator("#problem").count() else ""
    return answer.value.status, problem


def _wait(problem: str) -> int:
    found = re.search(r"try again in (\d+) s", problem)
    assert found is not None, problem
    return int(found[1])


def test_wrong_passwords_are_slowed_then_locked(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    page.goto(f"{portal.base}/sign-in")
    assert _try(page, who, "wrong 1") == (401, "Wrong e-mail or password")
    status, problem = _try(page, who, "wrong 2")
    # Past the free allowance: each failure now costs a wait.
    assert status == 429
    assert problem.startswith("Wrong e-mail or password. Too many failed sign-ins")
    assert _wait(problem) == 1

    # Inside the wait even the right password is refused, before it is checked.
    status, problem = _try(page, who, who.password)
    assert status == 429
    assert problem.startswith("Too many failed sign-ins") and _wait(problem) <= 1
    portal.screenshot(page, "sign-in-slowed")

    time.sleep(1.2)
    status, problem = _try(page, who, "wrong 3")
    assert status == 429 and _wait(problem) == 2
    time.sleep(2.2)
    status, problem = _try(page, who, "wrong 4")
    assert status == 429 and _wait(problem) == 900  # locked

    time.sleep(1)
    status, problem = _try(page, who, who.password)
    assert status == 429
    assert 800 < _wait(problem) < 900
    portal.screenshot(page, "sign-in-locked")


def test_another_person_is_not_locked_by_someone_else_s_failures(portal: Portal, page: Any) -> None:
    victim = portal.person("pro")
    bystander = portal.person("pro")
    page.goto(f"{portal.base}/sign-in")
    for attempt in range(2):
        _try(page, victim, f"wrong {attempt}")
    portal.sign_in(page, bystander)
    page.wait_for_url(re.compile(r".*/overview$"))
