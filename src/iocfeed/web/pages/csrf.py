"""CSRF protection for every form: a signed token tied to the browser and its session.

Theory of operation
-------------------
Each browser gets a random *binding* value in a cookie of its own (HttpOnly, SameSite=Lax,
``__Host-`` and Secure over https), set by the first page it loads. The token a form
carries is HMAC-SHA256 over that binding and the session cookie's value, under a server
key. A POST is accepted only when its ``csrf_token`` field equals the token recomputed from
the cookies it came with (compared in constant time): another site can make a browser send
the cookies but can neither read them nor the token, and a token made for one session is
worthless in another, so signing in or out (a new session value) retires every token handed
out before.

The key is the ``secret_key`` setting when set, else a secret made once and kept in the
store (``store.secrets``), so every worker and host accept each other's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from typing import Annotated

from fastapi import Form, Request

from iocfeed.errors import Forbidden
from iocfeed.store.secrets import shared_secret
from iocfeed.web.auth import services
from iocfeed.web.pages.cookies import BINDING, SESSION, read_cookie

FIELD = "csrf_token"
STORED_SECRET = "csrf_key"  # noqa: S105 (a row name, not a secret)
REFUSED = (
    "This form's CSRF token is missing or does not match your session: "
    "reload the page and submit it again"
)

_lock = threading.Lock()


def _key(request: Request) -> bytes:
    state = request.app.state
    with _lock:
        key: bytes | None = getattr(state, "csrf_key", None)
        if key is None:
            built = services(request)
            configured = built.settings.secret_key
            secret = (
                configured.get_secret_value().encode("utf-8")
                if configured is not None
                else shared_secret(built.engine, STORED_SECRET)
            )
            # A key of its own, even when derived from the shared secret_key.
            key = hmac.new(secret, b"iocfeed csrf", hashlib.sha256).digest()
            state.csrf_key = key
        return key


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def token_for(request: Request, binding: str, session: str | None) -> str:
    """The token forms carry for this browser ``binding`` and ``session`` value."""
    message = f"{binding}\x00{session or ''}".encode()
    digest = hmac.new(_key(request), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check(request: Request, presented: str) -> None:
    """Forbidden unless ``presented`` is the token for the request's own cookies."""
    binding = read_cookie(request, BINDING)
    if not binding or not presented:
        raise Forbidden(REFUSED)
    expected = token_for(request, binding, read_cookie(request, SESSION))
    if not hmac.compare_digest(expected.encode("ascii"), presented.encode("utf-8", "replace")):
        raise Forbidden(REFUSED)


def checked_form(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """A dependency for every POST handler of the pages: refuses a form without its token."""
    check(request, csrf_token)
