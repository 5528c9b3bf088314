"""TAXII timestamps: microsecond UTC output, strict RFC 3339 input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.errors import InvalidQuery
from iocfeed.taxii.timestamps import format_timestamp, parse_timestamp


def test_format_has_microseconds_and_z() -> None:
    moment = datetime(2024, 1, 31, 12, 0, 0, 120, tzinfo=UTC)
    assert format_timestamp(moment) == "2024-01-31T12:00:00.000120Z"


def test_format_converts_to_utc() -> None:
    moment = datetime(2024, 1, 31, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2024-01-31T12:00:00.000000Z"


def test_format_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_timestamp(datetime(2024, 1, 31))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-31T12:00:00.000000Z", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T12:00:00Z", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T12:00:00.5Z", datetime(2024, 1, 31, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2024-01-31T12:00:00.123Z", datetime(2024, 1, 31, 12, 0, 0, 123000, tzinfo=UTC)),
        ("2024-01-31T12:00:00.123456789Z", datetime(2024, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-01-31t12:00:00z", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T14:00:00+02:00", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T10:30:00.000001-01:30", datetime(2024, 1, 31, 12, 0, 0, 1, tzinfo=UTC)),
    ],
)
def test_parse_accepts_rfc3339(raw: str, expected: datetime) -> None:
    parsed = parse_timestamp(raw, parameter="added_after")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2024-01-31",
        "2024-01-31T12:00:00",  # no offset
        "2024-01-31 12:00:00Z",  # space instead of T
        "2024-01-31T12:00:00 02:00",  # '+' decoded to a space
        "2024-01-31T12:00Z",  # no seconds
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-31T24:00:00Z",
        "2016-12-31T23:59:60Z",  # leap seconds are not representable
        "2024-01-31T12:00:00.Z",
        "2024-01-31T12:00:00+24:00",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        " 2024-01-31T12:00:00Z",
        "2024-01-31T12:00:00Z\n",
        "\uff12\uff10\uff12\uff14-01-31T12:00:00Z",  # non-ASCII digits
    ],
)
def test_parse_rejects_everything_else(raw: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_timestamp(raw, parameter="added_after")
    assert caught.value.parameter == "added_after"
    assert "added_after" in caught.value.message


def test_parse_hints_at_url_encoding_of_plus() -> None:
    with pytest.raises(InvalidQuery, match="%2B"):
        parse_timestamp("2024-01-31T12:00:00 02:00", parameter="added_after")


def test_error_message_bounds_the_echoed_input() -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_timestamp("x" * 10_000, parameter="added_after")
    assert len(caught.value.message) < 300


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_then_parse_is_identity(moment: datetime) -> None:
    assert parse_timestamp(format_timestamp(moment), parameter="p") == moment


@given(st.text())
def test_arbitrary_text_only_ever_raises_invalid_query(raw: str) -> None:
    failure: InvalidQuery | None = None
    try:
        parsed = parse_timestamp(raw, parameter="p")
    except InvalidQuery as exc:
        failure = exc
    else:
        assert parsed.tzinfo is UTC
    assert failure is None or failure.parameter == "p"
