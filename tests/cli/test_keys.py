"""``iocfeed keys``: the key alone on stdout, listing without secrets, revocation."""

from __future__ import annotations

from collections.abc import Callable

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
