"""``txt``: one value per line for one type family, in the form each firewall documents.

Flavors (module-level tables below, each rule with its source):

- ``plain``: the canonical values (SPEC §1); Cisco Secure Firewall Security Intelligence
  reads these (IDNA domains, one IP/CIDR, URL or domain per line).
- ``paloalto``: PAN-OS External Dynamic Lists. URLs never carry a scheme ("do not prefix
  http:// or https://"), a host-only URL ends with ``/`` (PAN-OS appends one anyway);
  whole-line comments are not documented, so ``comments`` is refused; no hash lists.
- ``fortigate``: FortiGate external threat feeds: ``address``, ``domain``, ``category``
  (URLs, scheme stripped as for PAN-OS) and ``malware`` (one hash type per feed: MD5, SHA-1
  or SHA-256, never mixed, no SHA-512).
- ``suricata``: the hash lists Suricata's ``filemd5`` / ``filesha1`` / ``filesha256``
  keywords load (one lower-case hex hash per line, no comments), for the rules of the
  ``suricata`` export.

Comments (``#`` lines with the title, time and count) are off by default: several
consumers count or reject them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import IocType
from iocfeed.outputs.listing import Entry, Listing, chunked


class Family(enum.StrEnum):
    """The kinds of list a firewall keeps apart: one family per list."""

    IP = "ip"
    DOMAIN = "domain"
    URL = "url"
    HASH = "hash"


FAMILY_OF: dict[IocType, Family] = {
    IocType.IPV4: Family.IP,
    IocType.IPV6: Family.IP,
    IocType.DOMAIN: Family.DOMAIN,
    IocType.URL: Family.URL,
    IocType.MD5: Family.HASH,
    IocType.SHA1: Family.HASH,
    IocType.SHA256: Family.HASH,
    IocType.SHA512: Family.HASH,
}


class Flavor(enum.StrEnum):
    PLAIN = "plain"
    PALOALTO = "paloalto"
    FORTIGATE = "fortigate"
    SURICATA = "suricata"


FLAVOR_NAMES = ", ".join(flavor.value for flavor in Flavor)


@dataclass(frozen=True, slots=True)
class FlavorRules:
    """What one consumer's list may hold."""

    types: frozenset[IocType]
    """IOC types it can read."""
    one_hash_type: bool
    """A hash list holds one hash type only."""
    strip_scheme: bool
    """URLs are written without ``scheme://``."""
    comments: bool
    """Whole-line ``#`` comments are documented."""


_ALL = frozenset(FAMILY_OF)
_HASHES = frozenset({IocType.MD5, IocType.SHA1, IocType.SHA256})

RULES: dict[Flavor, FlavorRules] = {
    Flavor.PLAIN: FlavorRules(_ALL, one_hash_type=False, strip_scheme=False, comments=True),
    Flavor.PALOALTO: FlavorRules(
        _ALL - _HASHES - {IocType.SHA512}, one_hash_type=True, strip_scheme=True, comments=False
    ),
    Flavor.FORTIGATE: FlavorRules(
        _ALL - {IocType.SHA512}, one_hash_type=True, strip_scheme=True, comments=True
    ),
    Flavor.SURICATA: FlavorRules(_HASHES, one_hash_type=True, strip_scheme=False, comments=False),
}


def parse_flavor(raw: str | None) -> Flavor:
    """``flavor``: which consumer's rules the list follows (default ``plain``)."""
    if raw is None or not raw.strip():
        return Flavor.PLAIN
    try:
        return Flavor(raw.strip().lower())
    except ValueError:
        raise InvalidQuery(
            f"flavor must be one of {FLAVOR_NAMES}, got {raw[:64]!r}", parameter="flavor"
        ) from None


def check_types(types: frozenset[IocType], flavor: Flavor, *, comments: bool) -> None:
    """InvalidQuery unless ``types`` make one list this flavor's consumer can read."""
    rules = RULES[flavor]
    if not types:
        raise InvalidQuery(
            "type is required for txt: a list holds one family, e.g. type=ipv4,ipv6, "
            "type=domain, type=url or type=sha256",
            parameter="type",
        )
    unsupported = sorted(kind.value for kind in types - rules.types)
    if unsupported:
        raise InvalidQuery(
            f"the {flavor.value} flavor of txt cannot list {', '.join(unsupported)}",
            parameter="type",
        )
    families = {FAMILY_OF[kind] for kind in types}
    if len(families) > 1:
        raise InvalidQuery(
            "txt lists one family of types (ip, domain, url or hash), got "
            + ", ".join(sorted(kind.value for kind in types)),
            parameter="type",
        )
    if rules.one_hash_type and len(types & (_HASHES | {IocType.SHA512})) > 1:
        raise InvalidQuery(
            f"the {flavor.value} flavor of txt lists one hash type per list", parameter="type"
        )
    if comments and not rules.comments:
        raise InvalidQuery(
            f"the {flavor.value} flavor of txt has no comment lines; leave comments off",
            parameter="comments",
        )


def entry(indicator: Entry, flavor: Flavor) -> str:
    """The line for one indicator in ``flavor``'s form."""
    value = indicator.value
    if indicator.type == IocType.URL and RULES[flavor].strip_scheme:
        rest = value.partition("://")[2] or value
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        if rest[cut : cut + 1] != "/":  # host-only: PAN-OS wants the path's "/" written
            rest = rest[:cut] + "/" + rest[cut:]
        return rest
    return value


def header(listing: Listing, title: str) -> list[str]:
    """The ``#`` lines in the convention block lists use (``# Title:``, ``# Updated:``)."""
    return [
        f"# Title: {title}",
        f"# Updated: {listing.generated.isoformat().replace('+00:00', 'Z')}",
        f"# Entries: {listing.count}",
        f"# Producer: {listing.producer}",
    ]


def render(
    indicators: Iterable[Entry], listing: Listing, flavor: Flavor, *, comments: bool = False
) -> Iterator[bytes]:
    """The list, LF line ends, no header unless ``comments``; URLs whose scheme is stripped
    can coincide (``http://a/x`` and ``https://a/x``): each line is written once."""
    lines: Iterator[str] = (entry(indicator, flavor) for indicator in indicators)
    if RULES[flavor].strip_scheme:
        lines = _unique(lines)
    if comments:
        yield "\n".join([*header(listing, f"iocfeed {flavor.value} list"), ""]).encode()
    yield from chunked(lines)


def _unique(lines: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for line in lines:
        if line not in seen:
            seen.add(line)
            yield line
