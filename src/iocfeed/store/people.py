"""People at rest: users (argon2id hashes only), their sessions and one-time reset links
(SHA-256 of each token only), and the failed sign-in counts that slow and lock attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from iocfeed.accounts.model import Account, AccountStatus
from iocfeed.accounts.people import Role, SiteRole, User
from iocfeed.errors import Conflict, NotFound
from iocfeed.store.engine import upsert_into
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import (
    accounts,
    password_resets,
    sign_in_failures,
    user_sessions,
    users,
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What sign-in checks, read by e-mail: never leaves the use case."""

    user: User
    password_hash: str
    totp_secret: str | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    user: User
    account: Account
    created: datetime
    last_seen: datetime
    expires: datetime
    client_address: str | None


@dataclass(frozen=True, slots=True)
class Failures:
    failures: int
    last_failure: datetime
    blocked_until: datetime


def _user(row: Any) -> User:
    return User(
        user_id=row.user_id,
        email=row.email,
        account_id=row.account_id,
        role=Role(row.role),
        site_role=SiteRole(row.site_role),
        totp_enabled=row.totp_secret is not None,
        disabled=bool(row.disabled),
        created=from_us(row.created),
    )


_SESSION = (
    select(
        user_sessions,
        users,
        accounts.c.name.label("account_name"),
        accounts.c.plan,
        accounts.c.status,
        accounts.c.created.label("account_created"),
    )
    .join_from(
        user_sessions,
        users,
        users.c.user_id == user_sessions.c.user_id,
    )
    .join(accounts, accounts.c.account_id == users.c.account_id)
)


class PeopleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- users ------------------------------------------------------------------------------

    def create_user(
        self,
        *,
        email: str,
        password_hash: str,
        account_id: int,
        role: Role,
        site_role: SiteRole,
        now: datetime,
    ) -> User:
        """A new user; ``email`` already canonical. Conflict if the e-mail is taken."""
        try:
            with self.engine.begin() as connection:
                user_id = connection.execute(
                    insert(users)
                    .values(
                        email=email,
                        password_hash=password_hash,
                        account_id=account_id,
                        role=role.value,
                        site_role=site_role.value,
                        totp_secret=None,
                        disabled=False,
                        created=to_us(now),
                    )
                    .returning(users.c.user_id)
                ).scalar_one()
        except IntegrityError:
            raise Conflict(f"a user with e-mail {email!r} already exists") from None
        return self.user(user_id)

    def user(self, user_id: int) -> User:
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.user_id == user_id)).first()
        if row is None:
            raise NotFound(f"no user {user_id}")
        return _user(row)

    def credentials(self, email: str) -> Credentials | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.email == email)).first()
        return Credentials(_user(row), row.password_hash, row.totp_secret) if row else None

    def list_users(
        self, *, account_id: int | None = None, after: str | None = None, limit: int = 100
    ) -> list[User]:
        """Users by e-mail, keyset-paged (pass the last e-mail of a page as ``after``)."""
        query = select(users).order_by(users.c.email).limit(limit)
        if account_id is not None:
            query = query.where(users.c.account_id == account_id)
        if after is not None:
            query = query.where(users.c.email > after)
        with self.engine.connect() as connection:
            return [_user(row) for row in connection.execute(query)]

    def update_user(self, user_id: int, **values: Any) -> User:
        """Set columns of ``users`` (password_hash, totp_secret, disabled, role, site_role)."""
        with self.engine.begin() as connection:
            connection.execute(update(users).where(users.c.user_id == user_id).values(**values))
        return self.user(user_id)

    # --- sessions ---------------------------------------------------------------------------

    def create_session(
        self,
        *,
        token_hash: str,
        user_id: int,
        now: datetime,
        expires: datetime,
        client_address: str | None,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(user_sessions).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    created=to_us(now),
                    last_seen=to_us(now),
                    expires=to_us(expires),
                    client_address=client_address,
                )
            )

    def session(self, token_hash: str) -> SessionRow | None:
        """The session, its user and the user's account (one query), or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                _SESSION.where(user_sessions.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        account = Account(
            row.account_id,
            row.account_name,
            row.plan,
            AccountStatus(row.status),
            from_us(row.account_created),
        )
        return SessionRow(
            _user(row),
            account,
            from_us(row.created),
            from_us(row.last_seen),
            from_us(row.expires),
            row.client_address,
        )

    def touch_session(self, token_hash: str, now: datetime, client_address: str | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(user_sessions)
                .where(user_sessions.c.token_hash == token_hash)
                .values(last_seen=to_us(now), client_address=client_address)
            )

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(user_sessions).where(user_sessions.c.token_hash == token_hash)
            )

    def end_sessions_of(self, user_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))

    def end_expired_sessions_of(self, user_id: int, now: datetime) -> int:
        """Delete the user's sessions past their expiry (signing in tidies up after itself)."""
        with self.engine.begin() as connection:
            return connection.execute(
                delete(user_sessions).where(
                    user_sessions.c.user_id == user_id, user_sessions.c.expires <= to_us(now)
                )
            ).rowcount

    # --- failed sign-ins --------------------------------------------------------------------

    def failures(self, subject: str) -> Failures | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(sign_in_failures).where(sign_in_failures.c.subject == subject)
            ).first()
        if row is None:
            return None
        return Failures(row.failures, from_us(row.last_failure), from_us(row.blocked_until))

    def set_failures(self, subject: str, failures: Failures) -> None:
        values = {
            "failures": failures.failures,
            "last_failure": to_us(failures.last_failure),
            "blocked_until": to_us(failures.blocked_until),
        }
        statement = (
            upsert_into(self.engine, sign_in_failures)
            .values(subject=subject, **values)
            .on_conflict_do_update(index_elements=[sign_in_failures.c.subject], set_=values)
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def forget_failures_before(self, moment: datetime) -> int:
        """Delete failure counts whose last failure is before ``moment`` and whose block has
        ended: they would count as zero anyway."""
        cutoff = to_us(moment)
        with self.engine.begin() as connection:
            return connection.execute(
                delete(sign_in_failures).where(
                    sign_in_failures.c.last_failure < cutoff,
                    sign_in_failures.c.blocked_until < cutoff,
                )
            ).rowcount

    def clear_failures(self, subject: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(sign_in_failures).where(sign_in_failures.c.subject == subject)
            )

    # --- reset links ------------------------------------------------------------------------

    def create_reset(
        self, *, token_hash: str, user_id: int, now: datetime, expires: datetime
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(password_resets).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    created=to_us(now),
                    expires=to_us(expires),
                    used=None,
                )
            )

    def usable_reset(self, token_hash: str, now: datetime) -> int | None:
        """The user id of an unused, unexpired reset link, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(password_resets).where(password_resets.c.token_hash == token_hash)
            ).first()
        if row is None or row.used is not None or row.expires <= to_us(now):
            return None
        return int(row.user_id)

    def use_reset(self, token_hash: str, now: datetime) -> int | None:
        """Mark the link used, once: the user id if this call used it, else None."""
        with self.engine.begin() as connection:
            used = connection.execute(
                update(password_resets)
                .where(
                    password_resets.c.token_hash == token_hash,
                    password_resets.c.used.is_(None),
                    password_resets.c.expires > to_us(now),
                )
                .values(used=to_us(now))
                .returning(password_resets.c.user_id)
            ).first()
        return int(used.user_id) if used is not None else None
