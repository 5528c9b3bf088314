"""Signing in and out in the browser, the session cookie's flags and CSRF on every form."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.pages.conftest import Portal

SECURE_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "intel.example.org"}


def _problem(page: Any) -> str:
    return str(page.inner_text("#problem"))


def test_a_wrong_password_is_refused_then_the_right_one_signs_in(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    page.goto(f"{portal.base}/sign-in")
    portal.screenshot(page, "sign-in")
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", "not the password at all")
    page.click("button[type=submit] >> text=Sign in")
    assert _problem(page) == "Wrong e-mail or password"
    assert page.url.endswith("/sign-in")
    portal.screenshot(page, "sign-in-refused")

    page.fill("input[name=password]", who.password)
    page.click("button[type=submit] >> text=Sign in")
    page.wait_for_url(re.compile(r".*/overview$"))
    assert who.email in page.inner_text("header")
    assert "Pro" in page.inner_text("#plan-facts") or "read:stix" in page.inner_text("#plan-facts")

    page.click("header button >> text=Sign out")
    page.wait_for_url(re.compile(r".*/sign-in$"))
    page.goto(f"{portal.base}/keys")
    page.wait_for_url(re.compile(r".*/sign-in\?next=%2Fkeys$"))


def test_a_page_that_needs_a_person_sends_a_visitor_to_sign_in_and_back(
    portal: Portal, page: Any
) -> None:
    who = portal.person("pro")
    page.goto(f"{portal.base}/keys")
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", who.password)
    page.click("button[type=submit] >> text=Sign in")
    page.wait_for_url(re.compile(r".*/keys$"))


def test_the_session_cookie_is_httponly_and_samesite(portal: Portal, page: Any) -> None:
    portal.sign_in(page, portal.person("pro"))
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies["iocfeed_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["secure"] is False  # plain http on loopback: no Secure, no __Host-
    assert session["path"] == "/"
    assert cookies["iocfeed_csrf"]["httpOnly"] is True
    # Scripts on the page cannot read either.
    assert page.evaluate("document.cookie") == ""


def test_behind_tls_the_cookies_are_secure_with_the_host_prefix(portal: Portal) -> None:
    """A trusted proxy (loopback) says the request came over https."""
    who = portal.person("pro")
    with httpx.Client(base_url=portal.base, headers=SECURE_PROXY) as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        assert "__Host-iocfeed_csrf=" in form.headers["set-cookie"]
        signed = client.post(
            "/sign-in",
            data={"email": who.email, "password": who.password, "csrf_token": token[1]},
            # A Secure cookie is not sent back over plain http by a client; the proxy
            # would have received it over https.
            headers={"Cookie": f"__Host-iocfeed_csrf={form.cookies['__Host-iocfeed_csrf']}"},
        )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/overview"  # a path: never another host
    session = next(
        value
        for value in signed.headers.get_list("set-cookie")
        if value.startswith("__Host-iocfeed_session=")
    )
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "secure", "path=/", "samesite=lax"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)


def test_a_form_posted_without_its_csrf_token_is_refused(portal: Portal, page: Any) -> None:
    who = portal.person("pro")
    page.goto(f"{portal.base}/sign-in")
    # The sign-in form without its token: refused before the password is looked at.
    page.eval_on_selector("input[name=csrf_token]", "input => input.remove()")
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", who.password)
    with page.expect_response(re.compile(r".*/sign-in$")) as answer:
        page.click("button[type=submit] >> text=Sign in")
    assert answer.value.status == 403
    assert "CSRF token" in answer.value.json()["message"]

    # Signed in, a key form with a token from another session is refused too.
    portal.sign_in(page, who)
    page.goto(f"{portal.base}/keys")
    page.eval_on_selector(
        "#create-key-form input[name=csrf_token]", "input => { input.value = 'forged' }"
    )
    page.click("#create summary")
    page.fill("#create-key-form input[name=name]", "should-not-exist")
    with page.expect_response(re.compile(r".*/keys$")) as answer:
        page.click("#create-key-form button[type=submit]")
    assert answer.value.status == 403
    assert portal.services.accounts.list_keys(who.account.account_id) == []


def test_a_token_from_before_sign_in_is_worthless_after_it(portal: Portal) -> None:
    """The token is bound to the session: one handed out to a visitor cannot post as them."""
    who = portal.person("pro")
    with httpx.Client(base_url=portal.base) as client:
        form = client.get("/sign-in")
        before = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert before is not None
        signed = client.post(
            "/sign-in",
            data={"email": who.email, "password": who.password, "csrf_token": before[1]},
        )
        assert signed.status_code == 303
        stale = client.post("/keys", data={"name": "x", "csrf_token": before[1]})
        assert stale.status_code == 403
        fresh = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/keys").text)
        assert fresh is not None
        made = client.post("/keys", data={"name": "made", "csrf_token": fresh[1]})
        assert made.status_code == 201
    assert [key.name for key in portal.services.accounts.list_keys(who.account.account_id)] == [
        "made"
    ]
