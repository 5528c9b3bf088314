"""The audit trail: who exported or changed what, with which parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import audit_log


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    key_id: str | None
    action: str
    parameters: dict[str, Any]
    result_count: int


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        *,
        key_id: str | None,
        action: str,
        parameters: Mapping[str, Any],
        result_count: int,
        now: datetime,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(audit_log).values(
                    at=to_us(now),
                    key_id=key_id,
                    action=action,
                    parameters=orjson.dumps(parameters, default=str).decode(),
                    result_count=result_count,
                )
            )

    def recent(self, limit: int = 100) -> list[AuditRecord]:
        """The newest records first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
            )
            return [
                AuditRecord(
                    from_us(row.at),
                    row.key_id,
                    row.action,
                    orjson.loads(row.parameters),
                    row.result_count,
                )
                for row in rows
            ]
