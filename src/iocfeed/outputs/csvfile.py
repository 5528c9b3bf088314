"""``csv``: Splunk Enterprise Security threat-intelligence lookups, and a generic CSV.

Splunk ES reads one local lookup per intelligence collection, each with its documented
header (Splunk ES "Supported threat intelligence types", 5.x to 8.0): domains live in the
``ip_intel`` collection but in a file of their own. ``weight`` (1-100, higher is riskier)
is the STIX confidence integer of SPEC §1 (85, 50, 15). The generic layout carries every
field an importer needs, and ``iocfeed import`` reads it back.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import HASH_TYPES, Confidence, Indicator, IocType
from iocfeed.outputs.listing import LINES_PER_CHUNK, Listing

WEIGHT: dict[Confidence, int] = {Confidence.HIGH: 85, Confidence.MEDIUM: 50, Confidence.LOW: 15}


class Lookup(enum.StrEnum):
    """The CSV layouts: generic, or one Splunk ES local lookup."""

    GENERIC = "generic"
    IP = "local_ip_intel"
    DOMAIN = "local_domain_intel"
    FILE = "local_file_intel"
    HTTP = "local_http_intel"
    EMAIL = "local_email_intel"


LOOKUP_NAMES = ", ".join(lookup.value for lookup in Lookup)

Row = Callable[[Indicator, Listing], list[str]]


@dataclass(frozen=True, slots=True)
class Layout:
    header: tuple[str, ...]
    types: frozenset[IocType]
    row: Row


def _description(indicator: Indicator) -> str:
    """The description on one line (lookups are read a row per line); the value if empty."""
    text = " ".join(indicator.description.split())
    return text or f"iocfeed {indicator.type.value} {indicator.value}"


def _weight(indicator: Indicator) -> str:
    return str(WEIGHT[indicator.confidence])


def _time(indicator: Indicator, name: str) -> str:
    moment = getattr(indicator, name)
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _generic(indicator: Indicator, listing: Listing) -> list[str]:
    return [
        indicator.type.value,
        indicator.value,
        indicator.confidence.value,
        listing.tlp_of(indicator).value,
        ",".join(indicator.tags),
        ",".join(indicator.techniques),
        " ".join(indicator.description.split()),
        indicator.source,
        _time(indicator, "first_seen"),
        _time(indicator, "last_seen"),
        _time(indicator, "valid_until"),
        indicator.stix_id,
        _time(indicator, "modified"),
    ]


LAYOUTS: dict[Lookup, Layout] = {
    Lookup.GENERIC: Layout(
        (
            "type",
            "value",
            "confidence",
            "tlp",
            "tags",
            "techniques",
            "description",
            "source",
            "first_seen",
            "last_seen",
            "valid_until",
            "stix_id",
            "modified",
        ),
        frozenset(IocType),
        _generic,
    ),
    Lookup.IP: Layout(
        ("description", "ip", "weight"),
        frozenset({IocType.IPV4, IocType.IPV6}),
        lambda ind, _: [_description(ind), ind.value, _weight(ind)],
    ),
    Lookup.DOMAIN: Layout(
        ("description", "domain", "weight"),
        frozenset({IocType.DOMAIN}),
        lambda ind, _: [_description(ind), ind.value, _weight(ind)],
    ),
    Lookup.FILE: Layout(
        ("description", "file_hash", "file_name", "weight"),
        HASH_TYPES,
        lambda ind, _: [_description(ind), ind.value, "", _weight(ind)],
    ),
    Lookup.HTTP: Layout(
        ("description", "http_referrer", "http_user_agent", "url", "weight"),
        frozenset({IocType.URL}),
        lambda ind, _: [_description(ind), "", "", ind.value, _weight(ind)],
    ),
    Lookup.EMAIL: Layout(
        ("description", "src_user", "subject", "weight"),
        frozenset({IocType.EMAIL}),
        lambda ind, _: [_description(ind), ind.value, "", _weight(ind)],
    ),
}


def parse_lookup(raw: str | None) -> Lookup:
    """``lookup``: ``generic`` (default) or a Splunk ES local lookup name."""
    if raw is None or not raw.strip():
        return Lookup.GENERIC
    try:
        return Lookup(raw.strip().lower())
    except ValueError:
        raise InvalidQuery(
            f"lookup must be one of {LOOKUP_NAMES}, got {raw[:64]!r}", parameter="lookup"
        ) from None


def check_types(types: frozenset[IocType], lookup: Lookup) -> frozenset[IocType]:
    """The types the file holds: ``types`` within the lookup's (all of them when empty)."""
    allowed = LAYOUTS[lookup].types
    if not types:
        return allowed
    outside = sorted(kind.value for kind in types - allowed)
    if outside:
        raise InvalidQuery(
            f"the {lookup.value} lookup cannot hold {', '.join(outside)}", parameter="type"
        )
    return types


def render(indicators: Iterable[Indicator], listing: Listing, lookup: Lookup) -> Iterator[bytes]:
    """The header line, then a row per indicator, CRLF-ended as RFC 4180 writes them."""
    layout = LAYOUTS[lookup]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(layout.header)
    for rows, indicator in enumerate(indicators, start=1):
        writer.writerow(layout.row(indicator, listing))
        if rows % LINES_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
