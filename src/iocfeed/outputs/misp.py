"""``misp``: MISP events (one per day or per source) and a MISP feed of them.

A MISP instance subscribes to a feed URL and fetches ``<url>/manifest.json``, then each
``<url>/<event uuid>.json`` whose manifest ``timestamp`` is newer than its copy, and reads
``<url>/hashes.csv`` for correlation (MISP ``Feed.php``; PyMISP ``feed-generator``). The
event and manifest fields are the feed set of PyMISP's ``to_feed``: scalars as strings in
events, numbers in the manifest; TLP and tags in both the manifest and the event.

Ids are stable: an event's uuid is a UUIDv5 of the producer and the event's key (``day``
``2025-06-01`` or ``source`` ``urlhaus``), an attribute's uuid is its indicator's STIX uuid.
An event's ``timestamp`` is the newest ``date_added`` among its attributes, so it grows
whenever the event changes. ``mitre_attack`` rows have no attribute type and are left out.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import Indicator, IocType, Tlp
from iocfeed.outputs.listing import Listing, epoch_seconds

TYPES = frozenset(IocType) - {IocType.MITRE_ATTACK}

# SPEC-to-MISP attribute types and categories (MISP categories and types table).
ATTRIBUTE_TYPES: dict[IocType, tuple[str, str]] = {
    IocType.IPV4: ("ip-dst", "Network activity"),
    IocType.IPV6: ("ip-dst", "Network activity"),
    IocType.DOMAIN: ("domain", "Network activity"),
    IocType.URL: ("url", "Network activity"),
    IocType.MD5: ("md5", "Payload delivery"),
    IocType.SHA1: ("sha1", "Payload delivery"),
    IocType.SHA256: ("sha256", "Payload delivery"),
    IocType.SHA512: ("sha512", "Payload delivery"),
    IocType.EMAIL: ("email-src", "Payload delivery"),
    IocType.CVE: ("vulnerability", "External analysis"),
}

# MISP's TLP taxonomy tags and the colours MISP gives them.
TLP_TAGS: dict[Tlp, tuple[str, str]] = {
    Tlp.CLEAR: ("tlp:clear", "#ffffff"),
    Tlp.GREEN: ("tlp:green", "#339900"),
    Tlp.AMBER: ("tlp:amber", "#ffc000"),
    Tlp.AMBER_STRICT: ("tlp:amber+strict", "#ffc000"),
    Tlp.RED: ("tlp:red", "#cc0033"),
}
TAG_COLOUR = "#0088cc"

THREAT_LEVEL = "3"  # low: a list of indicators, not an incident
ANALYSIS = "2"  # completed


class Grouping(enum.StrEnum):
    """``group``: one event per day (of ``date_added``) or per source."""

    DAY = "day"
    SOURCE = "source"


def parse_grouping(raw: str | None) -> Grouping:
    if raw is None or not raw.strip():
        return Grouping.DAY
    try:
        return Grouping(raw.strip().lower())
    except ValueError:
        raise InvalidQuery(
            f"group must be day or source, got {raw[:64]!r}", parameter="group"
        ) from None


def event_key(indicator: Indicator, grouping: Grouping) -> str:
    """The key of the event an indicator belongs to."""
    if grouping is Grouping.DAY:
        return indicator.date_added.date().isoformat()
    return indicator.source or "unknown"


def event_uuid(producer_id: str, grouping: Grouping, key: str) -> str:
    return str(uuid.uuid5(uuid.UUID(producer_id.rpartition("--")[2]), f"{grouping}:{key}"))


@dataclass(slots=True)
class EventSummary:
    """What the manifest says about one event, gathered in one pass over its rows."""

    key: str
    uuid: str
    timestamp: int = 0
    date: str = ""
    tlp: Tlp = Tlp.CLEAR
    count: int = 0
    tags: set[str] = field(default_factory=set)


def _tag(name: str, colour: str = TAG_COLOUR) -> dict[str, object]:
    return {"colour": colour, "local": False, "name": name, "relationship_type": ""}


def _event_tags(tlp: Tlp) -> list[dict[str, object]]:
    name, colour = TLP_TAGS[tlp]
    return [_tag(name, colour)]


def summarise(
    indicators: Iterable[Indicator], listing: Listing, grouping: Grouping, producer_id: str
) -> dict[str, EventSummary]:
    """The events the rows make, by uuid (memory: one summary per event)."""
    events: dict[str, EventSummary] = {}
    for indicator in indicators:
        if indicator.type not in ATTRIBUTE_TYPES:
            continue
        key = event_key(indicator, grouping)
        ident = event_uuid(producer_id, grouping, key)
        summary = events.get(ident)
        if summary is None:
            summary = events[ident] = EventSummary(key, ident)
        summary.count += 1
        summary.timestamp = max(summary.timestamp, epoch_seconds(indicator.date_added))
        day = indicator.date_added.date().isoformat()
        summary.date = day if not summary.date or day < summary.date else summary.date
        summary.tlp = max(summary.tlp, listing.tlp_of(indicator))
    return events


def _info(summary: EventSummary, grouping: Grouping, producer: str) -> str:
    if grouping is Grouping.DAY:
        return f"{producer} indicators added on {summary.key}"
    return f"{producer} indicators from {summary.key}"


def _orgc(listing: Listing, producer_id: str) -> dict[str, str]:
    return {"name": listing.producer, "uuid": producer_id.rpartition("--")[2]}


def manifest(
    events: Iterable[EventSummary], listing: Listing, grouping: Grouping, producer_id: str
) -> bytes:
    """``manifest.json``: every event's uuid → Orgc, Tag, info, date, timestamp."""
    document = {
        summary.uuid: {
            "Orgc": _orgc(listing, producer_id),
            "Tag": _event_tags(summary.tlp),
            "info": _info(summary, grouping, listing.producer),
            "date": summary.date,
            "analysis": int(ANALYSIS),
            "threat_level_id": int(THREAT_LEVEL),
            "timestamp": summary.timestamp,
        }
        for summary in sorted(events, key=lambda s: s.key)
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def attribute(indicator: Indicator, listing: Listing) -> dict[str, object]:
    kind, category = ATTRIBUTE_TYPES[indicator.type]
    tlp_name, tlp_colour = TLP_TAGS[listing.tlp_of(indicator)]
    return {
        "Tag": [_tag(tlp_name, tlp_colour), *(_tag(tag) for tag in indicator.tags)],
        "category": category,
        "comment": " ".join(indicator.description.split()),
        "deleted": indicator.withdrawn(listing.generated),
        "disable_correlation": False,
        "first_seen": _misp_time(indicator.first_seen),
        "last_seen": _misp_time(indicator.last_seen),
        "timestamp": str(epoch_seconds(indicator.date_added)),
        "to_ids": True,
        "type": kind,
        "uuid": indicator.stix_id.rpartition("--")[2],
        "value": indicator.value,
    }


def _misp_time(moment: datetime) -> str:
    return moment.isoformat()


def event(
    summary: EventSummary,
    indicators: Iterable[Indicator],
    listing: Listing,
    grouping: Grouping,
    producer_id: str,
) -> Iterator[bytes]:
    """``<uuid>.json``: ``{"Event": {...}}`` with every attribute, streamed attribute by
    attribute (keys in sorted order, as PyMISP writes feeds)."""
    head = {
        "Orgc": _orgc(listing, producer_id),
        "Tag": _event_tags(summary.tlp),
        "analysis": ANALYSIS,
        "date": summary.date,
        "extends_uuid": "",
        "info": _info(summary, grouping, listing.producer),
        "protected": None,
        "publish_timestamp": str(summary.timestamp),
        "published": True,
        "threat_level_id": THREAT_LEVEL,
        "timestamp": str(summary.timestamp),
        "uuid": summary.uuid,
    }
    yield b'{"Event":{"Attribute":['
    separator = b""
    for indicator in indicators:
        if indicator.type not in ATTRIBUTE_TYPES:
            continue
        if event_key(indicator, grouping) != summary.key:
            continue
        yield separator + orjson.dumps(attribute(indicator, listing), option=orjson.OPT_SORT_KEYS)
        separator = b","
    yield b"]," + orjson.dumps(head, option=orjson.OPT_SORT_KEYS)[1:] + b"}"


def hashes(
    indicators: Iterable[Indicator], grouping: Grouping, producer_id: str
) -> Iterator[bytes]:
    """``hashes.csv``: ``<md5 of the value>,<event uuid>`` per attribute, no header."""
    batch: list[str] = []
    for indicator in indicators:
        if indicator.type not in ATTRIBUTE_TYPES:
            continue
        ident = event_uuid(producer_id, grouping, event_key(indicator, grouping))
        digest = hashlib.md5(indicator.value.encode(), usedforsecurity=False).hexdigest()
        batch.append(f"{digest},{ident}\n")
        if len(batch) >= 2000:
            yield "".join(batch).encode()
            batch = []
    yield "".join(batch).encode()
