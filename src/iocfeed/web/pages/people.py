"""Signing in and out, and the one-time password reset link (``/reset-password/<token>``).

``/sign-in`` is a form with inputs named ``email`` and ``password`` (SPEC §7) and an
optional one-time code. The use case (``People.sign_in``) decides, slows and locks; this
module only shows its answer: a refused sign-in re-renders the form with the message and
the status of the error table (401, 403 for a suspended account, 429 with ``Retry-After``
while locked). A successful one sets the session cookie and a fresh CSRF binding, and
goes to the page asked for before (a local path only) or the overview.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from iocfeed.errors import (
    AccountSuspended,
    InvalidInput,
    SecondFactorNeeded,
    SignInLocked,
    SignInRefused,
)
from iocfeed.portal.people import RESET_PATH
from iocfeed.web.auth import services
from iocfeed.web.pages import csrf
from iocfeed.web.pages.cookies import BINDING, SESSION, clear_cookie, read_cookie, set_cookie
from iocfeed.web.pages.rendering import base_path, render
from iocfeed.web.pages.viewer import MaybeViewer
from iocfeed.web.proxy import client_address

router = APIRouter(include_in_schema=False)

Checked = Depends(csrf.checked_form)
HOME = "overview"


def _local(target: str | None) -> str:
    """``next`` if it is a path on this site (never another host), else the overview."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target.lstrip("/")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, viewer: MaybeViewer, next: str | None = None) -> Response:
    if viewer is not None:
        return RedirectResponse(base_path(request) + _local(next), status_code=303)
    return render(
        request,
        "sign_in.html",
        {"next": next or "", "email": "", "problem": None, "needs_code": False},
    )


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Checked])
def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    built = services(request)
    try:
        signed = built.people.sign_in(email, password, code or None, client_address(request))
    except (SignInRefused, AccountSuspended, InvalidInput) as refused:
        status, headers = _status(refused)
        page = render(
            request,
            "sign_in.html",
            {
                "next": next,
                "email": email,
                "problem": refused.message,
                "needs_code": isinstance(refused, SecondFactorNeeded),
            },
            status_code=status,
        )
        page.headers.update(headers)
        return page
    response = RedirectResponse(base_path(request) + _local(next), status_code=303)
    set_cookie(request, response, SESSION, signed.token)
    set_cookie(request, response, BINDING, csrf.new_binding())
    return response


def _status(refused: SignInRefused | AccountSuspended | InvalidInput) -> tuple[int, dict[str, str]]:
    if isinstance(refused, SignInLocked):
        return 429, {"Retry-After": str(refused.retry_after)}
    if isinstance(refused, AccountSuspended):
        return 403, {}
    if isinstance(refused, InvalidInput):
        return 400, {}
    return 401, {}


@router.post("/sign-out", dependencies=[Checked])
def sign_out(request: Request) -> Response:
    token = read_cookie(request, SESSION)
    if token is not None:
        services(request).people.sign_out(token)
    response = RedirectResponse(base_path(request) + "sign-in", status_code=303)
    clear_cookie(request, response, SESSION)
    set_cookie(request, response, BINDING, csrf.new_binding())
    return response


@router.get(RESET_PATH + "/{token}", response_class=HTMLResponse)
def reset_form(request: Request, token: str) -> HTMLResponse:
    person = services(request).people.reset_link_user(token)
    return render(
        request,
        "reset_password.html",
        {"token": token, "person": person, "problem": None, "done": False},
        status_code=200 if person is not None else 404,
    )


@router.post(RESET_PATH + "/{token}", response_class=HTMLResponse, dependencies=[Checked])
def reset(
    request: Request,
    token: str,
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    built = services(request)
    person = built.people.reset_link_user(token)
    problem = None
    if password != confirm:
        problem = "The two passwords differ"
    else:
        try:
            person = built.people.consume_reset_link(token, password)
        except (SignInRefused, InvalidInput) as refused:
            problem = refused.message
    return render(
        request,
        "reset_password.html",
        {"token": token, "person": person, "problem": problem, "done": problem is None},
        status_code=200 if problem is None else 400,
    )
