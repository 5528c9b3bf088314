"""``rpz``: a DNS Response Policy Zone (BIND, Unbound, PowerDNS Recursor).

Each domain gets ``name CNAME .`` and ``*.name CNAME .`` (NXDOMAIN for the name and every
name below it); each IP or network gets an ``rpz-ip`` trigger (``<prefix>.<reversed
address>.rpz-ip CNAME .``: answers containing it become NXDOMAIN; IPv6 writes the longest
run of zero groups as ``zz``). Owner names are relative to the zone (an absolute name is
out-of-zone data that resolvers ignore). The zone has ``$TTL``, an SOA whose serial is the
newest ``date_added`` in epoch seconds, so it grows with the data, and one NS, as
``named-checkzone`` requires.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import IocType
from iocfeed.outputs.listing import Entry, Listing, chunked, epoch_seconds

TYPES = frozenset({IocType.DOMAIN, IocType.IPV4, IocType.IPV6})

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class ZoneSettings:
    """The zone's name and timers (seconds); refresh is how often resolvers re-fetch it."""

    name: str = "rpz.iocfeed.local"
    ttl: int = 300
    refresh: int = 3600
    retry: int = 600
    expire: int = 604800
    minimum: int = 300


def parse_zone(raw: str | None, default: str) -> str:
    """``zone``: the RPZ zone's name, as the resolver's configuration names it."""
    name = (raw or default).strip().rstrip(".").lower()
    labels = name.split(".")
    if (
        not name
        or len(name) > 200
        or any(not label or len(label) > 63 or set(label) - _LABEL_CHARS for label in labels)
    ):
        raise InvalidQuery(
            f"zone must be a DNS name of letters, digits and hyphens, got {(raw or '')[:64]!r}",
            parameter="zone",
        )
    return name


def serial(listing: Listing) -> int:
    """The SOA serial: the newest ``date_added`` in epoch seconds (1 for an empty zone)."""
    return epoch_seconds(listing.newest) if listing.newest is not None else 1


def soa(listing: Listing, zone: ZoneSettings) -> list[str]:
    return [
        f"$TTL {zone.ttl}",
        f"@ IN SOA localhost. hostmaster.{zone.name}. ("
        f" {serial(listing)} {zone.refresh} {zone.retry} {zone.expire} {zone.minimum} )",
        "@ IN NS localhost.",
    ]


def ip_trigger(value: str) -> str:
    """The ``rpz-ip`` owner name of an address or network (RPZ draft §4.2).

    A stored single address is canonical (dotted quad, or compressed lower-case IPv6), so it
    is reversed without parsing: most of a zone's triggers, where ``ipaddress`` would cost
    several times the rest of the zone. Networks and IPv4-in-IPv6 forms are parsed.
    """
    if "/" not in value and ":" not in value:
        return f"32.{'.'.join(reversed(value.split('.')))}.rpz-ip"
    if "/" not in value and "." not in value:
        head, compressed, tail = value.partition("::")
        left = head.split(":") if head else []
        right = tail.split(":") if tail else []
        zeros = ["0"] * (8 - len(left) - len(right)) if compressed else []
        return _ipv6_trigger(128, [*left, *zeros, *right])
    network = ipaddress.ip_network(value, strict=False)
    if network.version == 4:
        parts = reversed(str(network.network_address).split("."))
        return f"{network.prefixlen}.{'.'.join(parts)}.rpz-ip"
    return _ipv6_trigger(network.prefixlen, network.network_address.exploded.split(":"))


def _ipv6_trigger(prefix: int, groups: list[str]) -> str:
    """Eight hextets → the owner name: leading zeros dropped, the longest run of zero groups
    written ``zz``, groups in reverse order."""
    groups = [group.lstrip("0") or "0" for group in groups]
    start, length = _longest_zero_run(groups)
    if length > 1:
        groups = [*groups[:start], "zz", *groups[start + length :]]
    return f"{prefix}.{'.'.join(reversed(groups))}.rpz-ip"


def _longest_zero_run(groups: list[str]) -> tuple[int, int]:
    best = (0, 0)
    start = None
    for index, group in enumerate([*groups, "end"]):
        if group == "0":
            start = index if start is None else start
            continue
        if start is not None and index - start > best[1]:
            best = (start, index - start)
        start = None
    return best


def records(indicator: Entry, zone: str) -> list[str]:
    """The policy records of one indicator; none for a name too long to sit under the zone
    (a DNS name is at most 253 characters)."""
    if indicator.type == IocType.DOMAIN:
        if len(indicator.value) + len(zone) + 3 > 253:
            return []
        return [f"{indicator.value} CNAME .", f"*.{indicator.value} CNAME ."]
    return [f"{ip_trigger(indicator.value)} CNAME ."]


def render(indicators: Iterable[Entry], listing: Listing, zone: ZoneSettings) -> Iterator[bytes]:
    yield "\n".join(
        [f"; iocfeed RPZ {zone.name}: {listing.count} triggers", *soa(listing, zone), ""]
    ).encode()
    yield from chunked(line for indicator in indicators for line in records(indicator, zone.name))
