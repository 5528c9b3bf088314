"""Sightings: storing what consumers report back and applying it to the indicator.

One request is one transaction under the write clock (``store.indicators``): each item is
resolved to the current version of its indicator (by value or STIX id), recorded in
``sightings``, and applied: a hit raises ``last_seen`` (``lifecycle.sightings``) and lets
decay restart (``lifecycle.decay``); a false positive recounts the distinct accounts that
reported the indicator and lowers its base score, or revokes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from iocfeed.indicators.merge import Merge, Outcome
from iocfeed.indicators.model import Indicator, IocType, Tlp
from iocfeed.lifecycle.sightings import (
    Report,
    Sighting,
    SightingKind,
    SightingPolicy,
    after_hit,
)
from iocfeed.store.engine import reading
from iocfeed.store.indicators import (
    BatchWrites,
    CurrentVersion,
    IndicatorStore,
    current_versions,
    lock_write_clock,
    save_write_clock,
)
from iocfeed.store.rows import from_us, row_to_indicator, to_us
from iocfeed.store.schema import DECODED_COLUMNS, accounts, sightings
from iocfeed.store.schema import indicator_versions as versions

_LOOKUP_CHUNK = 1000
_OBJECT_TYPE = {SightingKind.HIT: "sighting", SightingKind.FALSE_POSITIVE: "opinion"}


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one item did: the indicator after it, or ``None`` when it was not found."""

    line: int
    indicator: Indicator | None
    object_id: str | None


class SightingStore:
    def __init__(
        self,
        indicators: IndicatorStore,
        policy: SightingPolicy,
        new_object_id: Callable[[str], str],
    ) -> None:
        self.engine: Engine = indicators.engine
        self._indicators = indicators
        self.policy = policy
        self._new_object_id = new_object_id

    def record(
        self,
        items: Sequence[Sighting],
        *,
        account_id: int,
        key_id: str | None,
        ceiling: Tlp,
        now: datetime,
    ) -> list[Recorded]:
        """Record ``items`` reported by ``account_id``; one ``Recorded`` per item, in order.

        An indicator above ``ceiling`` (the key's highest TLP) is "not found", as reads
        would answer. A sighting of a revoked indicator is recorded and changes nothing.
        """
        decay = self._indicators.decay
        with self.engine.begin() as connection:
            clock = lock_write_clock(connection, now)
            stored = current_versions(
                connection, {(s.type, s.value) for s in items if s.type and s.value}
            )
            stored.update(_current_by_stix_id(connection, {s.stix_id for s in items if s.stix_id}))
            state = {key: CurrentVersion.stored(ind, seq) for key, (ind, seq) in stored.items()}
            by_id = {current.indicator.stix_id: key for key, current in state.items()}
            reporters = _false_positive_accounts(connection, by_id)
            writes = BatchWrites()
            rows: list[dict[str, object]] = []
            recorded: list[Recorded] = []
            for item in items:
                key = by_id.get(item.stix_id) if item.stix_id else (item.type, item.value)
                current = state.get(key) if key is not None else None  # type: ignore[arg-type]
                if current is None or current.indicator.effective_tlp > ceiling:
                    recorded.append(Recorded(item.line, None, None))
                    continue
                indicator = current.indicator
                object_id = self._new_object_id(_OBJECT_TYPE[item.kind])
                rows.append(
                    _row(
                        item,
                        object_id=object_id,
                        indicator=indicator,
                        account_id=account_id,
                        key_id=key_id,
                        now=now,
                    )
                )
                if not indicator.revoked:
                    result = self._apply(item, indicator, reporters, account_id, now)
                    if decay is not None:
                        result = decay.rescore(indicator, result, now)
                    current = writes.add(current, result, clock)
                    state[key] = current  # type: ignore[index]
                recorded.append(Recorded(item.line, current.indicator, object_id))
            if rows:
                connection.execute(insert(sightings), rows)
            writes.flush(connection)
            save_write_clock(connection, clock)
        return recorded

    def _apply(
        self,
        item: Sighting,
        indicator: Indicator,
        reporters: dict[str, set[int]],
        account_id: int,
        now: datetime,
    ) -> Merge:
        if item.kind is SightingKind.HIT:
            return Merge(Outcome.UNCHANGED, after_hit(indicator, item))
        accounts = reporters[indicator.stix_id]
        accounts.add(account_id)
        changed = self.policy.after_false_positives(indicator, len(accounts), now)
        return Merge(Outcome.UNCHANGED if changed is indicator else Outcome.UPDATED, changed)

    def counts(self, stix_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Per STIX id, the number of reports of each kind (kinds without any are 0)."""
        wanted = sorted(set(stix_ids))
        found: dict[str, dict[str, int]] = {
            stix_id: dict.fromkeys(SightingKind, 0) for stix_id in wanted
        }
        with reading(self.engine) as connection:
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                rows = connection.execute(
                    select(sightings.c.stix_id, sightings.c.kind, func.count())
                    .where(sightings.c.stix_id.in_(wanted[start : start + _LOOKUP_CHUNK]))
                    .group_by(sightings.c.stix_id, sightings.c.kind)
                )
                for stix_id, kind, number in rows:
                    found[stix_id][kind] = int(number)
        return found

    def of(self, stix_ids: Iterable[str], limit: int = 1000) -> list[Report]:
        """The reports on these indicators, oldest first, at most ``limit`` of them."""
        wanted = sorted(set(stix_ids))
        found: list[Report] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                rows = connection.execute(
                    select(sightings, accounts.c.name.label("account_name"))
                    .join(
                        accounts,
                        accounts.c.account_id == sightings.c.account_id,
                        isouter=True,
                    )
                    .where(sightings.c.stix_id.in_(wanted[start : start + _LOOKUP_CHUNK]))
                    .order_by(sightings.c.seq)
                    .limit(limit - len(found))
                )
                found.extend(
                    Report(
                        object_id=row.object_id,
                        stix_id=row.stix_id,
                        kind=SightingKind(row.kind),
                        account_id=row.account_id,
                        account_name=row.account_name or "",
                        count=row._mapping["count"],
                        first_seen=from_us(row.first_seen),
                        last_seen=from_us(row.last_seen),
                        created=from_us(row.created),
                    )
                    for row in rows
                )
                if len(found) >= limit:
                    break
        return found


def _row(
    item: Sighting,
    *,
    object_id: str,
    indicator: Indicator,
    account_id: int,
    key_id: str | None,
    now: datetime,
) -> dict[str, object]:
    return {
        "object_id": object_id,
        "stix_id": indicator.stix_id,
        "type": indicator.type.value,
        "value": indicator.value,
        "kind": item.kind.value,
        "source": item.source,
        "account_id": account_id,
        "key_id": key_id,
        "count": item.count,
        "first_seen": to_us(item.first_seen),
        "last_seen": to_us(item.last_seen),
        "created": to_us(now),
    }


def _current_by_stix_id(
    connection: Connection, stix_ids: set[str]
) -> dict[tuple[IocType, str], tuple[Indicator, int]]:
    found: dict[tuple[IocType, str], tuple[Indicator, int]] = {}
    wanted = sorted(stix_ids)
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        rows = connection.execute(
            select(*DECODED_COLUMNS).where(
                versions.c.superseded_at.is_(None),
                versions.c.stix_id.in_(wanted[start : start + _LOOKUP_CHUNK]),
            )
        )
        for row in rows:
            indicator = row_to_indicator(row)
            found[(indicator.type, indicator.value)] = (indicator, row.seq)
    return found


def _false_positive_accounts(
    connection: Connection, stix_ids: Iterable[str]
) -> dict[str, set[int]]:
    """The distinct accounts that reported each indicator a false positive so far."""
    accounts: dict[str, set[int]] = defaultdict(set)
    wanted = sorted(stix_ids)
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        rows = connection.execute(
            select(sightings.c.stix_id, sightings.c.account_id)
            .where(
                sightings.c.stix_id.in_(wanted[start : start + _LOOKUP_CHUNK]),
                sightings.c.kind == SightingKind.FALSE_POSITIVE.value,
            )
            .distinct()
        )
        for stix_id, account in rows:
            accounts[stix_id].add(int(account))
    return accounts
