"""Which event a version is."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import Confidence, Indicator, IocType
from iocfeed.push.events import ALL_KINDS, Event, EventKind, event_kind, parse_kinds

T = datetime(2026, 5, 1, tzinfo=UTC)
FIRST = Indicator(
    stix_id="indicator--0b0a4f5e-5b1f-4d8e-9a1e-8f2b8d6c1a01",
    type=IocType.DOMAIN,
    value="evil.example",
    confidence=Confidence.HIGH,
    tags=(),
    techniques=(),
    description="",
    source="",
    tlp=None,
    first_seen=T,
    last_seen=T,
    valid_until=None,
    revoked=False,
    created=T,
    modified=T,
    date_added=T,
)


def test_kinds() -> None:
    later = replace(FIRST, modified=T + timedelta(seconds=1))
    assert event_kind(FIRST) is EventKind.CREATED
    assert event_kind(later) is EventKind.UPDATED
    assert event_kind(replace(later, revoked=True)) is EventKind.REVOKED


def test_document() -> None:
    document = Event.of(FIRST).document({"type": "indicator"})
    assert document["type"] == "indicator.created"
    assert document["id"] == f"{FIRST.stix_id}@2026-05-01T00:00:00.000Z"
    assert document["date_added"] == "2026-05-01T00:00:00.000000Z"
    assert document["indicator"] == {"type": "domain", "value": "evil.example"}


def test_parse_kinds() -> None:
    assert parse_kinds(None) == ALL_KINDS
    assert parse_kinds(["created", "indicator.revoked"]) == {
        EventKind.CREATED,
        EventKind.REVOKED,
    }
    with pytest.raises(InvalidQuery, match="unknown event"):
        parse_kinds(["deleted"])
