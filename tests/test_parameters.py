"""Shared parameter rules: each failure names its parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iocfeed.errors import InvalidQuery, LimitExceeded
from iocfeed.indicators.model import IocType
from iocfeed.parameters import parse_limit, parse_time, parse_types, split_values


def test_split_values_accepts_repeats_and_commas() -> None:
    assert split_values(["ipv4, domain", "", " url "]) == ["ipv4", "domain", "url"]
    assert split_values("md5") == ["md5"]
    assert split_values(None) == []


def test_parse_types() -> None:
    assert parse_types(["IPv4,domain"]) == {IocType.IPV4, IocType.DOMAIN}
    assert parse_types(None) == frozenset()
    with pytest.raises(InvalidQuery, match="type must be one of") as caught:
        parse_types("ip")
    assert caught.value.parameter == "type"


def test_parse_time() -> None:
    assert parse_time("2026-05-01", "since") == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_time(None, "since") is None
    with pytest.raises(InvalidQuery, match="since is empty") as empty:
        parse_time(" ", "since")  # `since=` is a mistake, not "no bound"
    assert empty.value.parameter == "since"
    with pytest.raises(InvalidQuery) as caught:
        parse_time("yesterday", "until")
    assert caught.value.parameter == "until"
    with pytest.raises(InvalidQuery, match="time zone"):
        parse_time(datetime(2026, 5, 1), "since")


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 500), ("", 500), ("7", 7), (1000, 1000), (" 20 ", 20)]
)
def test_parse_limit(raw: int | str | None, expected: int) -> None:
    assert parse_limit(raw, default=500, maximum=1000) == expected


def test_parse_limit_errors_name_the_cap() -> None:
    with pytest.raises(LimitExceeded, match="at most 1000, got 1001"):
        parse_limit(1001, default=500, maximum=1000)
    for bad in ("0", "-3", "ten"):
        with pytest.raises(InvalidQuery) as caught:
            parse_limit(bad, default=500, maximum=1000)
        assert caught.value.parameter == "limit"
