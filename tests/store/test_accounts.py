"""Accounts and keys at rest, on SQLite and PostgreSQL; the migration that gives every
existing key an account of its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from iocfeed.accounts.model import AccountStatus, Narrowing
from iocfeed.auth.access import authenticate
from iocfeed.auth.keys import generate_key
from iocfeed.config import DEFAULT_PLANS, Scope
from iocfeed.errors import AccountSuspended, Conflict, NotFound
from iocfeed.indicators.model import Tlp
from iocfeed.store.accounts import AccountStore
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.migrate import upgrade
from iocfeed.store.rows import to_us
from tests.conftest import postgres_url, sqlite_url

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind, not yet migrated."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = postgres_url(request.getfixturevalue("postgres_schema"))
    engine = open_engine(url)
    yield engine
    engine.dispose()


def test_migration_moves_each_existing_key_into_an_account_of_its_own(
    bare_engine: Engine,
) -> None:
    upgrade(bare_engine, "0005")
    made: dict[str, tuple[str, str]] = {}
    with bare_engine.begin() as connection:
        for index, (name, plan) in enumerate(
            [("sentinel", "pro"), ("scripts", "free"), ("sentinel", "enterprise")]
        ):
            new = generate_key()
            connection.execute(
                text(
                    "INSERT INTO api_keys (key_id, name, plan, secret_hash, created) "
                    "VALUES (:key_id, :name, :plan, :hash, :created)"
                ),
                {
                    "key_id": new.key_id,
                    "name": name,
                    "plan": plan,
                    "hash": new.secret_hash,
                    "created": to_us(NOW) + index,
                },
            )
            made[new.plaintext] = (name, plan)
    upgrade(bare_engine)

    keys = KeyStore(bare_engine)
    accounts = AccountStore(bare_engine)
    seen_accounts = set()
    for plaintext, (name, plan) in made.items():
        principal = authenticate(plaintext, keys, DEFAULT_PLANS, NOW)
        assert principal.key.name == name
        assert principal.account.plan == plan
        assert principal.plan.scopes == DEFAULT_PLANS[plan].scopes
        assert principal.account.status is AccountStatus.ACTIVE
        assert principal.account.created == principal.key.created
        seen_accounts.add(principal.account_id)
    assert len(seen_accounts) == 3
    names = sorted(account.name for account in accounts.list())
    assert names[:2] == ["scripts", "sentinel"]
    assert names[2].startswith("sentinel (")


def test_accounts_are_created_listed_changed_and_unique(engine: Engine) -> None:
    accounts = AccountStore(engine)
    acme = accounts.create(name="Acme", plan="pro", now=NOW)
    accounts.create(name="Blue Team", plan="free", now=NOW)
    with pytest.raises(Conflict, match="already exists"):
        accounts.create(name="Acme", plan="free", now=NOW)
    assert [a.name for a in accounts.list()] == ["Acme", "Blue Team"]
    assert [a.name for a in accounts.list(after="Acme")] == ["Blue Team"]
    assert [a.name for a in accounts.list(limit=1)] == ["Acme"]
    assert accounts.set_plan(acme.account_id, "enterprise").plan == "enterprise"
    suspended = accounts.set_status(acme.account_id, AccountStatus.SUSPENDED)
    assert suspended.suspended
    assert accounts.named("Acme") == suspended
    with pytest.raises(NotFound):
        accounts.named("Nobody")
    with pytest.raises(NotFound):
        accounts.get(10_000)


def test_key_narrowing_round_trips_and_the_account_decides_at_once(engine: Engine) -> None:
    accounts, keys = AccountStore(engine), KeyStore(engine)
    acme = accounts.create(name="Acme", plan="enterprise", now=NOW)
    narrowing = Narrowing(
        scopes=frozenset({Scope.READ_STIX, Scope.READ_IOCS}),
        max_tlp=Tlp.GREEN,
        expires=NOW + timedelta(days=30),
        networks=("192.0.2.0/24",),
        device=True,
    )
    key, plaintext = keys.create(
        name="firewall", account_id=acme.account_id, now=NOW, narrowing=narrowing
    )
    assert key.narrowing == narrowing
    assert key.account_name == "Acme"
    assert keys.get(key.key_id).narrowing == narrowing

    principal = authenticate(plaintext, keys, DEFAULT_PLANS, NOW, "192.0.2.9")
    assert principal.account_name == "Acme"
    assert principal.plan.max_tlp is Tlp.GREEN
    assert principal.grant.device

    widened = keys.narrow(key.key_id, Narrowing())
    assert widened.narrowing == Narrowing()
    accounts.set_plan(acme.account_id, "free")
    principal = authenticate(plaintext, keys, DEFAULT_PLANS, NOW, "203.0.113.5")
    assert principal.plan.scopes == {Scope.READ_IOCS}
    accounts.set_status(acme.account_id, AccountStatus.SUSPENDED)
    with pytest.raises(AccountSuspended, match="This account is suspended"):
        authenticate(plaintext, keys, DEFAULT_PLANS, NOW)


def test_a_key_made_with_a_plan_goes_to_the_account_named_after_it(engine: Engine) -> None:
    keys = KeyStore(engine)
    first, _ = keys.create(name="sentinel", plan="pro", now=NOW)
    second, _ = keys.create(name="sentinel", plan="pro", now=NOW)
    other, _ = keys.create(name="sentinel", plan="free", now=NOW)
    assert first.account_id == second.account_id
    assert first.account_name == "sentinel"
    assert other.account_id != first.account_id
    assert other.account_name == "sentinel (2)"
    assert other.plan == "free"
    assert {k.key_id for k in keys.list(first.account_id)} == {first.key_id, second.key_id}


def test_last_use_is_recorded_in_one_batch(engine: Engine) -> None:
    keys = KeyStore(engine)
    one, _ = keys.create(name="one", plan="pro", now=NOW)
    two, _ = keys.create(name="two", plan="pro", now=NOW)
    later = NOW + timedelta(minutes=5)
    keys.touch({one.key_id: (later, "192.0.2.1"), two.key_id: (NOW, None)})
    assert keys.get(one.key_id).last_used == later
    assert keys.get(one.key_id).last_address == "192.0.2.1"
    assert keys.get(two.key_id).last_used == NOW
    assert keys.get(two.key_id).last_address is None
