"""An httpx transport for URLs that subscribers give: resolve, check, connect to what was checked.

Each request's host is resolved here (``getaddrinfo``); the first address that
``push.addresses`` allows is the one the request is sent to: the URL is rewritten to that
address, the ``Host`` header keeps the name, and TLS is negotiated with the name (SNI and
certificate checks, httpcore's ``sni_hostname``). Resolving once and connecting to the
answer leaves no window for DNS rebinding. Connections are not kept alive between requests
(each is negotiated for its own name). A host with no allowed address is refused with
the reason for its first address. Redirects are never followed (the client is built with
``follow_redirects=False`` and a 3xx is a failed delivery).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Sequence

import httpx

from iocfeed.push.addresses import Address, Network, refusal


class Refused(httpx.TransportError):
    """The URL's host resolves only to addresses the rules refuse (or does not resolve)."""


def resolve(host: str, port: int) -> list[Address]:
    """The addresses ``host`` resolves to, in the resolver's order; Refused if none."""
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(host)]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:  # gaierror, a NUL, a long label
        raise Refused(f"{host[:100]} does not resolve ({exc})") from None
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise Refused(f"{host[:100]} does not resolve")
    return found


def checked_address(host: str, port: int, allowed: Sequence[Network]) -> Address:
    """The address a request to ``host`` goes to; Refused with the reason if none may."""
    addresses = resolve(host, port)
    for address in addresses:
        if refusal(address, allowed) is None:
            return address
    raise Refused(f"refused: {host[:100]}: {refusal(addresses[0], allowed)}")


class GuardedTransport(httpx.BaseTransport):
    """Sends each request to the checked address of its host (module notes)."""

    def __init__(self, allowed: Sequence[Network]) -> None:
        self.allowed = tuple(allowed)
        # No kept-alive connections: the pool knows a connection by its address, so a kept
        # TLS connection made for one name would be reused for another name on that address.
        self._inner = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise Refused(f"refused: scheme {url.scheme!r} (only http and https)")
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        address = checked_address(host, port, self.allowed)
        request.url = url.copy_with(host=str(address))
        request.headers["Host"] = url.netloc.decode("ascii")
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def guarded_client(allowed: Sequence[Network], timeout: float) -> httpx.Client:
    """A client for subscribers' URLs: guarded, no redirects, no proxies from the
    environment (a proxy would connect to the name itself)."""
    return httpx.Client(
        transport=GuardedTransport(allowed),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
