"""Which addresses an outbound request to a subscriber's URL may reach (SPEC §5).

A webhook URL is given by a subscriber, so the server must not be talked into calling
itself, its neighbours or its cloud's metadata service (server-side request forgery). The
rules apply to the address the name resolves to, and the request then goes to that very
address (``worker.guard``), so a name that resolves differently a moment later (DNS
rebinding) changes nothing.

Refused, in this order (the first class that matches names the reason):
cloud metadata services, loopback, unspecified, private (RFC 1918, unique-local),
link-local, carrier-grade NAT (RFC 6598), multicast, reserved, and anything else that is
not globally routable (documentation, benchmarking, 6to4 relays…). IPv4 addresses mapped
or translated into IPv6 (``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``) are judged as the IPv4
address they carry. Networks the operator allows (``webhook_allowed_networks``) are
exempt from every rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance-metadata endpoints: AWS, GCP, Azure, OpenStack, DigitalOcean (169.254.169.254),
# AWS over IPv6 (fd00:ec2::254), Alibaba (100.100.100.200), Oracle (192.0.0.192), Azure's
# WireServer (168.63.129.16, a public address).
METADATA = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "192.0.0.192",
        "168.63.129.16",
    )
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")

RULES: tuple[tuple[str, Callable[[Address], bool]], ...] = (
    ("a cloud metadata address", lambda a: a in METADATA),
    ("a loopback address", lambda a: a.is_loopback),
    ("the unspecified address", lambda a: a.is_unspecified),
    ("a link-local address", lambda a: a.is_link_local),
    ("a carrier-grade NAT address", lambda a: isinstance(a, ipaddress.IPv4Address) and a in CGNAT),
    ("a multicast address", lambda a: a.is_multicast),
    ("a private address", lambda a: a.is_private and not a.is_reserved),
    ("a reserved address", lambda a: a.is_reserved),
    ("not a public address", lambda a: not a.is_global),
)


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """The operator's allowed networks; ValueError naming a bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network: {text!r} ({exc})") from None
    return tuple(networks)


def embedded_ipv4(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped or NAT64), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why a request may not go to ``address`` (words for the subscriber), or None."""
    judged = embedded_ipv4(address)
    if any(address in network or judged in network for network in allowed):
        return None
    for reason, matches in RULES:
        if matches(judged):
            return f"{address} is {reason}"
    return None
