"""The address a request came from and the base URL the server advertises, behind proxies.

Every absolute URL iocfeed hands out (TAXII discovery ``api_roots``, ``next`` links, the
landing page) is built from the request's scheme, ``Host`` and root path. This middleware sets
those before anything else runs:

* ``public_url`` configured (``https://intel.example.org/feeds``): its scheme, host and path
  prefix, whatever the request says.
* otherwise, when the connecting peer is in ``trusted_proxies``: the nearest proxy's
  ``Forwarded`` (RFC 7239: ``proto``, ``host``) or ``X-Forwarded-Proto`` /
  ``X-Forwarded-Host``, and ``X-Forwarded-Prefix``. A list takes its last (nearest) entry.
* otherwise the request as received. Forwarding headers from any other peer are ignored.

The client address (``request.client``, used by the access log and by per-address limits)
is found by walking ``Forwarded: for=`` (or ``X-Forwarded-For``) from the nearest hop back,
while hops are trusted proxies: the first untrusted hop is the client. ``client_address``
reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from iocfeed.forwarding import public_parts, resolve, trusted_networks


class ProxyMiddleware:
    """Rewrites the ASGI scope (client, scheme, ``Host``, root path) as described above."""

    def __init__(
        self, app: ASGIApp, *, public_url: str | None, trusted_proxies: Sequence[str]
    ) -> None:
        self.app = app
        self.public = public_parts(public_url) if public_url else None
        self.trusted = trusted_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = (scope.get("client") or (None, 0))[0]
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _READ
        }
        origin = resolve(peer, headers, self.trusted)
        if origin.client is not None:
            scope["client"] = (origin.client, 0)
        scheme, host, prefix = origin.scheme, origin.host, origin.prefix
        if self.public is not None:
            scheme, host, prefix = self.public
        if scheme is not None:
            scope["scheme"] = scheme
        if host is not None:
            scope["headers"] = [
                *((n, v) for n, v in scope["headers"] if n != b"host"),
                (b"host", host.encode("latin-1")),
            ]
        if prefix:
            scope["root_path"] = prefix + scope.get("root_path", "")
            scope["path"] = prefix + scope["path"]
            if scope.get("raw_path") is not None:
                scope["raw_path"] = prefix.encode("latin-1") + scope["raw_path"]
        await self.app(scope, receive, send)


_READ = frozenset(
    {
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-prefix",
    }
)


def client_address(connection: HTTPConnection) -> str:
    """The client's address as resolved through trusted proxies ("" when unknown)."""
    return connection.client.host if connection.client else ""
