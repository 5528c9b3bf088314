"""``iocfeed keys``: the key alone on stdout, listing without secrets, revocation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from iocfeed.auth.keys import parse_key

Iocfeed = Callable[..., Result]


def test_create_prints_only_the_key(iocfeed: Iocfeed) -> None:
    result = iocfeed("keys", "create", "--plan", "pro", "--name", "sentinel")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert result.stdout == key + "\n"
    assert key.startswith("iocf_")
    assert parse_key(key) is not None


def test_list_never_shows_secrets_and_revoke_marks_the_key(iocfeed: Iocfeed) -> None:
    key = iocfeed("keys", "create", "--plan", "free", "--name", "scripts").stdout.strip()
    parsed = parse_key(key)
    assert parsed is not None
    key_id, secret = parsed
    listing = iocfeed("keys", "list").stdout
    assert key_id in listing
    assert secret not in listing
    assert "active" in listing
    assert iocfeed("keys", "revoke", key_id).exit_code == 0
    assert "revoked" in iocfeed("keys", "list").stdout
    assert iocfeed("keys", "revoke", "nosuchkey").exit_code == 1


def test_unknown_plan_and_bad_expiry_are_rejected(iocfeed: Iocfeed) -> None:
    assert iocfeed("keys", "create", "--plan", "gold", "--name", "x").exit_code == 2
    result = iocfeed("keys", "create", "--plan", "pro", "--name", "x", "--expires", "soon")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("0001-01-01T00:00:00+01:00", "out of range in UTC"),
        ("9999-12-31T23:59:59-23:59", "at most 9999-12-31T23:59:59Z"),
        ("2020-01-01", "already passed"),
    ],
)
def test_out_of_range_expiry_is_refused_and_listing_keeps_working(
    iocfeed: Iocfeed, expires: str, message: str
) -> None:
    result = iocfeed("keys", "create", "--plan", "pro", "--name", "x", "--expires", expires)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    listing = iocfeed("keys", "list")
    assert listing.exit_code == 0, listing.output
