"""Tags, confidence, TLP and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.model import Confidence, Tlp
from iocfeed.indicators.normalize import (
    normalize_tags,
    parse_confidence,
    parse_timestamp,
    parse_tlp,
)


def test_tags_are_stripped_lowered_and_deduplicated_in_order() -> None:
    assert normalize_tags([" APT28 ", "phishing", "", "apt28", "  ", "Phishing", "c2"]) == (
        "apt28",
        "phishing",
        "c2",
    )
    assert normalize_tags([]) == ()
    assert normalize_tags(iter(["A"])) == ("a",)


@given(st.lists(st.text(max_size=8)))
def test_tags_properties(tags: list[str]) -> None:
    normalized = normalize_tags(tags)
    assert len(set(normalized)) == len(normalized)
    assert all(tag and tag == tag.strip().lower() for tag in normalized)
    assert normalize_tags(normalized) == normalized
    assert set(normalized) == {tag.strip().lower() for tag in tags if tag.strip()}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("high", Confidence.HIGH),
        ("HIGH", Confidence.HIGH),
        (" Medium ", Confidence.MEDIUM),
        ("med", Confidence.MEDIUM),
        ("low", Confidence.LOW),
        ("0", Confidence.LOW),
        ("1", Confidence.LOW),
        ("29", Confidence.LOW),
        ("30", Confidence.MEDIUM),
        ("50", Confidence.MEDIUM),
        ("69", Confidence.MEDIUM),
        ("70", Confidence.HIGH),
        ("85", Confidence.HIGH),
        ("100", Confidence.HIGH),
        ("015", Confidence.LOW),
    ],
)
def test_confidence(raw: str, expected: Confidence) -> None:
    assert parse_confidence(raw) is expected


@pytest.mark.parametrize("raw", ["", "101", "-1", "5_0", "+50", "50.5", "certain", "\u0661\u0660"])
def test_confidence_rejected(raw: str) -> None:
    with pytest.raises(InvalidIndicator, match="confidence must be high, medium, low"):
        parse_confidence(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("clear", Tlp.CLEAR),
        ("white", Tlp.CLEAR),
        ("TLP:WHITE", Tlp.CLEAR),
        ("green", Tlp.GREEN),
        ("TLP:GREEN", Tlp.GREEN),
        ("tlp:amber", Tlp.AMBER),
        ("Amber", Tlp.AMBER),
        ("TLP:AMBER+STRICT", Tlp.AMBER_STRICT),
        ("amber+strict", Tlp.AMBER_STRICT),
        ("TLP: RED", Tlp.RED),
        (" red ", Tlp.RED),
    ],
)
def test_tlp(raw: str, expected: Tlp) -> None:
    assert parse_tlp(raw) is expected


@pytest.mark.parametrize("raw", ["", "TLP:", "blue", "amber strict", "red tlp", "TLP:GREENISH"])
def test_tlp_rejected(raw: str) -> None:
    with pytest.raises(InvalidIndicator, match="TLP must be one of clear, white, green"):
        parse_tlp(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-14", datetime(2024, 3, 14, tzinfo=UTC)),
        ("2024-03-14T09:30:00Z", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        ("2024-03-14t09:30:00z", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        ("2024-03-14T09:30:00.123Z", datetime(2024, 3, 14, 9, 30, 0, 123000, tzinfo=UTC)),
        ("2024-03-14T11:30:00+02:00", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        ("2024-03-14T04:30:00-05:00", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        ("2024-03-14 09:30:00", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        ("2024-03-14T09:30", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        ("20240314T093000Z", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
        (" 2024-03-14T09:30:00Z ", datetime(2024, 3, 14, 9, 30, tzinfo=UTC)),
    ],
)
def test_timestamps(raw: str, expected: datetime) -> None:
    parsed = parse_timestamp(raw)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    ["", "yesterday", "14/03/2024", "2024-13-01", "2024-03-14T25:00:00Z", "1710408600", "09:30"],
)
def test_timestamps_rejected_naming_the_text(raw: str) -> None:
    with pytest.raises(InvalidIndicator) as caught:
        parse_timestamp(raw)
    assert f"cannot read {raw!r} as an ISO 8601 timestamp" in caught.value.message


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9999, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
    )
)
def test_isoformat_round_trips_to_the_same_instant(moment: datetime) -> None:
    parsed = parse_timestamp(moment.isoformat())
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)
