"""STIX timestamps: millisecond precision, UTC, ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import stix2.utils
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.stix.timestamps import stix_timestamp, to_milliseconds

OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)


def test_millisecond_precision_with_z() -> None:
    moment = datetime(2026, 5, 1, 12, 0, 0, 123999, tzinfo=UTC)
    assert stix_timestamp(moment) == "2026-05-01T12:00:00.123Z"


def test_whole_seconds_still_have_milliseconds() -> None:
    assert stix_timestamp(datetime(2026, 5, 1, tzinfo=UTC)) == "2026-05-01T00:00:00.000Z"


def test_other_offsets_are_converted_to_utc() -> None:
    moment = datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert stix_timestamp(moment) == "2026-05-01T12:00:00.000Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        stix_timestamp(datetime(2026, 5, 1))


@given(moment=st.datetimes(min_value=datetime(1900, 1, 1), timezones=OFFSETS))
def test_the_stix2_library_reads_back_the_same_millisecond(moment: datetime) -> None:
    text = stix_timestamp(moment)
    assert len(text) == 24
    parsed = stix2.utils.parse_into_datetime(text, precision="millisecond")
    assert parsed == to_milliseconds(moment)
    assert timedelta(0) <= moment - parsed < timedelta(milliseconds=1)
