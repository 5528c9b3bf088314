"""The audit trail: who exported or changed what, with which parameters.

Records are read newest first, keyset-paged on ``seq`` (pass the last ``seq`` of a page as
``before``), filtered by account, key, action and time range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import audit_log

# Written after every read a key makes: built once (see ``store.keys``).
_INSERT = insert(audit_log)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    key_id: str | None
    action: str
    parameters: dict[str, Any]
    result_count: int
    account_id: int | None = None
    user_id: int | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records to read; every field left None matches all."""

    account_id: int | None = None
    key_id: str | None = None
    action: str | None = None
    actions: tuple[str, ...] = field(default=())
    since: datetime | None = None
    until: datetime | None = None


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
        account_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                _INSERT,
                {
                    "at": to_us(now),
                    "key_id": key_id,
                    "action": action,
                    "parameters": orjson.dumps(parameters, default=str).decode(),
                    "result_count": result_count,
                    "account_id": account_id,
                    "user_id": user_id,
                },
            )

    def recent(self, limit: int = 100) -> list[AuditRecord]:
        """The newest records first."""
        return self.query(AuditFilter(), limit=limit)

    def query(
        self, wanted: AuditFilter, *, before: int | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Records matching ``wanted``, newest first, older than ``before`` (a ``seq``)."""
        query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if before is not None:
            query = query.where(audit_log.c.seq < before)
        if wanted.account_id is not None:
            query = query.where(audit_log.c.account_id == wanted.account_id)
        if wanted.key_id is not None:
            query = query.where(audit_log.c.key_id == wanted.key_id)
        if wanted.action is not None:
            query = query.where(audit_log.c.action == wanted.action)
        if wanted.actions:
            query = query.where(audit_log.c.action.in_(wanted.actions))
        if wanted.since is not None:
            query = query.where(audit_log.c.at >= to_us(wanted.since))
        if wanted.until is not None:
            query = query.where(audit_log.c.at < to_us(wanted.until))
        with self.engine.connect() as connection:
            return [
                AuditRecord(
                    from_us(row.at),
                    row.key_id,
                    row.action,
                    orjson.loads(row.parameters),
                    row.result_count,
                    row.account_id,
                    row.user_id,
                    row.seq,
                )
                for row in connection.execute(query)
            ]
