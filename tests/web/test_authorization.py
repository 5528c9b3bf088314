"""Who may call what: every endpoint × every kind of caller, in one table (SPEC §4).

The endpoints come from the app's routes, so a new one is covered the day it is added; a
route that declares no scope must be on the public list below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from iocfeed.web.pages import ROUTERS as PAGE_ROUTERS
from tests.web.conftest import BAD_KEYS, PLAN_NAMES, PLANS, Site

PUBLIC = {"/", "/healthz", "/metrics", "/openapi.json", "/docs", "/docs/start.js", "/docs/assets"}
GUARDED = ("/api/v1/", "/taxii2")
# The pages ask for a signed-in person (a session cookie), not a key: without one, a page is
# public or sends the visitor to /sign-in, and every form is refused without its CSRF token.
PAGES = {route.path for router in PAGE_ROUTERS for route in router.routes}
PUBLIC_PAGES = {"/", "/sign-in", "/connect", "/export", "/export/docs", "/reset-password/{token}"}

# The plan each scope's 403 names: the first plan, in the order plans are configured,
# that has the scope.
FIRST_PLAN_WITH = {
    "read:iocs": "Free",
    "read:stix": "Pro",
    "read:taxii": "Pro",
    "write:iocs": "Enterprise",
    "admin:keys": "Admin",
    "admin:sources": "Admin",
    "write:webhooks": "Pro",
    "read:stream": "Pro",
    "admin:warninglists": "Admin",
    "write:sightings": "Pro",
}

# Path parameters filled with well-formed values of things that do not exist.
SAMPLE_PATH = {
    "type": "ipv4",
    "value": "198.51.100.7",
    "key_id": "nosuchkey000",
    "api_root": "api",
    "collection_id": "00000000-0000-4000-8000-000000000000",
    "object_id": "indicator--00000000-0000-4000-8000-000000000000",
    "status_id": "00000000-0000-4000-8000-000000000000",
    "webhook_id": "1",
}
_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")

CALLERS = (*BAD_KEYS, *PLAN_NAMES)
TAXII = "application/taxii+json;version=2.1"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    scope: str

    @property
    def url(self) -> str:
        return _PARAMETER.sub(lambda m: SAMPLE_PATH.get(m.group(1), "x"), self.path)


def declared_scope(dependant: Dependant) -> str | None:
    """The scope a route's ``require_scope`` dependency asks for, if it has one."""
    for dependency in dependant.dependencies:
        name = getattr(dependency.call, "__name__", "")
        if name.startswith("require_"):
            return name.removeprefix("require_").replace("_", ":", 1)
        found = declared_scope(dependency)
        if found is not None:
            return found
    return None


def flat_routes(app: Any) -> Iterator[tuple[str, set[str], BaseRoute]]:
    """Every route with its full path, through included routers (``routing`` helper when
    this FastAPI has one, else the plain route list)."""
    iterate = getattr(routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            yield route.path, set(getattr(route, "methods", None) or ()), route
        return
    for context in iterate(app.routes):
        yield context.path, set(context.methods or ()), context.original_route


def endpoints(site: Site) -> Iterator[Endpoint]:
    for path, methods, route in flat_routes(site.client.app):
        scope = declared_scope(route.dependant) if isinstance(route, APIRoute) else None
        if path in PAGES or path == "/static":
            continue
        if scope is None:
            assert path in PUBLIC, f"{path} declares no scope and is not public"
            continue
        assert path.startswith(GUARDED), f"{path} is outside /api/v1 and /taxii2"
        for method in sorted(methods - {"HEAD"}):
            yield Endpoint(method, path, scope)


def expected(endpoint: Endpoint, caller: str) -> str:
    """``401``, ``403`` or ``ok`` (any answer that is not about authorisation)."""
    if caller in BAD_KEYS:
        return "401"
    return "ok" if endpoint.scope in PLANS[caller].scopes else "403"


def observed(site: Site, endpoint: Endpoint, caller: str) -> str:
    headers = site.headers(caller)
    body = None
    if endpoint.method in {"POST", "PUT", "PATCH"}:
        body = b"[]"
        headers["Content-Type"] = "application/json"
    if endpoint.path.startswith("/taxii2"):  # well-formed TAXII requests, so only auth is tested
        headers["Accept"] = headers["Content-Type"] = TAXII
        body = b'{"objects": []}' if body is not None else None
    response = site.client.request(endpoint.method, endpoint.url, headers=headers, content=body)
    if response.status_code == 429:  # the caller's minute is used up: ask again in the next
        site.clock.advance(minutes=1)
        response = site.client.request(endpoint.method, endpoint.url, headers=headers, content=body)
    status = response.status_code
    if status >= 500:
        return f"{status} (server error)"
    if status == 401:
        return "401" if "WWW-Authenticate" in response.headers else "401 without WWW-Authenticate"
    if status == 403:
        body = response.json()
        message = body.get("message") or body.get("description")
        wanted = f"Requires the {FIRST_PLAN_WITH[endpoint.scope]} plan ({endpoint.scope} scope)"
        return "403" if message == wanted else f"403 saying {message!r}"
    return "ok"


def test_every_endpoint_against_every_caller(sqlite_site: Site) -> None:
    table = list(endpoints(sqlite_site))
    paths = {(e.method, e.path) for e in table}
    assert {
        ("GET", "/api/v1/iocs"),
        ("POST", "/api/v1/iocs"),
        ("GET", "/api/v1/iocs/{type}/{value:path}"),
        ("DELETE", "/api/v1/iocs/{type}/{value:path}"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/keys"),
        ("POST", "/api/v1/keys"),
        ("DELETE", "/api/v1/keys/{key_id}"),
    } <= paths

    mismatches = [
        f"{endpoint.method} {endpoint.url} as {caller}: expected {want}, got {got}"
        for endpoint in table
        for caller in CALLERS
        if (want := expected(endpoint, caller)) != (got := observed(sqlite_site, endpoint, caller))
    ]
    assert mismatches == []


def test_every_page_is_public_or_asks_for_a_session(sqlite_site: Site) -> None:
    client = sqlite_site.client
    for path, methods, _ in flat_routes(client.app):
        if path not in PAGES:
            continue
        url = _PARAMETER.sub(lambda m: SAMPLE_PATH.get(m.group(1), "x"), path)
        if "GET" in methods:
            got = client.get(url, follow_redirects=False)
            if path in PUBLIC_PAGES:
                assert got.status_code in (200, 404), (path, got.status_code)
            else:
                assert got.status_code == 303, (path, got.status_code)
                assert "/sign-in?next=" in got.headers["location"], path
        if "POST" in methods:
            refused = client.post(url, data={}, follow_redirects=False)
            assert refused.status_code == 403, (path, refused.status_code)


def test_basic_auth_password_is_accepted_as_the_key(sqlite_site: Site) -> None:
    key = sqlite_site.keys["free"]
    assert sqlite_site.client.get("/api/v1/me", auth=("anyone", key)).status_code == 200
    wrong = sqlite_site.client.get("/api/v1/me", auth=("anyone", key[:-1] + "x"))
    assert wrong.status_code == 401
