"""TAXII status resources of writes, kept so that clients can fetch them later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from iocfeed.store.rows import to_us
from iocfeed.store.schema import taxii_statuses


class StatusStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, status_id: str, key_id: str, document: dict[str, Any], now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(taxii_statuses).values(
                    status_id=status_id,
                    key_id=key_id,
                    created=to_us(now),
                    document=orjson.dumps(document).decode(),
                )
            )

    def find(self, status_id: str, key_id: str) -> dict[str, Any] | None:
        """The status document, only for the key that made the request."""
        with self.engine.connect() as connection:
            document = connection.execute(
                select(taxii_statuses.c.document).where(
                    taxii_statuses.c.status_id == status_id, taxii_statuses.c.key_id == key_id
                )
            ).scalar()
        return orjson.loads(document) if document is not None else None
