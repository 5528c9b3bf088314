"""Events: what a stored version of an indicator tells a subscriber (created, updated, revoked).

Events are not stored apart: each row of ``indicator_versions`` is one event, in the order of
its strictly increasing ``date_added`` (see ``store.search``). A version is

- ``revoked`` when it carries ``revoked: true`` (removal, expiry, delta revocation);
- ``created`` when it is its indicator's first version (the only one whose ``modified``
  equals ``created``: merge keeps ``created`` and makes every later ``modified`` later);
- ``updated`` otherwise.

A subscriber's position is the ``date_added`` of the last event it was given; the next
events are the versions added after it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import Indicator
from iocfeed.stix.timestamps import stix_timestamp
from iocfeed.taxii.timestamps import format_timestamp


class EventKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    REVOKED = "revoked"

    @property
    def event_type(self) -> str:
        """The name on the wire: ``indicator.created`` and so on."""
        return f"indicator.{self.value}"


ALL_KINDS = frozenset(EventKind)


def event_kind(version: Indicator) -> EventKind:
    """The event one stored version is (module notes)."""
    if version.revoked:
        return EventKind.REVOKED
    if version.modified == version.created:
        return EventKind.CREATED
    return EventKind.UPDATED


def parse_kinds(raw: Iterable[str] | None) -> frozenset[EventKind]:
    """Event names (``created`` or ``indicator.created``) → kinds; none given = every kind."""
    names = [name.strip().lower() for name in raw or () if name.strip()]
    if not names:
        return ALL_KINDS
    kinds = set()
    for name in names:
        try:
            kinds.add(EventKind(name.removeprefix("indicator.")))
        except ValueError:
            raise InvalidQuery(
                f"unknown event {name[:40]!r}; known: {', '.join(k.value for k in EventKind)}",
                parameter="events",
            ) from None
    return frozenset(kinds)


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its kind and the version it comes from (whose ``date_added`` places it)."""

    kind: EventKind
    version: Indicator

    @classmethod
    def of(cls, version: Indicator) -> Event:
        return cls(event_kind(version), version)

    @property
    def position(self) -> datetime:
        return self.version.date_added

    def document(self, stix_object: dict[str, Any]) -> dict[str, Any]:
        """The event as JSON: its id (the STIX id and version), kind, time and STIX object."""
        version = self.version
        return {
            "id": f"{version.stix_id}@{stix_timestamp(version.modified)}",
            "type": self.kind.event_type,
            "date_added": format_timestamp(version.date_added),
            "indicator": {"type": version.type.value, "value": version.value},
            "object": stix_object,
        }
