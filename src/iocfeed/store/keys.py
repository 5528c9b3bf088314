"""API keys at rest: only the hash of each secret is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from iocfeed.auth.keys import ApiKey, generate_key
from iocfeed.errors import NotFound
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import api_keys


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        plan=row.plan,
        created=from_us(row.created),
        expires=from_us(row.expires) if row.expires is not None else None,
        revoked=from_us(row.revoked) if row.revoked is not None else None,
    )


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, *, name: str, plan: str, now: datetime, expires: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """Store a new key; returns it and the plaintext, which exists only in this reply."""
        new = generate_key()
        with self.engine.begin() as connection:
            connection.execute(
                insert(api_keys).values(
                    key_id=new.key_id,
                    name=name,
                    plan=plan,
                    secret_hash=new.secret_hash,
                    created=to_us(now),
                    expires=to_us(expires) if expires is not None else None,
                    revoked=None,
                )
            )
        return ApiKey(new.key_id, name, plan, now, expires, None), new.plaintext

    def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key and its stored secret hash, or ``None``."""
        with self.engine.connect() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        return (_key(row), row.secret_hash) if row is not None else None

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(api_keys).order_by(api_keys.c.created))
            return [_key(row) for row in rows]

    def revoke(self, key_id: str, now: datetime) -> ApiKey:
        with self.engine.begin() as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked.is_(None))
                .values(revoked=to_us(now))
            )
        found = self.find(key_id)
        if found is None:
            raise NotFound(f"no API key {key_id!r}")
        return found[0]
