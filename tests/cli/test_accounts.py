"""``iocfeed accounts`` and ``users`` (SPEC §7), and ``keys create --account`` with narrowing:
what the commands make is what the server then enforces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from typer.testing import Result

from iocfeed.auth.access import authenticate
from iocfeed.auth.keys import parse_key
from iocfeed.config import load_settings
from iocfeed.errors import AccountSuspended
from iocfeed.services import build_services
from iocfeed.store.audit import AuditFilter

Iocfeed = Callable[..., Result]


def _key_id(key: str) -> str:
    parsed = parse_key(key)
    assert parsed is not None
    return parsed[0]


def test_accounts_create_list_set_plan_suspend_activate(iocfeed: Iocfeed) -> None:
    assert iocfeed("accounts", "create", "Acme SOC", "--plan", "pro").exit_code == 0
    again = iocfeed("accounts", "create", "Acme SOC", "--plan", "pro")
    assert again.exit_code == 1
    assert "already exists" in again.output
    unknown = iocfeed("accounts", "create", "Other", "--plan", "gold")
    assert unknown.exit_code == 2
    assert "unknown plan 'gold'" in unknown.output
    key = iocfeed("keys", "create", "--account", "Acme SOC", "--name", "sentinel").stdout.strip()
    listing = iocfeed("accounts", "list").stdout
    assert "Acme SOC" in listing and "pro" in listing and "active" in listing

    built = build_services(load_settings())
    try:
        now = datetime.now(UTC)
        plans = built.settings.plans
        assert authenticate(key, built.keys, plans, now).plan.title == "Pro"
        assert iocfeed("accounts", "set-plan", "Acme SOC", "--plan", "free").exit_code == 0
        assert authenticate(key, built.keys, plans, now).plan.title == "Free"
        assert iocfeed("accounts", "suspend", "Acme SOC").exit_code == 0
        try:
            authenticate(key, built.keys, plans, now)
            raise AssertionError("a suspended account's key was accepted")
        except AccountSuspended:
            pass
        assert "suspended" in iocfeed("accounts", "list").stdout
        assert iocfeed("accounts", "unsuspend", "Acme SOC").exit_code == 0
        assert authenticate(key, built.keys, plans, now).account_name == "Acme SOC"
        account_id = built.accounts.named("Acme SOC").account_id
        actions = [r.action for r in built.audit.query(AuditFilter(account_id=account_id))]
        assert actions == [
            "accounts.activate",
            "accounts.suspend",
            "accounts.set_plan",
            "keys.create",
            "accounts.create",
        ]
    finally:
        built.close()
    assert iocfeed("accounts", "suspend", "Nobody").exit_code == 1


def test_keys_create_for_an_account_with_narrowing(iocfeed: Iocfeed) -> None:
    iocfeed("accounts", "create", "Acme", "--plan", "pro")
    created = iocfeed(
        "keys", "create", "--account", "Acme", "--name", "firewall", "--scope", "read:stix",
        "--max-tlp", "green", "--expires", "2099-01-01", "--network", "192.0.2.0/24",
        "--device",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert created.stdout == key + "\n"
    built = build_services(load_settings())
    try:
        stored = built.keys.get(_key_id(key))
    finally:
        built.close()
    assert stored.scopes == {"read:stix"}
    assert stored.max_tlp is not None and stored.max_tlp.value == "green"
    assert stored.expires == datetime(2099, 1, 1, tzinfo=UTC)
    assert stored.networks == ("192.0.2.0/24",)
    assert stored.device
    listing = iocfeed("keys", "list", "--account", "Acme").stdout
    assert "firewall" in listing and "device" in listing


def test_keys_are_never_widened_past_the_plan(iocfeed: Iocfeed) -> None:
    iocfeed("accounts", "create", "Acme", "--plan", "free")
    wide = iocfeed("keys", "create", "--account", "Acme", "--name", "k", "--scope", "read:stix")
    assert wide.exit_code == 2
    assert "--scopes: the Free plan does not include read:stix" in " ".join(wide.output.split())
    red = iocfeed("keys", "create", "--account", "Acme", "--name", "k", "--max-tlp", "red")
    assert red.exit_code == 2
    bad = iocfeed("keys", "create", "--account", "Acme", "--name", "k", "--network", "x")
    assert bad.exit_code == 2
    both = iocfeed("keys", "create", "--account", "Acme", "--plan", "pro", "--name", "k")
    assert both.exit_code == 2
    assert iocfeed("keys", "create", "--account", "Nobody", "--name", "k").exit_code == 1


def test_keys_narrow_and_revoke(iocfeed: Iocfeed) -> None:
    key = iocfeed("keys", "create", "--plan", "pro", "--name", "scripts").stdout.strip()
    key_id = _key_id(key)
    assert iocfeed("keys", "narrow", key_id, "--max-tlp", "clear").exit_code == 0
    assert iocfeed("keys", "narrow", key_id, "--scope", "write:iocs").exit_code == 2
    built = build_services(load_settings())
    try:
        assert built.keys.get(key_id).max_tlp is not None
        assert built.keys.get(key_id).account_name == "scripts"
    finally:
        built.close()
    assert iocfeed("keys", "revoke", key_id).exit_code == 0


def test_users_create_reads_the_password_from_stdin(iocfeed: Iocfeed) -> None:
    iocfeed("accounts", "create", "Acme", "--plan", "pro")
    made = iocfeed(
        "users", "create", "Ada@Example.org", "--account", "Acme", "--role", "owner",
        "--site-role", "admin", input="a long enough passphrase\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "a long enough passphrase" not in made.output
    no_password = iocfeed("users", "create", "bob@example.org", "--account", "Acme", input="")
    assert no_password.exit_code == 2
    short = iocfeed("users", "create", "bob@example.org", "--account", "Acme", input="short\n")
    assert short.exit_code == 2
    assert "--password" in short.output
    listing = iocfeed("users", "list").stdout
    assert "ada@example.org" in listing and "owner" in listing and "admin" in listing
    built = build_services(load_settings())
    try:
        signed = built.people.sign_in("ada@example.org", "a long enough passphrase", None, None)
        assert signed.user.is_admin
    finally:
        built.close()


def test_users_reset_prints_a_one_time_link(iocfeed: Iocfeed) -> None:
    iocfeed("accounts", "create", "Acme", "--plan", "pro")
    iocfeed("users", "create", "ada@example.org", "--account", "Acme", input="passphrase one\n")
    reset = iocfeed("users", "reset", "ADA@example.org")
    assert reset.exit_code == 0
    path = reset.stdout.strip()
    assert path.startswith("/reset-password/")
    built = build_services(load_settings())
    try:
        built.people.consume_reset_link(path.rsplit("/", 1)[1], "passphrase two!")
        assert built.people.sign_in("ada@example.org", "passphrase two!", None, None).token
    finally:
        built.close()
    assert iocfeed("users", "reset", "nobody@example.org").exit_code == 1
    assert iocfeed("users", "disable", "ada@example.org").exit_code == 0
    assert "disabled" in iocfeed("users", "list", "--account", "Acme").stdout
