"""Who is looking at a page: the signed-in person behind the session cookie, if any.

``optional_viewer`` answers None for a visitor; ``signed_in`` sends a visitor to
``/sign-in`` (and back afterwards); ``site_admin`` refuses anyone but a site admin (403).
The person is read from the store on every request (``People.current_user``), so a
suspension, a disabled user or a role change applies to the next page. A person whose
account is suspended is treated as signed out, with a notice saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from iocfeed.accounts.people import User
from iocfeed.config import Plan
from iocfeed.errors import AccountSuspended, Forbidden
from iocfeed.web.auth import services
from iocfeed.web.pages.cookies import SESSION, read_cookie
from iocfeed.web.proxy import client_address


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the pages need to know of the signed-in person."""

    user: User
    account_id: int
    account_name: str
    plan_name: str
    plan: Plan
    session: str

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


class SignInNeeded(Exception):
    """A page that needs a signed-in person was asked for by a visitor."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def optional_viewer(request: Request) -> Viewer | None:
    token = read_cookie(request, SESSION)
    if token is None:
        return None
    built = services(request)
    try:
        person = built.people.current_user(token, built.clock.now(), client_address(request))
    except AccountSuspended as suspended:
        request.state.notice = suspended.message
        return None
    if person is None:
        return None
    return Viewer(
        user=person.user,
        account_id=person.account.account_id,
        account_name=person.account.name,
        plan_name=person.account.plan,
        plan=built.accounts.plan(person.account.plan),
        session=token,
    )


def signed_in(
    viewer: Annotated[Viewer | None, Depends(optional_viewer)], request: Request
) -> Viewer:
    if viewer is None:
        query = f"?{request.url.query}" if request.url.query else ""
        target = request.url.path.removeprefix(request.scope.get("root_path", "")) + query
        raise SignInNeeded(quote(target, safe=""))
    return viewer


def site_admin(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    if not viewer.is_admin:
        raise Forbidden("This page is for the service's administrators (site role admin)")
    return viewer


MaybeViewer = Annotated[Viewer | None, Depends(optional_viewer)]
SignedIn = Annotated[Viewer, Depends(signed_in)]
SiteAdmin = Annotated[Viewer, Depends(site_admin)]
