"""API keys at rest: only the hash of each secret is stored.

A key is read joined with its account (one query per request, nothing cached), so the
account's current plan and status decide every request. ``last_used`` and ``last_address``
are written in batches by the usage meter (``touch``), not on each request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, bindparam, insert, select, update

from iocfeed.accounts.model import Account, AccountStatus, Narrowing
from iocfeed.auth.keys import ApiKey, generate_key
from iocfeed.errors import NotFound
from iocfeed.indicators.model import Tlp
from iocfeed.store.accounts import account_for_key
from iocfeed.store.engine import reading
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import accounts, api_keys

_JOINED = select(
    api_keys,
    accounts.c.name.label("account_name"),
    accounts.c.plan,
    accounts.c.status,
    accounts.c.created.label("account_created"),
).join_from(api_keys, accounts, accounts.c.account_id == api_keys.c.account_id)
# Read on every authenticated request: built once, so SQLAlchemy neither rebuilds it nor
# recomputes its cache key (half of the lookup's 0.2 ms).
_BY_KEY_ID = _JOINED.where(api_keys.c.key_id == bindparam("key_id"))


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        plan=row.plan,
        created=from_us(row.created),
        expires=from_us(row.expires) if row.expires is not None else None,
        revoked=from_us(row.revoked) if row.revoked is not None else None,
        account_id=row.account_id,
        account_name=row.account_name,
        scopes=frozenset(orjson.loads(row.scopes)) if row.scopes is not None else None,
        max_tlp=Tlp(row.max_tlp) if row.max_tlp is not None else None,
        networks=tuple(orjson.loads(row.networks)),
        device=bool(row.device),
        last_used=from_us(row.last_used) if row.last_used is not None else None,
        last_address=row.last_address,
    )


def _account(row: Any) -> Account:
    return Account(
        account_id=row.account_id,
        name=row.account_name,
        plan=row.plan,
        status=AccountStatus(row.status),
        created=from_us(row.account_created),
    )


def _narrowing_values(narrowing: Narrowing) -> dict[str, Any]:
    return {
        "scopes": orjson.dumps(sorted(narrowing.scopes)).decode()
        if narrowing.scopes is not None
        else None,
        "max_tlp": narrowing.max_tlp.value if narrowing.max_tlp is not None else None,
        "expires": to_us(narrowing.expires) if narrowing.expires is not None else None,
        "networks": orjson.dumps(list(narrowing.networks)).decode(),
        "device": narrowing.device,
    }


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        name: str,
        now: datetime,
        plan: str | None = None,
        account_id: int | None = None,
        expires: datetime | None = None,
        narrowing: Narrowing | None = None,
    ) -> tuple[ApiKey, str]:
        """Store a new key; returns it and the plaintext, which exists only in this reply.

        The key belongs to ``account_id``; given only a ``plan``, it goes to the account
        named after the key on that plan (``store.accounts.account_for_key``). ``expires``
        is a shorthand for a narrowing with only an expiry. The caller checks that the
        narrowing stays within the plan (``accounts.grant.widening_problem``).
        """
        if (plan is None) == (account_id is None):
            raise ValueError("a key needs exactly one of plan and account_id")
        narrowing = narrowing or Narrowing(expires=expires)
        new = generate_key()
        with self.engine.begin() as connection:
            if account_id is None:
                assert plan is not None
                account_id = account_for_key(connection, name, plan, now).account_id
            connection.execute(
                insert(api_keys).values(
                    key_id=new.key_id,
                    name=name,
                    account_id=account_id,
                    secret_hash=new.secret_hash,
                    created=to_us(now),
                    revoked=None,
                    **_narrowing_values(narrowing),
                )
            )
        found = self.find(new.key_id)
        if found is None:
            raise NotFound(f"account {account_id} does not exist")
        return found[0], new.plaintext

    def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key and its stored secret hash, or ``None``."""
        found = self.find_with_account(key_id)
        return (found[0], found[1]) if found is not None else None

    def find_with_account(self, key_id: str) -> tuple[ApiKey, str, Account] | None:
        """The key, its stored secret hash and its account, in one query; or ``None``. Every
        authenticated request reads it, so without a transaction on PostgreSQL
        (``store.engine.reading``)."""
        with reading(self.engine) as connection:
            row = connection.execute(_BY_KEY_ID, {"key_id": key_id}).first()
        return (_key(row), row.secret_hash, _account(row)) if row is not None else None

    def get(self, key_id: str) -> ApiKey:
        found = self.find(key_id)
        if found is None:
            raise NotFound(f"no API key {key_id[:64]!r}")
        return found[0]

    def list(self, account_id: int | None = None) -> list[ApiKey]:
        """Keys oldest first: every key, or an account's."""
        query = _JOINED.order_by(api_keys.c.created, api_keys.c.key_id)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        with self.engine.connect() as connection:
            return [_key(row) for row in connection.execute(query)]

    def narrow(self, key_id: str, narrowing: Narrowing) -> ApiKey:
        """Replace the key's narrowing (scopes, highest TLP, expiry, networks, device)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id)
                .values(**_narrowing_values(narrowing))
            )
        return self.get(key_id)

    def revoke(self, key_id: str, now: datetime) -> ApiKey:
        with self.engine.begin() as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked.is_(None))
                .values(revoked=to_us(now))
            )
        return self.get(key_id)

    def touch(self, uses: Mapping[str, tuple[datetime, str | None]]) -> None:
        """Record each key's last use and client address (one batch, one transaction)."""
        if not uses:
            return
        statement = (
            update(api_keys)
            .where(api_keys.c.key_id == bindparam("b_key_id"))
            .values(last_used=bindparam("b_used"), last_address=bindparam("b_address"))
        )
        with self.engine.begin() as connection:
            connection.execute(
                statement,
                [
                    {"b_key_id": key_id, "b_used": to_us(at), "b_address": address}
                    for key_id, (at, address) in sorted(uses.items())
                ],
            )
