"""The pages' cookies: the session and the CSRF binding, with the flags a browser needs.

Both are HttpOnly and SameSite=Lax, on path ``/``. Over https (as the request arrived, or
as a trusted proxy says it did: ``web.proxy``) they are also Secure and named with the
``__Host-`` prefix, which tells the browser to accept them only from this host over TLS
with no ``Domain``; over plain http (a laptop, the tests) the prefix cannot be used, so
they go by their bare names.
"""

from __future__ import annotations

from fastapi import Request, Response

SESSION = "iocfeed_session"
BINDING = "iocfeed_csrf"
HOST_PREFIX = "__Host-"


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, name: str) -> str:
    return HOST_PREFIX + name if is_secure(request) else name


def read_cookie(request: Request, name: str) -> str | None:
    """The cookie ``name`` under the name this request's scheme gives it."""
    return request.cookies.get(cookie_name(request, name)) or None


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A session cookie (no Max-Age: the store decides how long a session lasts)."""
    response.set_cookie(
        cookie_name(request, name),
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        cookie_name(request, name),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
