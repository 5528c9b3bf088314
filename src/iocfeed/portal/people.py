"""Use cases: people and sign-in. The pages build the HTTP side (cookie, CSRF, forms) on
these; the ``users`` commands call them too.

* ``sign_in`` checks e-mail, password (argon2id) and, when the user has one, the TOTP code;
  it returns a session token for the cookie. Only SHA-256 of the token is stored.
* Failed sign-ins are counted per user and per client address and slowed, then locked
  (``accounts.throttle``; the numbers are settings, see the README). An attempt while
  blocked raises ``SignInLocked`` with the seconds to wait, before any password is checked.
* ``current_user`` reads the session, its user and account on every call (no cache): a
  disabled user, an expired or idle session answers None; a suspended account raises
  ``AccountSuspended`` (403 through the error table).
* Password reset: an admin makes a one-time link (``RESET_PATH``/token); it expires after
  ``reset_link_hours``, works once, and ends the user's sessions when used.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from iocfeed.accounts.model import Account
from iocfeed.accounts.people import MAX_EMAIL, Role, SiteRole, User, canonical_email
from iocfeed.accounts.throttle import ThrottlePolicy, block_seconds, failures_now
from iocfeed.clock import Clock
from iocfeed.config import Settings
from iocfeed.errors import (
    AccountSuspended,
    InvalidInput,
    NotFound,
    SecondFactorNeeded,
    SignInLocked,
    SignInRefused,
)
from iocfeed.portal.actors import OPERATOR, Actor
from iocfeed.store.accounts import AccountStore
from iocfeed.store.audit import AuditLog
from iocfeed.store.people import Failures, PeopleStore

RESET_PATH = "/reset-password"
"""Where a reset link points: ``RESET_PATH + "/" + token`` (the pages serve it)."""

TOTP_ISSUER = "iocfeed"
MAX_PASSWORD = 1024
WRONG = "Wrong e-mail or password"
# A session's last_seen is written at most this often (it drives the idle timeout only).
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: ``token`` goes in the cookie and is never stored (only its hash)."""

    token: str
    user: User
    account: Account
    expires: datetime


@dataclass(frozen=True, slots=True)
class Person:
    """The person behind a session, and their account (read from the store, not cached)."""

    user: User
    account: Account
    session_expires: datetime


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A TOTP secret to show (as text and as the ``otpauth://`` URI for a QR code); it is
    stored only once ``confirm_totp`` sees a code made from it."""

    secret: str
    uri: str


Subjects = list[tuple[str, ThrottlePolicy]]
"""Who a sign-in attempt counts against: ``user:<email>`` and ``address:<ip>``."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class People:
    """People, sessions, sign-in throttling, TOTP and reset links."""

    def __init__(
        self,
        settings: Settings,
        store: PeopleStore,
        accounts: AccountStore,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self.audit = audit
        self.clock = clock
        # argon2id; the defaults are RFC 9106's second recommendation (t=3, 64 MiB).
        self.hasher = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=1,
        )
        self._dummy_hash: str | None = None
        self._lock = threading.Lock()
        self.user_policy = ThrottlePolicy(
            free_failures=settings.sign_in_free_failures,
            first_delay=settings.sign_in_first_delay_seconds,
            lock_failures=settings.sign_in_lock_failures,
            lock_seconds=settings.sign_in_lock_seconds,
            window_seconds=settings.sign_in_window_seconds,
        )
        self.address_policy = ThrottlePolicy(
            free_failures=settings.sign_in_address_free_failures,
            first_delay=settings.sign_in_first_delay_seconds,
            lock_failures=settings.sign_in_address_lock_failures,
            lock_seconds=settings.sign_in_lock_seconds,
            window_seconds=settings.sign_in_window_seconds,
        )

    # --- sign-in ----------------------------------------------------------------------------

    def sign_in(
        self, email: str, password: str, totp_code: str | None, client_address: str | None
    ) -> SignedIn:
        """A session for the person, or:

        SignInLocked (with ``retry_after``): too many recent failures for this e-mail or
        address; SignInRefused: wrong e-mail or password (never saying which), wrong code,
        or a disabled user; SecondFactorNeeded: right password, TOTP code needed;
        AccountSuspended: the person's account is suspended.
        """
        now = self.clock.now()
        wanted = canonical_email(email) or email.strip().lower()[:MAX_EMAIL]
        subjects: Subjects = [(f"user:{wanted}", self.user_policy)]
        if client_address:
            subjects.append((f"address:{client_address}", self.address_policy))
        self._refuse_if_blocked(subjects, now)
        found = self.store.credentials(wanted)
        if not self._password_matches(found.password_hash if found else None, password):
            self._failed(subjects, now, WRONG)
        assert found is not None
        if found.totp_secret is not None:
            if not totp_code or not totp_code.strip():
                raise SecondFactorNeeded("Enter the 6-digit code from your authenticator app")
            if not pyotp.TOTP(found.totp_secret).verify(
                totp_code.strip(), for_time=now, valid_window=1
            ):
                self._failed(subjects, now, "Wrong one-time code")
        user = found.user
        if user.disabled:
            raise SignInRefused("This user is disabled; ask an administrator")
        account = self.accounts.get(user.account_id)
        if account.suspended:
            raise AccountSuspended("This account is suspended: its people cannot sign in")
        if self.hasher.check_needs_rehash(found.password_hash):
            self.store.update_user(user.user_id, password_hash=self.hasher.hash(password))
        self.store.clear_failures(subjects[0][0])
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=self.settings.session_hours)
        self.store.create_session(
            token_hash=token_hash(token),
            user_id=user.user_id,
            now=now,
            expires=expires,
            client_address=client_address,
        )
        self._audit(
            Actor(user_id=user.user_id),
            "users.sign_in",
            account.account_id,
            {"email": user.email, "client_address": client_address},
        )
        return SignedIn(token, user, account, expires)

    def current_user(
        self, token: str, now: datetime | None = None, client_address: str | None = None
    ) -> Person | None:
        """The person signed in with ``token``; None for an unknown, expired or idle session
        or a disabled user. AccountSuspended if their account is suspended."""
        now = now or self.clock.now()
        hashed = token_hash(token)
        found = self.store.session(hashed)
        if found is None:
            return None
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        if found.expires <= now or found.last_seen + idle <= now or found.user.disabled:
            self.store.end_session(hashed)
            return None
        if found.account.suspended:
            raise AccountSuspended("This account is suspended: its people cannot use the pages")
        if now - found.last_seen >= _TOUCH_EVERY:
            self.store.touch_session(hashed, now, client_address or found.client_address)
        return Person(found.user, found.account, found.expires)

    def sign_out(self, token: str) -> None:
        """End the session (nothing happens for an unknown token)."""
        self.store.end_session(token_hash(token))

    def _refuse_if_blocked(self, subjects: Subjects, now: datetime) -> None:
        for subject, _ in subjects:
            failures = self.store.failures(subject)
            if failures is not None and failures.blocked_until > now:
                wait = math.ceil((failures.blocked_until - now).total_seconds())
                raise SignInLocked(
                    f"Too many failed sign-ins: try again in {wait} s", retry_after=wait
                )

    def _failed(self, subjects: Subjects, now: datetime, why: str) -> None:
        wait = 0.0
        for subject, policy in subjects:
            before = self.store.failures(subject)
            count = 1
            if before is not None:
                since = (now - before.last_failure).total_seconds()
                count += failures_now(before.failures, since, policy)
            block = block_seconds(count, policy)
            wait = max(wait, block)
            self.store.set_failures(subject, Failures(count, now, now + timedelta(seconds=block)))
        if wait > 0:
            seconds = math.ceil(wait)
            raise SignInLocked(
                f"{why}. Too many failed sign-ins: try again in {seconds} s",
                retry_after=seconds,
            )
        raise SignInRefused(why)

    def _password_matches(self, stored: str | None, password: str) -> bool:
        # An unknown e-mail costs one hash too, so timing does not tell which was wrong.
        try:
            return self.hasher.verify(stored or self._dummy(), password[:MAX_PASSWORD]) and (
                stored is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        with self._lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
            return self._dummy_hash

    # --- users ------------------------------------------------------------------------------

    def create_user(
        self,
        email: str,
        password: str,
        account_id: int,
        *,
        role: Role = Role.MEMBER,
        site_role: SiteRole = SiteRole.NONE,
        actor: Actor = OPERATOR,
    ) -> User:
        """A new person of the account; InvalidInput for a bad e-mail or short password,
        Conflict if the e-mail (in any case) is taken."""
        canonical = canonical_email(email)
        if canonical is None:
            raise InvalidInput(f"{email[:80]!r} is not an e-mail address", parameter="email")
        account = self.accounts.get(account_id)
        user = self.store.create_user(
            email=canonical,
            password_hash=self._hash_new(password),
            account_id=account.account_id,
            role=Role(role),
            site_role=SiteRole(site_role),
            now=self.clock.now(),
        )
        self._audit(
            actor,
            "users.create",
            account_id,
            {
                "user_id": user.user_id,
                "email": canonical,
                "role": user.role,
                "site_role": user.site_role,
            },
        )
        return user

    def user(self, user_id: int) -> User:
        return self.store.user(user_id)

    def user_by_email(self, email: str) -> User:
        found = self.store.credentials(canonical_email(email) or email.strip().lower())
        if found is None:
            raise NotFound(f"no user with e-mail {email[:80]!r}")
        return found.user

    def list_users(
        self, *, account_id: int | None = None, after: str | None = None, limit: int = 100
    ) -> list[User]:
        """Users by e-mail (an account's, or all), keyset-paged by the last e-mail."""
        return self.store.list_users(account_id=account_id, after=after, limit=limit)

    def set_roles(self, user_id: int, role: Role, site_role: SiteRole, actor: Actor) -> User:
        user = self.store.update_user(
            user_id, role=Role(role).value, site_role=SiteRole(site_role).value
        )
        self._audit(
            actor,
            "users.set_roles",
            user.account_id,
            {"user_id": user_id, "role": user.role, "site_role": user.site_role},
        )
        return user

    def set_disabled(self, user_id: int, disabled: bool, actor: Actor) -> User:
        """Disable (ending every session) or re-enable a person."""
        user = self.store.update_user(user_id, disabled=disabled)
        if disabled:
            self.store.end_sessions_of(user_id)
        self._audit(
            actor,
            "users.disable" if disabled else "users.enable",
            user.account_id,
            {"user_id": user_id},
        )
        return user

    def change_password(self, user_id: int, current: str, new: str) -> User:
        """The person's own change: SignInRefused unless ``current`` is right."""
        user = self.store.user(user_id)
        found = self.store.credentials(user.email)
        if found is None or not self._password_matches(found.password_hash, current):
            raise SignInRefused("The current password is wrong")
        changed = self.store.update_user(user_id, password_hash=self._hash_new(new))
        self._audit(
            Actor(user_id=user_id), "users.change_password", user.account_id, {"user_id": user_id}
        )
        return changed

    def _hash_new(self, password: str) -> str:
        shortest = self.settings.password_min_length
        if not shortest <= len(password) <= MAX_PASSWORD:
            raise InvalidInput(
                f"a password must be {shortest} to {MAX_PASSWORD} characters", parameter="password"
            )
        return self.hasher.hash(password)

    # --- password reset ---------------------------------------------------------------------

    def create_reset_link(self, user_id: int, actor: Actor) -> str:
        """A one-time link path (``/reset-password/<token>``) for the user to set a new
        password; only the token's hash is stored. Give it to the person out of band."""
        user = self.store.user(user_id)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        self.store.create_reset(
            token_hash=token_hash(token),
            user_id=user_id,
            now=now,
            expires=now + timedelta(hours=self.settings.reset_link_hours),
        )
        self._audit(actor, "users.reset_link", user.account_id, {"user_id": user_id})
        return f"{RESET_PATH}/{token}"

    def reset_link_user(self, token: str) -> User | None:
        """The person a usable (unused, unexpired) link is for, to show the form; else None."""
        user_id = self.store.usable_reset(token_hash(token), self.clock.now())
        return self.store.user(user_id) if user_id is not None else None

    def consume_reset_link(self, token: str, new_password: str) -> User:
        """Set the password through the link, once: ends every session of the person and
        clears their failed sign-ins. SignInRefused for a used, expired or unknown link."""
        password_hash = self._hash_new(new_password)
        user_id = self.store.use_reset(token_hash(token), self.clock.now())
        if user_id is None:
            raise SignInRefused("This reset link is unknown, used or expired; ask for a new one")
        user = self.store.update_user(user_id, password_hash=password_hash)
        self.store.end_sessions_of(user_id)
        self.store.clear_failures(f"user:{user.email}")
        self._audit(
            Actor(user_id=user_id), "users.reset_password", user.account_id, {"user_id": user_id}
        )
        return user

    # --- TOTP -------------------------------------------------------------------------------

    def start_totp(self, user_id: int) -> TotpEnrolment:
        """A new TOTP secret for the person to add to an authenticator app."""
        user = self.store.user(user_id)
        secret = pyotp.random_base32()
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
        return TotpEnrolment(secret, uri)

    def confirm_totp(self, user_id: int, secret: str, code: str) -> User:
        """Turn TOTP on with ``secret`` once ``code`` proves the app has it (InvalidInput
        otherwise); from then on sign-in asks for a code."""
        try:
            valid = pyotp.TOTP(secret).verify(
                code.strip(), for_time=self.clock.now(), valid_window=1
            )
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise InvalidInput("That code does not match; try the current one", parameter="code")
        user = self.store.update_user(user_id, totp_secret=secret)
        self._audit(Actor(user_id=user_id), "users.totp_on", user.account_id, {"user_id": user_id})
        return user

    def disable_totp(self, user_id: int, actor: Actor) -> User:
        user = self.store.update_user(user_id, totp_secret=None)
        self._audit(actor, "users.totp_off", user.account_id, {"user_id": user_id})
        return user

    def _audit(
        self, actor: Actor, action: str, account_id: int, parameters: dict[str, object]
    ) -> None:
        self.audit.record(
            key_id=actor.key_id,
            action=action,
            parameters=parameters,
            result_count=1,
            now=self.clock.now(),
            account_id=account_id,
            user_id=actor.user_id,
        )
