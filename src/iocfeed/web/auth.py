"""Authentication, scope and rate-limit checks as FastAPI dependencies (SPEC §4).

Order per request: a valid key (401), then its rate (429), then its scope (403). Counting
before the scope check makes hammering an endpoint one is not allowed cost quota too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials

from iocfeed.auth.access import Principal, authenticate, require
from iocfeed.auth.ratelimit import RateDecision
from iocfeed.errors import RateLimited
from iocfeed.services import Services

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Your API key, e.g. `X-API-Key: iocf_…`.",
)
basic_auth = HTTPBasic(
    auto_error=False,
    description="Any username, the API key as password (for TAXII clients such as Sentinel).",
)


def services(request: Request) -> Services:
    """The app's services (built once by ``create_app``)."""
    built: Services = request.app.state.services
    return built


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


def require_scope(scope: str) -> Callable[..., Principal]:
    """A dependency that returns the caller if its key is valid, within rate and has ``scope``."""

    def dependency(
        request: Request,
        api_key: Annotated[str | None, Depends(api_key_header)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(basic_auth)],
    ) -> Principal:
        built = services(request)
        now = built.clock.now()
        presented = api_key or (basic.password if basic is not None else None)
        principal = authenticate(presented, built.keys, built.settings.plans, now)
        request.state.key_id = principal.key.key_id
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
        require(principal, scope, built.settings.plans)
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
