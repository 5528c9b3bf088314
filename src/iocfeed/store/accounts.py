"""Accounts at rest: name, plan and status. Reads are not cached, so a change applies to the
next request of every worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from iocfeed.accounts.model import Account, AccountStatus
from iocfeed.errors import Conflict, NotFound
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import accounts

MAX_NAME = 128


def account_from_row(row: Any) -> Account:
    return Account(
        account_id=row.account_id,
        name=row.name,
        plan=row.plan,
        status=AccountStatus(row.status),
        created=from_us(row.created),
    )


def insert_account(connection: Connection, name: str, plan: str, now: datetime) -> Account:
    account_id = connection.execute(
        insert(accounts)
        .values(name=name, plan=plan, status=AccountStatus.ACTIVE.value, created=to_us(now))
        .returning(accounts.c.account_id)
    ).scalar_one()
    return Account(account_id, name, plan, AccountStatus.ACTIVE, now)


def account_for_key(connection: Connection, key_name: str, plan: str, now: datetime) -> Account:
    """The account a key made with only a plan goes to: the account named after the key if
    it is on that plan, else a new one (``NAME (n)`` when ``NAME`` is taken by another plan).
    """
    base = key_name.strip()[: MAX_NAME - 8] or "key"
    for attempt in range(1, 1000):
        name = base if attempt == 1 else f"{base} ({attempt})"
        row = connection.execute(select(accounts).where(accounts.c.name == name)).first()
        if row is None:
            return insert_account(connection, name, plan, now)
        if row.plan == plan:
            return account_from_row(row)
    raise Conflict(f"too many accounts named like {base!r} on other plans")


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, *, name: str, plan: str, now: datetime) -> Account:
        """A new active account; Conflict if the name is taken."""
        try:
            with self.engine.begin() as connection:
                return insert_account(connection, name, plan, now)
        except IntegrityError:
            raise Conflict(f"an account named {name!r} already exists") from None

    def get(self, account_id: int) -> Account:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(accounts).where(accounts.c.account_id == account_id)
            ).first()
        if row is None:
            raise NotFound(f"no account {account_id}")
        return account_from_row(row)

    def named(self, name: str) -> Account:
        with self.engine.connect() as connection:
            row = connection.execute(select(accounts).where(accounts.c.name == name)).first()
        if row is None:
            raise NotFound(f"no account named {name[:MAX_NAME]!r}")
        return account_from_row(row)

    def list(self, *, after: str | None = None, limit: int = 1000) -> list[Account]:
        """Accounts by name, keyset-paged: pass the last name of a page as ``after``."""
        query = select(accounts).order_by(accounts.c.name).limit(limit)
        if after is not None:
            query = query.where(accounts.c.name > after)
        with self.engine.connect() as connection:
            return [account_from_row(row) for row in connection.execute(query)]

    def set_plan(self, account_id: int, plan: str) -> Account:
        return self._update(account_id, plan=plan)

    def set_status(self, account_id: int, status: AccountStatus) -> Account:
        return self._update(account_id, status=status.value)

    def _update(self, account_id: int, **values: str) -> Account:
        with self.engine.begin() as connection:
            connection.execute(
                update(accounts).where(accounts.c.account_id == account_id).values(**values)
            )
        return self.get(account_id)
