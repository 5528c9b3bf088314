"""``/keys``: the account's API keys. Create (the secret shown once, with a copy button),
list (with last use and last client address), narrow and revoke.

Anyone of the account sees the list; its owners (and site admins) change it. A created
key is shown in the response to the form itself, never stored or redirected with, and the
page is sent ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from iocfeed.accounts.people import Role
from iocfeed.config import Scope
from iocfeed.errors import Forbidden, InvalidInput, NotFound
from iocfeed.indicators.model import Tlp
from iocfeed.portal.accounts import CreatedKey
from iocfeed.portal.actors import Actor
from iocfeed.web.auth import services
from iocfeed.web.pages import csrf
from iocfeed.web.pages.narrowing import read_narrowing
from iocfeed.web.pages.rendering import base_path, render
from iocfeed.web.pages.viewer import SignedIn, Viewer

router = APIRouter(include_in_schema=False)

Checked = Depends(csrf.checked_form)
NOT_OWNER = "Only the account's owners change its keys"


def _may_change(viewer: Viewer) -> bool:
    return viewer.user.role is Role.OWNER or viewer.is_admin


def _page(
    request: Request,
    viewer: Viewer,
    *,
    created: CreatedKey | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    built = services(request)
    keys = built.accounts.list_keys(viewer.account_id)
    rows: list[dict[str, Any]] = [
        {"key": key, "grant": built.accounts.grant(key), "usable": key.is_usable(built.clock.now())}
        for key in reversed(keys)
    ]
    plan = viewer.plan
    return render(
        request,
        "keys.html",
        {
            "rows": rows,
            "created": created,
            "problem": problem,
            "plan_scopes": [scope for scope in Scope.ALL if scope in plan.scopes],
            "tlps": [level.value for level in Tlp if level <= plan.max_tlp],
            "may_change": _may_change(viewer),
        },
        viewer=viewer,
        section="keys",
        status_code=status_code,
    )


@router.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    return _page(request, viewer)


@router.post("/keys", response_class=HTMLResponse, dependencies=[Checked])
def create_key(
    request: Request,
    viewer: SignedIn,
    *,
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    max_tlp: Annotated[str, Form(max_length=20)] = "",
    expires: Annotated[str, Form(max_length=20)] = "",
    networks: Annotated[str, Form(max_length=4000)] = "",
    device: Annotated[bool, Form()] = False,
    narrow: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    if not _may_change(viewer):
        raise Forbidden(NOT_OWNER)
    built = services(request)
    try:
        narrowing = (
            read_narrowing(
                viewer.plan,
                scopes=scopes or [],
                max_tlp=max_tlp,
                expires=expires,
                networks=networks,
                device=device,
            )
            if narrow
            else None
        )
        created = built.accounts.create_key(
            viewer.account_id, name, Actor(user_id=viewer.user.user_id), narrowing
        )
    except InvalidInput as refused:
        return _page(request, viewer, problem=refused.message, status_code=400)
    return _page(request, viewer, created=created, status_code=201)


@router.post("/keys/{key_id}/narrow", response_class=HTMLResponse, dependencies=[Checked])
def narrow_key(
    request: Request,
    viewer: SignedIn,
    key_id: str,
    *,
    scopes: Annotated[list[str] | None, Form()] = None,
    max_tlp: Annotated[str, Form(max_length=20)] = "",
    expires: Annotated[str, Form(max_length=20)] = "",
    networks: Annotated[str, Form(max_length=4000)] = "",
    device: Annotated[bool, Form()] = False,
) -> Response:
    if not _may_change(viewer):
        raise Forbidden(NOT_OWNER)
    built = services(request)
    try:
        narrowing = read_narrowing(
            viewer.plan,
            scopes=scopes or [],
            max_tlp=max_tlp,
            expires=expires,
            networks=networks,
            device=device,
        )
        built.accounts.narrow_key(
            key_id[:64], narrowing, Actor(user_id=viewer.user.user_id), viewer.account_id
        )
    except InvalidInput as refused:
        return _page(request, viewer, problem=refused.message, status_code=400)
    return RedirectResponse(f"{base_path(request)}keys#key-{key_id[:64]}", status_code=303)


@router.post("/keys/{key_id}/revoke", dependencies=[Checked])
def revoke_key(request: Request, viewer: SignedIn, key_id: str) -> Response:
    if not _may_change(viewer):
        raise Forbidden(NOT_OWNER)
    built = services(request)
    try:
        built.accounts.revoke_key(
            key_id[:64], Actor(user_id=viewer.user.user_id), viewer.account_id
        )
    except NotFound as missing:
        return _page(request, viewer, problem=missing.message, status_code=404)
    return RedirectResponse(f"{base_path(request)}keys", status_code=303)
