"""Sighting items: validation with reasons, and what hits and false positives do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.merge import new_indicator
from iocfeed.indicators.model import Confidence, IocType
from iocfeed.lifecycle.sightings import (
    SightingKind,
    SightingPolicy,
    after_hit,
    parse_sighting,
)
from tests.factories import T0, ioc

HOUR = timedelta(hours=1)


def test_a_value_item_is_refanged_and_defaults_to_now() -> None:
    item = parse_sighting(
        1, {"value": "hxxp://evil[.]example/x", "type": "url", "kind": "hit", "source": "s"}, T0
    )
    assert (item.type, item.value, item.kind) == (IocType.URL, "http://evil.example/x", "hit")
    assert (item.count, item.first_seen, item.last_seen) == (1, T0, T0)


def test_a_stix_id_item_with_times_and_count() -> None:
    item = parse_sighting(
        2,
        {
            "stix_id": "indicator--0f0e0d0c-0b0a-4908-8706-050403020100",
            "kind": "false-positive",
            "source": "siem",
            "count": 12,
            "first_seen": "2026-04-30T00:00:00Z",
            "last_seen": "2026-05-01",
        },
        T0,
    )
    assert item.kind is SightingKind.FALSE_POSITIVE and item.count == 12
    assert item.first_seen < item.last_seen < T0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "expected an object"),
        ({"value": "1.2.3.4", "type": "ipv4"}, "kind"),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "miss"}, "kind"),
        ({"value": "1.2.3.4", "type": "host", "kind": "hit"}, "type"),
        ({"value": "1.2.3", "type": "ipv4", "kind": "hit"}, "value: .* IPv4"),
        ({"type": "ipv4", "kind": "hit"}, "value"),
        ({"stix_id": "x", "kind": "hit"}, "stix_id"),
        ({"stix_id": "indicator--x", "value": "1.2.3.4", "kind": "hit"}, "not both"),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "hit", "count": 0}, "count"),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "hit", "count": True}, "count"),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "hit", "source": 5}, "source"),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "hit", "last_seen": "soon"}, "last_seen"),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "hit", "first_seen": "2999-01-01"}, "future"),
        (
            {
                "value": "1.2.3.4",
                "type": "ipv4",
                "kind": "hit",
                "first_seen": "2026-04-30",
                "last_seen": "2026-04-29",
            },
            "before first_seen",
        ),
        ({"value": "1.2.3.4", "type": "ipv4", "kind": "hit", "colour": "red"}, "unknown fields"),
    ],
)
def test_bad_items_say_what_is_wrong(body: object, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        parse_sighting(1, body, T0)


def test_a_hit_only_ever_raises_last_seen() -> None:
    indicator = new_indicator(ioc(IocType.IPV4, "192.0.2.1", last_seen=T0), "i", T0)
    later = parse_sighting(1, {"value": "192.0.2.1", "type": "ipv4", "kind": "hit"}, T0 + HOUR)
    earlier = parse_sighting(
        1,
        {"value": "192.0.2.1", "type": "ipv4", "kind": "hit", "last_seen": "2026-01-01"},
        T0,
    )
    assert after_hit(indicator, later).last_seen == T0 + HOUR
    assert after_hit(indicator, earlier) is indicator


def test_false_positives_count_accounts_and_revoke_at_the_threshold() -> None:
    policy = SightingPolicy(penalty=25, revoke_accounts=3)
    indicator = new_indicator(ioc(IocType.DOMAIN, "x.example", confidence=Confidence.HIGH), "i", T0)
    one = policy.after_false_positives(indicator, 1, T0 + HOUR)
    assert (one.penalty, one.revoked) == (25, False) and one.modified > indicator.modified
    assert policy.after_false_positives(one, 1, T0 + 2 * HOUR) is one  # same account again
    two = policy.after_false_positives(one, 2, T0 + 2 * HOUR)
    assert (two.penalty, two.revoked) == (50, False)
    three = policy.after_false_positives(two, 3, T0 + 3 * HOUR)
    assert three.revoked
