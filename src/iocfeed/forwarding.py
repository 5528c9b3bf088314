"""Pure rules for requests that came through reverse proxies: who sent it, what URL it used.

``resolve`` reads RFC 7239 ``Forwarded`` and the ``X-Forwarded-*`` headers, believing them
only from trusted peers; ``public_parts`` splits a configured ``public_url``. The ASGI side is
``iocfeed.web.proxy``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?")
_PAIR = re.compile(
    r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^;,\"\s]*)\s*([;,]?)"
)


class Origin(NamedTuple):
    """What the request looked like at the nearest trusted hop (None: as received)."""

    client: str | None
    scheme: str | None
    host: str | None
    prefix: str | None


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...] | None:
    """Parsed ``trusted_proxies``; None means every peer (``"*"``). Raises ValueError."""
    entries = list(entries)
    if "*" in entries:
        return None
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def public_parts(url: str) -> tuple[str, str, str]:
    """``https://h.example/p/`` → ``("https", "h.example", "/p")``. Raises ValueError."""
    parts = urlsplit(url.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or not _HOST.fullmatch(parts.netloc)
    ):
        raise ValueError("must be an http or https URL with a host, e.g. https://intel.example")
    if parts.query or parts.fragment or not _PREFIX.fullmatch(parts.path):
        raise ValueError("must have no query or fragment and a plain path prefix")
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def _address(text: str) -> str:
    """A ``for=`` / ``X-Forwarded-For`` node without brackets, quotes or port."""
    node = text.strip().strip('"')
    if node.startswith("["):
        return node[1:].partition("]")[0]
    if node.count(":") == 1:  # IPv4 with a port
        return node.partition(":")[0]
    return node


def _is_trusted(node: str, trusted: tuple[Network, ...] | None) -> bool:
    if trusted is None:
        return True
    try:
        address = ipaddress.ip_address(node)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def parse_forwarded(value: str) -> list[dict[str, str]] | None:
    """RFC 7239 ``Forwarded`` → one dict per element (lower-case keys); None if malformed."""
    elements: list[dict[str, str]] = [{}]
    position = 0
    while position < len(value):
        match = _PAIR.match(value, position)
        if match is None or match.end() == position:
            return None
        key, raw, separator = match.groups()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elements[-1][key.lower()] = raw
        position = match.end()
        if separator == ",":
            elements.append({})
        elif not separator and position < len(value):
            return None
    return [element for element in elements if element]


def _last(header: str | None) -> str | None:
    if header is None:
        return None
    entries = [entry.strip() for entry in header.split(",") if entry.strip()]
    return entries[-1] if entries else None


def resolve(
    peer: str | None, headers: dict[str, str], trusted: tuple[Network, ...] | None
) -> Origin:
    """The client and public origin a request from ``peer`` with ``headers`` stands for."""
    if peer is None or not _is_trusted(peer, trusted):
        return Origin(None, None, None, None)
    forwarded = headers.get("forwarded")
    elements = parse_forwarded(forwarded) if forwarded is not None else None
    if elements:
        hops = [_address(element["for"]) for element in elements if "for" in element]
        nearest = elements[-1]
        scheme, host = nearest.get("proto"), nearest.get("host")
    else:
        forwarded_for = headers.get("x-forwarded-for", "")
        hops = [_address(entry) for entry in forwarded_for.split(",") if entry.strip()]
        scheme = _last(headers.get("x-forwarded-proto"))
        host = _last(headers.get("x-forwarded-host"))
    client = None
    for hop in reversed(hops):
        client = hop
        if not _is_trusted(hop, trusted):
            break
    prefix = _last(headers.get("x-forwarded-prefix"))
    return Origin(
        client,
        scheme.lower() if scheme and scheme.lower() in ("http", "https") else None,
        host if host and _HOST.fullmatch(host) else None,
        prefix.rstrip("/")
        if prefix and prefix.startswith("/") and _PREFIX.fullmatch(prefix)
        else None,
    )
