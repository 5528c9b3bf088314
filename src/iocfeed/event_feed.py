"""Use case: the events after a position, as one audience may see them (webhooks, the event
stream and SIEM pushers all read here).

An audience is a plan's view: its highest TLP (``access_rank``, as every read surface), its
lookback (events older than it are not sent, however far behind the subscriber is), the
event kinds and indicator types it asked for. Versions are read in ``date_added`` order
(``IndicatorSearch.in_added_order``, every version); the position returned is that of the
last version read, even when its event was not wanted, so the next read goes on after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from iocfeed.config import Plan
from iocfeed.indicators.model import IocType, Tlp
from iocfeed.indicators.query import IndicatorQuery, VersionMatch, VersionSelector
from iocfeed.push.events import ALL_KINDS, Event, EventKind
from iocfeed.store.search import IndicatorSearch

EVERY_VERSION = VersionMatch(keywords=frozenset({VersionSelector.ALL}))


@dataclass(frozen=True, slots=True)
class Audience:
    max_tlp: Tlp
    lookback_days: int | None = None
    kinds: frozenset[EventKind] = ALL_KINDS
    types: frozenset[IocType] = frozenset()

    @classmethod
    def of_plan(
        cls,
        plan: Plan,
        kinds: frozenset[EventKind] = ALL_KINDS,
        types: frozenset[IocType] = frozenset(),
    ) -> Audience:
        return cls(plan.max_tlp, plan.lookback_days, kinds, types)

    def earliest(self, now: datetime) -> datetime | None:
        return None if self.lookback_days is None else now - timedelta(days=self.lookback_days)


@dataclass(frozen=True, slots=True)
class EventBatch:
    events: list[Event]
    position: datetime
    """Where the next read starts: the last version read (or the position given)."""
    more: bool


def events_after(
    search: IndicatorSearch,
    position: datetime,
    audience: Audience,
    *,
    limit: int,
    now: datetime,
) -> EventBatch:
    """Up to ``limit`` versions added after ``position``, as events for ``audience``."""
    earliest = audience.earliest(now)
    after = position if earliest is None or earliest <= position else earliest
    query = IndicatorQuery(
        types=audience.types,
        added_after=after,
        max_tlp=audience.max_tlp,
        versions=EVERY_VERSION,
    )
    page, _as_of = search.in_added_order(query, limit=limit, after=None, now=now)
    events = [Event.of(version) for version in page.items]
    last = page.items[-1].date_added if page.items else position
    return EventBatch(
        [event for event in events if event.kind in audience.kinds],
        max(last, position),
        page.more,
    )


def current_position(search: IndicatorSearch) -> datetime:
    """The position of a subscriber that starts now: the newest ``date_added``."""
    return search.last_added()
