"""The admin pages (site role admin): accounts (create, change plan, suspend, reactivate),
users (create, one-time reset link) and the plans table.

Lists are keyset-paged by name (accounts) and e-mail (users): ``after`` is the last one
shown. Every change goes through the same use cases as ``iocfeed accounts`` and ``iocfeed
users``, recorded in the audit trail with the admin who made it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from iocfeed.accounts.people import Role, SiteRole
from iocfeed.errors import Conflict, InvalidInput, NotFound
from iocfeed.portal.actors import Actor
from iocfeed.web.auth import services
from iocfeed.web.pages import csrf
from iocfeed.web.pages.rendering import base_path, public_base, render
from iocfeed.web.pages.viewer import SiteAdmin, Viewer

router = APIRouter(include_in_schema=False)

Checked = Depends(csrf.checked_form)
PAGE = 100
Refusal = (InvalidInput, Conflict, NotFound)


def _actor(viewer: Viewer) -> Actor:
    return Actor(user_id=viewer.user.user_id)


def _accounts_page(
    request: Request,
    viewer: Viewer,
    *,
    after: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    built = services(request)
    accounts = built.accounts.list_accounts(after=after, limit=PAGE + 1)
    return render(
        request,
        "admin_accounts.html",
        {
            "accounts": accounts[:PAGE],
            "more": accounts[PAGE - 1].name if len(accounts) > PAGE else None,
            "plans": list(built.settings.plans),
            "problem": problem,
        },
        viewer=viewer,
        section="admin",
        status_code=status_code,
    )


@router.get("/admin", response_class=HTMLResponse)
@router.get("/admin/accounts", response_class=HTMLResponse)
def accounts(request: Request, viewer: SiteAdmin, after: str | None = None) -> HTMLResponse:
    return _accounts_page(request, viewer, after=after)


@router.post("/admin/accounts", response_class=HTMLResponse, dependencies=[Checked])
def create_account(
    request: Request,
    viewer: SiteAdmin,
    name: Annotated[str, Form(max_length=200)] = "",
    plan: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        services(request).accounts.create(name, plan, _actor(viewer))
    except (InvalidInput, Conflict) as refused:
        return _accounts_page(request, viewer, problem=refused.message, status_code=400)
    return RedirectResponse(f"{base_path(request)}admin/accounts", status_code=303)


@router.post(
    "/admin/accounts/{account_id}/plan", response_class=HTMLResponse, dependencies=[Checked]
)
def set_plan(
    request: Request,
    viewer: SiteAdmin,
    account_id: int,
    plan: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        services(request).accounts.set_plan(account_id, plan, _actor(viewer))
    except (InvalidInput, NotFound) as refused:
        return _accounts_page(request, viewer, problem=refused.message, status_code=400)
    return RedirectResponse(
        f"{base_path(request)}admin/accounts#account-{account_id}", status_code=303
    )


@router.post(
    "/admin/accounts/{account_id}/status", response_class=HTMLResponse, dependencies=[Checked]
)
def set_status(
    request: Request,
    viewer: SiteAdmin,
    account_id: int,
    status: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    built = services(request)
    try:
        if status == "suspended":
            built.accounts.suspend(account_id, _actor(viewer))
        elif status == "active":
            built.accounts.activate(account_id, _actor(viewer))
        else:
            raise InvalidInput("status must be active or suspended", parameter="status")
    except (InvalidInput, NotFound) as refused:
        return _accounts_page(request, viewer, problem=refused.message, status_code=400)
    return RedirectResponse(
        f"{base_path(request)}admin/accounts#account-{account_id}", status_code=303
    )


def _users_page(
    request: Request,
    viewer: Viewer,
    *,
    after: str | None = None,
    problem: str | None = None,
    reset: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    built = services(request)
    users = built.people.list_users(after=after, limit=PAGE + 1)
    accounts = built.accounts.list_accounts(limit=1000)
    return render(
        request,
        "admin_users.html",
        {
            "users": users[:PAGE],
            "more": users[PAGE - 1].email if len(users) > PAGE else None,
            "accounts": accounts,
            "account_names": {account.account_id: account.name for account in accounts},
            "roles": [role.value for role in Role],
            "site_roles": [role.value for role in SiteRole],
            "problem": problem,
            "reset": reset,
        },
        viewer=viewer,
        section="admin",
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, viewer: SiteAdmin, after: str | None = None) -> HTMLResponse:
    return _users_page(request, viewer, after=after)


@router.post("/admin/users", response_class=HTMLResponse, dependencies=[Checked])
def create_user(
    request: Request,
    viewer: SiteAdmin,
    *,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    account_id: Annotated[int, Form()] = 0,
    role: Annotated[str, Form(max_length=20)] = Role.MEMBER.value,
    site_role: Annotated[str, Form(max_length=20)] = SiteRole.NONE.value,
) -> Response:
    try:
        services(request).people.create_user(
            email,
            password,
            account_id,
            role=_role(role),
            site_role=_site_role(site_role),
            actor=_actor(viewer),
        )
    except Refusal as refused:
        return _users_page(request, viewer, problem=refused.message, status_code=400)
    return RedirectResponse(f"{base_path(request)}admin/users", status_code=303)


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise InvalidInput("role must be owner or member", parameter="role") from None


def _site_role(text: str) -> SiteRole:
    try:
        return SiteRole(text)
    except ValueError:
        raise InvalidInput(
            "site role must be admin, analyst or none", parameter="site_role"
        ) from None


@router.post("/admin/users/{user_id}/reset", response_class=HTMLResponse, dependencies=[Checked])
def reset_link(request: Request, viewer: SiteAdmin, user_id: int) -> HTMLResponse:
    built = services(request)
    try:
        user = built.people.user(user_id)
        path = built.people.create_reset_link(user_id, _actor(viewer))
    except NotFound as missing:
        return _users_page(request, viewer, problem=missing.message, status_code=404)
    link = public_base(request) + path
    return _users_page(request, viewer, reset={"email": user.email, "link": link}, status_code=201)


@router.get("/admin/plans", response_class=HTMLResponse)
def plans(request: Request, viewer: SiteAdmin) -> HTMLResponse:
    return render(
        request,
        "admin_plans.html",
        {"plans": list(services(request).settings.plans.items())},
        viewer=viewer,
        section="admin",
    )
