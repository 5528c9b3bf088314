"""The ``next`` cursor: round trips exactly, and anything else is a clean InvalidQuery."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.cursor import decode_cursor, encode_cursor
from iocfeed.indicators.query import Keyset

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
URL_SAFE = set(string.ascii_letters + string.digits + "-_")
moments = st.datetimes(timezones=st.just(UTC))


@st.composite
def cursors(draw: st.DrawFn) -> tuple[Keyset, datetime]:
    at = draw(moments)
    as_of = draw(moments.filter(lambda moment: moment >= at))
    return Keyset(at=at, seq=draw(st.integers(0, 2**63 - 1))), as_of


@given(cursors())
def test_round_trip(cursor: tuple[Keyset, datetime]) -> None:
    position, as_of = cursor
    token = encode_cursor(position, as_of)
    assert decode_cursor(token) == (position, as_of)
    assert set(token) <= URL_SAFE
    assert len(token) <= 40


def test_decoded_times_are_aware_utc() -> None:
    position, as_of = decode_cursor(encode_cursor(Keyset(at=T0, seq=7), T0))
    assert position.at.tzinfo is not None
    assert position.at.utcoffset() == timedelta(0)
    assert as_of.utcoffset() == timedelta(0)


def test_other_offsets_encode_the_same_instant() -> None:
    from datetime import timezone

    local = T0.astimezone(timezone(timedelta(hours=-5)))
    assert encode_cursor(Keyset(at=local, seq=1), local) == encode_cursor(Keyset(T0, 1), T0)


@given(st.text())
def test_arbitrary_text_only_ever_raises_invalid_query(token: str) -> None:
    failure: InvalidQuery | None = None
    try:
        decode_cursor(token)
    except InvalidQuery as exc:
        failure = exc
    assert failure is None or failure.parameter == "next"


@given(st.binary(min_size=0, max_size=40))
def test_arbitrary_url_safe_tokens_are_rejected_cleanly(raw: bytes) -> None:
    import base64

    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    failure: InvalidQuery | None = None
    try:
        decode_cursor(token)
    except InvalidQuery as exc:
        failure = exc
    assert failure is None or failure.parameter == "next"


def test_every_single_character_change_is_detected() -> None:
    token = encode_cursor(Keyset(at=T0, seq=123456789), T0 + timedelta(seconds=5))
    for index, original in enumerate(token):
        for replacement in sorted(URL_SAFE - {original}):
            damaged = token[:index] + replacement + token[index + 1 :]
            with pytest.raises(InvalidQuery):
                decode_cursor(damaged)


@pytest.mark.parametrize(
    "damage",
    [
        lambda token: token[:-1],
        lambda token: token + "A",
        lambda token: token + "=",
        lambda token: token + "==",
        lambda token: token.swapcase(),
        lambda token: " " + token,
        lambda token: "+" + token[1:],
        lambda token: token[:-1] + "/",
        lambda token: token * 2,
        lambda token: "",
        lambda token: "A" * 5000,
    ],
)
def test_damaged_tokens_are_rejected(damage: object) -> None:
    token = encode_cursor(Keyset(at=T0, seq=42), T0)
    damaged = damage(token)  # type: ignore[operator]
    assert damaged != token
    with pytest.raises(InvalidQuery, match="next"):
        decode_cursor(damaged)


def test_position_after_snapshot_is_rejected() -> None:
    token = encode_cursor(Keyset(at=T0, seq=1), T0 - timedelta(microseconds=1))
    with pytest.raises(InvalidQuery):
        decode_cursor(token)


def test_negative_seq_is_rejected() -> None:
    token = encode_cursor(Keyset(at=T0, seq=-1), T0)
    with pytest.raises(InvalidQuery):
        decode_cursor(token)
