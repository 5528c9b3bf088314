"""The server-rendered pages: one module per page group, each handler calling one use case.

``install_pages(app)`` adds their routes, the static files (``/static``: the style sheet and
the few scripts, all in the package, nothing from another host) and the redirect of a
visitor to ``/sign-in``. Every form is checked for its CSRF token (``csrf``).
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from iocfeed.web.pages import connect, exports, keys, landing, overview, people
from iocfeed.web.pages.rendering import base_path
from iocfeed.web.pages.viewer import SignInNeeded

ROUTERS = (
    landing.router,
    people.router,
    overview.router,
    keys.router,
    connect.router,
    exports.router,
)


def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return RedirectResponse(f"{base_path(request)}sign-in?next={exc.target}", status_code=303)


def install_pages(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    directory = str(resources.files("iocfeed.web").joinpath("static"))
    app.mount("/static", StaticFiles(directory=directory), name="static")
    app.add_exception_handler(SignInNeeded, _to_sign_in)
