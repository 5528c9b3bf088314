"""MISP feeds: a ``manifest.json`` of events, and one ``<uuid>.json`` per event.

An event is fetched when it is new or its manifest ``timestamp`` is later than the one this
source last stored (kept in the checkpoint), as MISP itself pulls feeds. Only attributes
flagged ``to_ids`` become indicators (MISP's detection flag), from the event and from its
objects; deleted attributes are skipped, and so are types iocfeed does not hold (file
names, registry keys, …), silently: they are context, not failed indicators. Composite
types give their IOC part (``filename|sha256`` its hash, ``ip-dst|port`` its address).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from iocfeed.indicators.model import Notice, RawIndicator, Rejected

Record = RawIndicator | Rejected | Notice

# MISP attribute type → iocfeed type name (None: detected from the value).
_TYPES: dict[str, str | None] = {
    "ip-dst": None,
    "ip-src": None,
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "uri": "url",
    "link": None,  # never to_ids in practice; a reference
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
    "email": "email",
    "email-src": "email",
    "email-dst": "email",
    "vulnerability": "cve",
}
# Composite types: which part (0 or 1) carries the indicator, and its type.
_COMPOSITE: dict[str, tuple[int, str | None]] = {
    "ip-dst|port": (0, None),
    "ip-src|port": (0, None),
    "domain|ip": (0, "domain"),
    "hostname|port": (0, "domain"),
    "filename|md5": (1, "md5"),
    "filename|sha1": (1, "sha1"),
    "filename|sha256": (1, "sha256"),
    "filename|sha512": (1, "sha512"),
}


def changed_events(manifest: bytes, seen: dict[str, int]) -> list[tuple[str, int]]:
    """(uuid, timestamp) of each manifest event newer than ``seen`` has it, oldest first."""
    try:
        document = orjson.loads(manifest)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"manifest.json is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("manifest.json is not an object keyed by event uuid")
    changed = []
    for uuid, event in document.items():
        stamp = int(event.get("timestamp", 0)) if isinstance(event, dict) else 0
        if stamp > seen.get(uuid, -1):
            changed.append((uuid, stamp))
    return sorted(changed, key=lambda item: (item[1], item[0]))


def read_event(body: bytes) -> Iterator[Record]:
    """The ``to_ids`` attributes of one feed event as raw indicators (numbered 1, 2, …)."""
    try:
        event = orjson.loads(body).get("Event")
    except (orjson.JSONDecodeError, AttributeError):
        yield Rejected(1, "a MISP event file is a JSON object with an Event", "", True)
        return
    if not isinstance(event, dict):
        yield Rejected(1, "a MISP event file is a JSON object with an Event", "", True)
        return
    tags = tuple(_tag_names(event))
    tlp = next((t for t in tags if t.lower().startswith("tlp:")), None)
    kept_tags = tuple(t for t in tags if not t.lower().startswith("tlp:"))
    attributes = list(event.get("Attribute") or [])
    for obj in event.get("Object") or []:
        attributes.extend(obj.get("Attribute") or [])
    for number, attribute in enumerate(attributes, 1):
        record = _attribute(number, attribute, str(event.get("info", "")), tlp, kept_tags)
        if record is not None:
            yield record


def _tag_names(holder: dict[str, Any]) -> Iterator[str]:
    for tag in holder.get("Tag") or []:
        if isinstance(tag, dict) and tag.get("name"):
            yield str(tag["name"])


def _flag(value: object) -> bool:
    return value is True or str(value).lower() in {"1", "true"}


def _attribute(
    number: int, attribute: Any, info: str, tlp: str | None, tags: tuple[str, ...]
) -> Record | None:
    if not isinstance(attribute, dict):
        return Rejected(number, "not a MISP attribute", "")
    if not _flag(attribute.get("to_ids")) or _flag(attribute.get("deleted")):
        return None
    misp_type = str(attribute.get("type", ""))
    value = str(attribute.get("value", ""))
    if misp_type in _COMPOSITE:
        part, type_name = _COMPOSITE[misp_type]
        pieces = value.split("|")
        if len(pieces) != 2:
            return Rejected(number, f"a {misp_type} value has two parts", value[:200])
        value = pieces[part]
    elif misp_type in _TYPES:
        type_name = _TYPES[misp_type]
    else:
        return None
    attribute_tags = tuple(_tag_names(attribute))
    return RawIndicator(
        line=number,
        value=value,
        type=type_name,
        tags=tags + attribute_tags,
        description=": ".join(t for t in (info, str(attribute.get("comment") or "")) if t) or None,
        tlp=tlp,
        first_seen=_when(attribute.get("first_seen")) or _epoch(attribute.get("timestamp")),
        last_seen=_when(attribute.get("last_seen")),
    )


def _when(value: object) -> str | None:
    return str(value) if value else None


def _epoch(value: object) -> str | None:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None
