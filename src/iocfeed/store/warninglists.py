"""False-positive lists in the database: policies the operator set, operator lists, re-checks.

A MISP list has a row only once the operator sets its policy; until then its default
applies (``lifecycle.warninglist_defaults``). The built-in operator lists are written on
first read if absent. ``revision`` is what a process compares to know whether the lists
changed since it built its matcher: one small query, never one per value.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from iocfeed.lifecycle.warninglist_defaults import BUILTIN_OPERATOR_LISTS
from iocfeed.lifecycle.warninglists import Entries, Origin, Policy
from iocfeed.store.rows import to_us
from iocfeed.store.schema import warninglists as table


@dataclass(frozen=True, slots=True)
class StoredList:
    """One row: a policy set on a MISP list, or an operator list with its entries."""

    name: str
    origin: Origin
    policy: Policy
    description: str
    entries: Entries | None
    updated: int
    recheck_due: int | None


def _entries_json(entries: Entries) -> str:
    return orjson.dumps(
        {
            "values": sorted(entries.values),
            "domains": sorted(entries.domains),
            "networks": list(entries.networks),
        }
    ).decode()


def _entries(text: str | None) -> Entries | None:
    if text is None:
        return None
    data = orjson.loads(text)
    return Entries(
        frozenset(data.get("values", ())),
        frozenset(data.get("domains", ())),
        tuple(data.get("networks", ())),
    )


class WarninglistStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def revision(self) -> tuple[int, int]:
        """Changes whenever a list or policy changes: (latest update, number of rows)."""
        with self.engine.connect() as connection:
            latest, count = connection.execute(
                select(func.coalesce(func.max(table.c.updated), 0), func.count())
            ).one()
        return int(latest), int(count)

    def rows(self) -> dict[str, StoredList]:
        """Every stored list, with the built-in operator lists added on first use."""
        with self.engine.connect() as connection:
            found = {
                row.name: StoredList(
                    row.name,
                    Origin(row.origin),
                    Policy(row.policy),
                    row.description,
                    _entries(row.entries),
                    row.updated,
                    row.recheck_due,
                )
                for row in connection.execute(select(table))
            }
        missing = [wl for wl in BUILTIN_OPERATOR_LISTS if wl.name not in found]
        if missing:
            for builtin in missing:
                self._insert_if_absent(
                    builtin.name, builtin.policy, builtin.description, builtin.entries, now=0
                )
            return self.rows()
        return found

    def _insert_if_absent(
        self, name: str, policy: Policy, description: str, entries: Entries, now: int
    ) -> None:
        # IntegrityError: another process wrote it first.
        with contextlib.suppress(IntegrityError), self.engine.begin() as connection:
            connection.execute(
                table.insert().values(
                    name=name,
                    origin=Origin.OPERATOR.value,
                    policy=policy.value,
                    description=description,
                    entries=_entries_json(entries),
                    updated=now,
                    recheck_due=None,
                )
            )

    def set_policy(
        self, name: str, origin: Origin, policy: Policy, description: str, now: datetime
    ) -> None:
        """Store ``policy`` for list ``name`` and ask for a re-check of stored indicators."""
        stamp = to_us(now)
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(table)
                .where(table.c.name == name)
                .values(policy=policy.value, updated=stamp, recheck_due=stamp)
            ).rowcount
            if not changed:
                connection.execute(
                    table.insert().values(
                        name=name,
                        origin=origin.value,
                        policy=policy.value,
                        description=description,
                        entries=None if origin is Origin.MISP else _entries_json(Entries()),
                        updated=stamp,
                        recheck_due=stamp,
                    )
                )

    def save_operator_list(
        self, name: str, policy: Policy, description: str, entries: Entries, now: datetime
    ) -> None:
        """Create or replace an operator list, and ask for a re-check."""
        stamp = to_us(now)
        with self.engine.begin() as connection:
            values = {
                "origin": Origin.OPERATOR.value,
                "policy": policy.value,
                "description": description,
                "entries": _entries_json(entries),
                "updated": stamp,
                "recheck_due": stamp,
            }
            changed = connection.execute(
                update(table).where(table.c.name == name).values(**values)
            ).rowcount
            if not changed:
                connection.execute(table.insert().values(name=name, **values))

    def due_rechecks(self) -> list[tuple[str, int]]:
        """Lists whose stored indicators are to be re-checked, with when that was asked."""
        with self.engine.connect() as connection:
            return [
                (row.name, row.recheck_due)
                for row in connection.execute(
                    select(table.c.name, table.c.recheck_due)
                    .where(table.c.recheck_due.is_not(None))
                    .order_by(table.c.recheck_due)
                )
            ]

    def recheck_done(self, name: str, asked: int) -> None:
        """Clear the request, unless a newer one arrived meanwhile."""
        with self.engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.name == name, table.c.recheck_due == asked)
                .values(recheck_due=None)
            )
