"""The ``next`` token: signed, bound to where it was issued, and read by the stale-token rules."""

from __future__ import annotations

import base64
import string
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.cursor import CursorCodec, Endpoint, Resume, Scope
from iocfeed.indicators.query import Keyset

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
URL_SAFE = set(string.ascii_letters + string.digits + "-_")
SECRET = b"0123456789abcdef0123456789abcdef"
CODEC = CursorCodec(SECRET)
SCOPE = Scope(
    key_id="k1",
    endpoint=Endpoint.OBJECTS,
    place="all/",
    filters={"match[type]": ["indicator"], "match[version]": ["all"]},
    added_after=T0 - timedelta(days=1),
)
POSITION = Keyset(at=T0, seq=123456789)
AS_OF = T0 + timedelta(seconds=5)
moments = st.datetimes(timezones=st.just(UTC))


def token() -> str:
    return CODEC.issue(POSITION, AS_OF, SCOPE)


def refused(token: str, scope: Scope = SCOPE, codec: CursorCodec = CODEC) -> str:
    with pytest.raises(InvalidQuery) as caught:
        codec.resume(token, scope)
    assert caught.value.parameter == "next"
    return caught.value.message


@st.composite
def walks(draw: st.DrawFn) -> tuple[Keyset, datetime, datetime | None]:
    at = draw(moments)
    as_of = draw(moments.filter(lambda moment: moment >= at))
    added_after = draw(st.none() | moments)
    return Keyset(at=at, seq=draw(st.integers(0, 2**63 - 1))), as_of, added_after


@given(walks())
def test_round_trip(walk: tuple[Keyset, datetime, datetime | None]) -> None:
    position, as_of, added_after = walk
    scope = Scope(key_id="k", endpoint=Endpoint.SEARCH, added_after=added_after)
    issued = CODEC.issue(position, as_of, scope)
    assert CODEC.resume(issued, scope) == Resume(position, as_of, added_after)
    assert set(issued) <= URL_SAFE
    assert len(issued) <= 84


def test_no_token_starts_a_walk() -> None:
    assert CODEC.resume(None, SCOPE) == Resume(None, None, SCOPE.added_after)


def test_decoded_times_are_aware_utc() -> None:
    resumed = CODEC.resume(token(), SCOPE)
    assert resumed.after is not None and resumed.as_of is not None
    assert resumed.after.at.utcoffset() == timedelta(0)
    assert resumed.as_of.utcoffset() == timedelta(0)


def test_other_offsets_encode_the_same_instant() -> None:
    local = T0.astimezone(timezone(timedelta(hours=-5)))
    assert CODEC.issue(Keyset(at=local, seq=1), local, SCOPE) == CODEC.issue(
        Keyset(T0, 1), T0, SCOPE
    )


def test_every_byte_changed_is_refused() -> None:
    raw = base64.urlsafe_b64decode(token() + "=" * (-len(token()) % 4))
    for index in range(len(raw)):
        for flip in (0x01, 0x80, 0xFF):
            damaged = bytearray(raw)
            damaged[index] ^= flip
            altered = base64.urlsafe_b64encode(bytes(damaged)).rstrip(b"=").decode()
            assert "not a token this server issued" in refused(altered)


def test_every_single_character_change_is_refused() -> None:
    issued = token()
    for index, original in enumerate(issued):
        for replacement in sorted(URL_SAFE - {original}):
            refused(issued[:index] + replacement + issued[index + 1 :])


def test_truncated_and_extended_tokens_are_refused() -> None:
    issued = token()
    for cut in range(len(issued)):
        refused(issued[:cut] or "A")
    refused(issued + "A")
    refused(issued + "AAAA")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    other = CursorCodec(b"another secret, also 32 bytes..")
    assert "not a token this server issued" in refused(other.issue(POSITION, AS_OF, SCOPE))


def test_the_old_unsigned_format_is_refused() -> None:
    at = (T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    body = struct.pack(">Bqqq", 1, at, 0, at)
    old = base64.urlsafe_b64encode(body + struct.pack(">I", zlib.crc32(body))).rstrip(b"=")
    assert "not a token this server issued" in refused(old.decode())


def test_another_key_is_refused_even_with_a_fresh_added_after() -> None:
    assert "another API key" in refused(token(), replace(SCOPE, key_id="k2"))
    fresh = replace(SCOPE, key_id="k2", added_after=T0)
    assert "another API key" in refused(token(), fresh)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"endpoint": Endpoint.MANIFEST}, "issued for TAXII Get Objects, not TAXII Get Object"),
        ({"endpoint": Endpoint.SEARCH}, "not the REST search"),
        ({"filters": {"match[type]": ["indicator"]}}, "other filters"),
        ({"filters": {**SCOPE.filters, "match[id]": ["x"]}}, "other filters"),
        ({"filters": {"match[type]": ["vulnerability"], "match[version]": ["all"]}}, "filters"),
    ],
)
def test_another_endpoint_or_other_filters_are_refused(change: dict[str, Any], why: str) -> None:
    for added_after in (None, SCOPE.added_after):  # none, or the walk's own: not stale
        scope = replace(SCOPE, **change, added_after=added_after)
        assert why in refused(token(), scope)


def test_the_order_of_filter_values_does_not_count() -> None:
    scope = replace(SCOPE, filters={"match[version]": ["all"], "match[type]": ["indicator"]})
    assert CODEC.resume(token(), scope).after == POSITION


def test_the_walk_continues_with_its_own_added_after_or_none() -> None:
    for added_after in (SCOPE.added_after, None):
        scope = replace(SCOPE, added_after=added_after)
        assert CODEC.resume(token(), scope) == Resume(POSITION, AS_OF, SCOPE.added_after)


def test_a_stale_token_with_a_fresh_added_after_starts_a_fresh_walk() -> None:
    fresh = T0 + timedelta(hours=1)
    changes: tuple[dict[str, Any], ...] = (
        {},
        {"place": "domains/"},
        {"endpoint": Endpoint.MANIFEST},
        {"filters": {}},
    )
    for change in changes:
        scope = replace(SCOPE, **change, added_after=fresh)
        assert CODEC.resume(token(), scope) == Resume(None, None, fresh)


def test_another_collection_restarts_from_the_walks_added_after() -> None:
    scope = replace(SCOPE, place="domains/", added_after=None)
    assert CODEC.resume(token(), scope) == Resume(None, None, SCOPE.added_after)


def test_another_collection_is_refused_when_the_walk_had_no_added_after() -> None:
    unbounded = replace(SCOPE, added_after=None)
    issued = CODEC.issue(POSITION, AS_OF, unbounded)
    elsewhere = replace(SCOPE, place="domains/", added_after=None)
    assert refused(issued, elsewhere) == (
        "next was issued for another collection; start again without it"
    )
    other_object = replace(SCOPE, endpoint=Endpoint.OBJECT, added_after=None)
    issued = CODEC.issue(POSITION, AS_OF, other_object)
    assert "another object" in refused(
        issued,
        replace(SCOPE, endpoint=Endpoint.OBJECT, place="all/x", added_after=None),
    )


def test_a_stale_token_is_still_checked_for_forgery() -> None:
    fresh = replace(SCOPE, added_after=T0 + timedelta(hours=1))
    other = CursorCodec(b"another secret, also 32 bytes..")
    refused(other.issue(POSITION, AS_OF, SCOPE), fresh)
    refused(token()[:-1] + ("A" if token()[-1] != "A" else "B"), fresh)


@given(st.text())
def test_arbitrary_text_only_ever_raises_invalid_query(text: str) -> None:
    failure: InvalidQuery | None = None
    try:
        CODEC.resume(text, SCOPE)
    except InvalidQuery as exc:
        failure = exc
    assert failure is None or failure.parameter == "next"


@given(st.binary(min_size=0, max_size=70))
def test_arbitrary_url_safe_tokens_are_refused(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    refused(text or "A")


def test_the_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec(b"short")
