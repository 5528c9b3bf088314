"""Secrets every worker and host of one store shares, made once and kept in the database."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable

from sqlalchemy import Engine, select

from iocfeed.store.engine import upsert_into
from iocfeed.store.schema import server_secrets

SECRET_BYTES = 32


def shared_secret(
    engine: Engine, name: str, make: Callable[[], bytes] = lambda: secrets.token_bytes(SECRET_BYTES)
) -> bytes:
    """The secret called ``name``; the first caller anywhere makes it, every caller reads it.

    An insert that does nothing when the row exists, then a read: two workers (or hosts)
    starting together both read the one secret whichever insert won.
    """
    value = base64.b64encode(make()).decode("ascii")
    statement = (
        upsert_into(engine, server_secrets)
        .values(name=name, value=value)
        .on_conflict_do_nothing(index_elements=[server_secrets.c.name])
    )
    with engine.begin() as connection:
        connection.execute(statement)
    with engine.connect() as connection:
        stored = connection.execute(
            select(server_secrets.c.value).where(server_secrets.c.name == name)
        ).scalar_one()
    return base64.b64decode(stored)
