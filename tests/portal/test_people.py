"""People: sign-in with argon2id passwords and optional TOTP, sessions stored as hashes,
failed sign-ins slowed then locked per user and per address, one-time reset links."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from iocfeed.accounts.people import Role, SiteRole
from iocfeed.clock import FixedClock
from iocfeed.errors import (
    AccountSuspended,
    Conflict,
    InvalidInput,
    SecondFactorNeeded,
    SignInLocked,
    SignInRefused,
)
from iocfeed.portal.actors import OPERATOR
from iocfeed.portal.people import RESET_PATH, token_hash
from iocfeed.services import Services
from iocfeed.store.audit import AuditFilter
from iocfeed.store.schema import password_resets, user_sessions, users
from tests.portal.conftest import NOW

PASSWORD = "correct horse battery"


def _person(built: Services, email: str = "Alice@Example.org", **roles: object) -> int:
    account = built.accounts.create("Acme", "pro", OPERATOR)
    user = built.people.create_user(email, PASSWORD, account.account_id, **roles)  # type: ignore[arg-type]
    return user.user_id


def test_sign_in_gives_a_session_that_is_stored_only_as_a_hash(built: Services) -> None:
    user_id = _person(built, role=Role.OWNER, site_role=SiteRole.ADMIN)
    signed = built.people.sign_in("ALICE@example.org", PASSWORD, None, "192.0.2.1")
    assert signed.user.user_id == user_id
    assert signed.user.email == "alice@example.org"
    assert signed.account.name == "Acme"
    assert signed.user.is_admin and signed.user.role is Role.OWNER
    with built.engine.connect() as connection:
        stored = connection.execute(select(user_sessions.c.token_hash)).scalars().all()
        hashes = connection.execute(select(users.c.password_hash)).scalars().all()
    assert stored == [token_hash(signed.token)]
    assert signed.token not in stored
    assert hashes[0].startswith("$argon2id$")
    person = built.people.current_user(signed.token)
    assert person is not None
    assert person.user.user_id == user_id and person.account.plan == "pro"
    built.people.sign_out(signed.token)
    assert built.people.current_user(signed.token) is None
    actions = [
        r.action for r in built.audit.query(AuditFilter(account_id=signed.account.account_id))
    ]
    assert actions == ["users.sign_in", "users.create", "accounts.create"]


def test_a_wrong_password_or_unknown_email_is_refused_alike(built: Services) -> None:
    _person(built)
    with pytest.raises(SignInRefused) as wrong:
        built.people.sign_in("alice@example.org", "wrong password!", None, None)
    with pytest.raises(SignInRefused) as unknown:
        built.people.sign_in("nobody@example.org", PASSWORD, None, None)
    assert wrong.value.message == unknown.value.message == "Wrong e-mail or password"


def test_sessions_expire_and_idle_out(built: Services, clock: FixedClock) -> None:
    _person(built)
    first = built.people.sign_in("alice@example.org", PASSWORD, None, None)
    clock.at = NOW + timedelta(minutes=119)
    assert built.people.current_user(first.token) is not None  # seen: idle clock restarts
    clock.at = NOW + timedelta(minutes=119 + 121)
    assert built.people.current_user(first.token) is None  # idle past 120 minutes
    second = built.people.sign_in("alice@example.org", PASSWORD, None, None)
    for hours in range(1, 13):
        clock.at = NOW + timedelta(minutes=240, hours=hours)
        seen = built.people.current_user(second.token)
    assert seen is None  # 12 hours at most, however busy


def test_repeated_failures_are_slowed_then_locked_per_user(
    built: Services, clock: FixedClock
) -> None:
    _person(built)
    people = built.people
    for _ in range(2):
        with pytest.raises(SignInRefused) as refused:
            people.sign_in("alice@example.org", "wrong password!", None, "192.0.2.1")
        assert not isinstance(refused.value, SignInLocked)
    with pytest.raises(SignInLocked) as slowed:
        people.sign_in("alice@example.org", "wrong password!", None, "192.0.2.2")
    assert slowed.value.retry_after == 1
    # Inside the block even the right password is refused, before it is checked.
    with pytest.raises(SignInLocked):
        people.sign_in("alice@example.org", PASSWORD, None, "192.0.2.3")
    waits = []
    for _ in range(7):
        clock.at += timedelta(seconds=1000)
        with pytest.raises(SignInLocked) as locked:
            people.sign_in("alice@example.org", "wrong password!", None, "192.0.2.4")
        waits.append(locked.value.retry_after)
    assert waits == [2, 4, 8, 16, 32, 64, 900]
    clock.at += timedelta(seconds=899)
    with pytest.raises(SignInLocked) as still:
        people.sign_in("alice@example.org", PASSWORD, None, "192.0.2.5")
    assert still.value.retry_after == 1
    clock.at += timedelta(seconds=1)
    assert people.sign_in("alice@example.org", PASSWORD, None, "192.0.2.5").token
    # Success clears the user's count: the next failure is free again.
    with pytest.raises(SignInRefused) as fresh:
        people.sign_in("alice@example.org", "wrong password!", None, "192.0.2.6")
    assert not isinstance(fresh.value, SignInLocked)


def test_one_address_trying_many_users_is_slowed_and_locked(
    built: Services, clock: FixedClock
) -> None:
    _person(built)
    for number in range(9):
        with pytest.raises(SignInRefused) as refused:
            built.people.sign_in(f"user{number}@example.org", "guess guess!", None, "203.0.113.9")
        assert not isinstance(refused.value, SignInLocked)
    with pytest.raises(SignInLocked) as slowed:
        built.people.sign_in("user9@example.org", "guess guess!", None, "203.0.113.9")
    assert slowed.value.retry_after == 1
    with pytest.raises(SignInLocked):
        built.people.sign_in("alice@example.org", PASSWORD, None, "203.0.113.9")
    # Another address is not affected.
    assert built.people.sign_in("alice@example.org", PASSWORD, None, "192.0.2.1").token


def test_totp_is_enrolled_then_required(built: Services, clock: FixedClock) -> None:
    user_id = _person(built)
    people = built.people
    enrolment = people.start_totp(user_id)
    assert enrolment.uri.startswith("otpauth://totp/")
    with pytest.raises(InvalidInput):
        people.confirm_totp(user_id, enrolment.secret, "000000")
    totp = pyotp.TOTP(enrolment.secret)
    assert people.confirm_totp(user_id, enrolment.secret, totp.at(NOW)).totp_enabled
    with pytest.raises(SecondFactorNeeded):
        people.sign_in("alice@example.org", PASSWORD, None, None)
    with pytest.raises(SignInRefused, match="Wrong one-time code"):
        people.sign_in(
            "alice@example.org", PASSWORD, "123456" if totp.at(NOW) != "123456" else "654321", None
        )
    assert people.sign_in("alice@example.org", PASSWORD, totp.at(NOW), None).token


def test_a_reset_link_works_once_before_it_expires(built: Services, clock: FixedClock) -> None:
    user_id = _person(built)
    people = built.people
    old = people.sign_in("alice@example.org", PASSWORD, None, None)
    path = people.create_reset_link(user_id, OPERATOR)
    assert path.startswith(RESET_PATH + "/")
    token = path.rsplit("/", 1)[1]
    with built.engine.connect() as connection:
        assert connection.execute(select(password_resets.c.token_hash)).scalar_one() == (
            token_hash(token)
        )
    user = people.reset_link_user(token)
    assert user is not None and user.user_id == user_id
    with pytest.raises(InvalidInput):
        people.consume_reset_link(token, "short")
    people.consume_reset_link(token, "a new long passphrase")
    assert people.current_user(old.token) is None  # every session ended
    with pytest.raises(SignInRefused, match="unknown, used or expired"):
        people.consume_reset_link(token, "another long passphrase")
    assert people.sign_in("alice@example.org", "a new long passphrase", None, None).token
    late = people.create_reset_link(user_id, OPERATOR).rsplit("/", 1)[1]
    clock.at = NOW + timedelta(hours=25)
    assert people.reset_link_user(late) is None
    with pytest.raises(SignInRefused):
        people.consume_reset_link(late, "yet another passphrase")


def test_people_of_a_suspended_account_are_refused(built: Services) -> None:
    _person(built)
    session = built.people.sign_in("alice@example.org", PASSWORD, None, None)
    account = built.accounts.named("Acme")
    built.accounts.suspend(account.account_id, OPERATOR)
    with pytest.raises(AccountSuspended, match="This account is suspended"):
        built.people.current_user(session.token)
    with pytest.raises(AccountSuspended):
        built.people.sign_in("alice@example.org", PASSWORD, None, None)


def test_a_disabled_person_is_signed_out_and_refused(built: Services) -> None:
    user_id = _person(built)
    session = built.people.sign_in("alice@example.org", PASSWORD, None, None)
    built.people.set_disabled(user_id, True, OPERATOR)
    assert built.people.current_user(session.token) is None
    with pytest.raises(SignInRefused, match="disabled"):
        built.people.sign_in("alice@example.org", PASSWORD, None, None)


def test_emails_are_unique_whatever_their_case(built: Services) -> None:
    _person(built)
    account = built.accounts.named("Acme")
    with pytest.raises(Conflict):
        built.people.create_user("ALICE@example.ORG", PASSWORD, account.account_id)
    with pytest.raises(InvalidInput) as bad:
        built.people.create_user("not an address", PASSWORD, account.account_id)
    assert bad.value.parameter == "email"
    with pytest.raises(InvalidInput) as short:
        built.people.create_user("bob@example.org", "short", account.account_id)
    assert short.value.parameter == "password"
    built.people.create_user("bob@example.org", PASSWORD, account.account_id)
    emails = [user.email for user in built.people.list_users(account_id=account.account_id)]
    assert emails == ["alice@example.org", "bob@example.org"]
    assert [u.email for u in built.people.list_users(after="alice@example.org")] == [
        "bob@example.org"
    ]
