"""Authentication, scope and rate-limit checks as FastAPI dependencies (SPEC §4).

Order per request: the client address's failed-authentication limit (429), a valid key
(401), then its rate (429), then its scope (403). Counting before the scope check makes
hammering an endpoint one is not allowed cost quota too.

A key may come as ``X-API-Key``, ``Authorization: Bearer <key>`` or ``Token <key>`` (scheme
names in any case), or HTTP Basic with the key as the password (any username) or as the
username with an empty password. ``X-API-Key`` wins over ``Authorization``, so that a
malformed ``Authorization`` header never spoils a valid ``X-API-Key``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery
from fastapi.security.http import HTTPBase

from iocfeed.auth.access import Principal, authenticate, require
from iocfeed.auth.keys import parse_key
from iocfeed.auth.ratelimit import RateDecision
from iocfeed.errors import Forbidden, RateLimited, Unauthenticated
from iocfeed.services import Services
from iocfeed.web.proxy import client_address

query_key = APIKeyQuery(
    name="key",
    auto_error=False,
    description="A device key in the URL, for firewalls and resolvers that send no headers: "
    "accepted on the export downloads only, and only for keys made for devices. Logs mask it.",
)

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Your API key, e.g. `X-API-Key: iocf_…`.",
)

KEY_SCHEMES = frozenset({"bearer", "token"})


class AuthorizationScheme(HTTPBase):
    """Declares an ``Authorization`` scheme in the OpenAPI document; ``presented_key`` parses
    the header (FastAPI's own parsers reject a malformed header before ``X-API-Key`` is read).
    """

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


basic_auth = AuthorizationScheme(
    scheme="basic",
    scheme_name="HTTPBasic",
    auto_error=False,
    description="The API key as password (any username), or as username with an empty "
    "password (for TAXII clients such as Sentinel).",
)
bearer_auth = AuthorizationScheme(
    scheme="bearer",
    scheme_name="HTTPBearer",
    auto_error=False,
    description="`Authorization: Bearer <key>`; `Token <key>` is accepted too.",
)


def services(request: Request) -> Services:
    """The app's services (built once by ``create_app``)."""
    built: Services = request.app.state.services
    return built


async def injected_services(request: Request) -> Services:
    """``services`` as a dependency. The cheap dependencies are ``async``: FastAPI runs a
    plain ``def`` one in its thread pool, a hop that costs more than the work and, under
    load, waits for the interpreter lock behind every page being built."""
    return services(request)


def key_from_authorization(header: str) -> str | None:
    """The key in an ``Authorization`` header value; None for a scheme that carries none.

    Unauthenticated if the header is malformed.
    """
    scheme, _, credentials = header.strip().partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme in KEY_SCHEMES:
        if not credentials or " " in credentials:
            raise Unauthenticated(f"Malformed Authorization header: {scheme} needs one key")
        return credentials
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated(
            "Malformed Authorization header: Basic credentials must be base64 of username:password"
        ) from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthenticated("Malformed Authorization header: Basic credentials lack a ':'")
    return password or username or None


def presented_key(request: Request, api_key: str | None) -> str | None:
    """The key the request presents, by the precedence in the module notes."""
    if api_key:
        return api_key
    header = request.headers.get("Authorization")
    return key_from_authorization(header) if header else None


def rate_headers(decision: RateDecision) -> dict[str, str]:
    """IETF draft ``RateLimit-*`` headers and the common ``X-RateLimit-*`` ones."""
    values = {
        "Limit": str(decision.limit),
        "Remaining": str(decision.remaining),
        "Reset": str(decision.reset_seconds),
    }
    return {
        **{f"RateLimit-{name}": value for name, value in values.items()},
        **{f"X-RateLimit-{name}": value for name, value in values.items()},
    }


def require_scope(scope: str, *, export: bool = False) -> Callable[..., Principal]:
    """A dependency that returns the caller if its key is valid, within rate and has ``scope``.

    ``export`` marks an export route, the only kind a device key may call.
    """

    def dependency(
        request: Request,
        api_key: Annotated[str | None, Depends(api_key_header)],
        _basic: Annotated[None, Depends(basic_auth)],
        _bearer: Annotated[None, Depends(bearer_auth)],
    ) -> Principal:
        return _admit(
            request, presented_key(request, api_key), scope, export=export, from_query=False
        )

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def require_export_scope(scope: str) -> Callable[..., Principal]:
    """As :func:`require_scope`, for the export downloads: a device key may also come as
    the ``key`` query parameter (firewalls and resolvers send no custom headers)."""

    def dependency(
        request: Request,
        api_key: Annotated[str | None, Depends(api_key_header)],
        _basic: Annotated[None, Depends(basic_auth)],
        _bearer: Annotated[None, Depends(bearer_auth)],
        key: Annotated[str | None, Depends(query_key)],
    ) -> Principal:
        presented = presented_key(request, api_key)
        if presented:
            return _admit(request, presented, scope, export=True, from_query=False)
        return _admit(request, key or None, scope, export=True, from_query=True)

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def _admit(
    request: Request, presented: str | None, scope: str, *, export: bool, from_query: bool
) -> Principal:
    """The caller behind ``presented`` if the key is valid, within rate and has ``scope``;
    a device key only on an ``export`` route, and only a device key ``from_query``."""
    built = services(request)
    now = built.clock.now()
    address = client_address(request) or "unknown"
    parsed = parse_key(presented) if presented else None
    built.failed_auth.check(address, now, parsed[0] if parsed else None)
    try:
        principal = authenticate(presented, built.keys, built.settings.plans, now, address)
    except Unauthenticated:
        built.failed_auth.failed(address, now)
        raise
    built.failed_auth.succeeded(principal.key.key_id, now)
    request.state.key_id = principal.key.key_id
    request.state.principal = principal  # for usage metering (``web.usage``)
    decision = built.limiter.hit(principal.key.key_id, principal.plan.requests_per_minute, now)
    if decision is not None:
        request.state.response_headers = rate_headers(decision)
        if not decision.allowed:
            raise RateLimited(
                f"Rate limit of {decision.limit} requests per minute exceeded; "
                f"retry in {decision.reset_seconds} s",
                retry_after=decision.reset_seconds,
                limit=decision.limit,
            )
    if from_query and not principal.grant.device:
        raise Forbidden(
            "A key in the URL (key=) is accepted only for device keys; send this key as "
            "X-API-Key or by HTTP Basic",
            scope=scope,
        )
    require(principal, scope, built.settings.plans, export=export)
    return principal
