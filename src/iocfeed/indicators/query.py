"""The one query value every read surface is parsed into (REST search, STIX export, TAXII).

Protocol parameters (TAXII ``added_after``/``match[...]``/``next``, the export's ``type``/
``since``/``limit``) are parsed once into an :class:`IndicatorQuery`; the store turns that
into keyset SQL, the same for SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from iocfeed.indicators.model import Confidence, IocType, Tlp

T = TypeVar("T")


class Status(enum.StrEnum):
    """Lifecycle of an indicator's newest version at the time of a query."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class VersionSelector(enum.StrEnum):
    """TAXII 2.1 ``match[version]`` keywords (§3.4.1); explicit timestamps ride beside it."""

    LAST = "last"
    FIRST = "first"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class VersionMatch:
    """Which versions of each object a query returns: keywords and/or exact ``modified`` times."""

    keywords: frozenset[VersionSelector] = frozenset({VersionSelector.LAST})
    timestamps: frozenset[datetime] = frozenset()

    @property
    def is_latest_only(self) -> bool:
        return self.keywords == {VersionSelector.LAST} and not self.timestamps


LATEST = VersionMatch()


@dataclass(frozen=True, slots=True)
class IndicatorQuery:
    """Filters shared by every read surface. Empty sets and ``None`` mean "no filter".

    Time bounds are aware UTC datetimes; ``added_after`` is strict (TAXII 2.1 §3.4.2);
    ``modified_since`` is inclusive. ``max_tlp`` hides every version whose own TLP, or
    whose indicator's current TLP, is above what the key's plan may receive (SPEC §4).
    ``submitted_only`` keeps the versions posted to the TAXII Submissions collection.
    ``sources`` matches the version's own source or provenance; ``reported_by`` matches
    provenance alone (the indicators that source reported, every version of each).
    """

    types: frozenset[IocType] = frozenset()
    stix_ids: frozenset[str] = frozenset()
    modified_since: datetime | None = None
    modified_until: datetime | None = None
    added_after: datetime | None = None
    confidences: frozenset[Confidence] = frozenset()
    tag: str | None = None
    technique: str | None = None
    reported_by: str | None = None
    sources: frozenset[str] = frozenset()
    text: str | None = None
    status: Status | None = None
    max_tlp: Tlp = Tlp.RED
    submitted_only: bool = False
    include_flagged: bool = False
    """Also serve versions flagged by a warninglist (tagged ``warninglist:<name>``), which
    every read surface leaves out unless the consumer asks ``include_flagged=true``. Revoked
    versions are served either way, so that consumers drop what they hold."""
    versions: VersionMatch = field(default=LATEST)
    as_of: datetime | None = None
    """See the store as it was at this ``date_added``: later versions are invisible and a
    version superseded after it still counts as the latest. A paging walk pins it at its
    first page so that concurrent writes neither skip nor repeat objects."""


@dataclass(frozen=True, slots=True)
class Keyset:
    """A place in an ordered walk: the sort key of the last item served and its row number.

    The sort key is ``date_added`` for TAXII walks (ascending) and ``modified`` for
    newest-first searches; ``seq`` (the version row's number) breaks ties.
    """

    at: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset walk; ``next`` is where the following page starts, if any."""

    items: list[T]
    next: Keyset | None

    @property
    def more(self) -> bool:
        return self.next is not None


def clamp_to_lookback(since: datetime | None, lookback_start: datetime | None) -> datetime | None:
    """SPEC §4: the plan's lookback clamps every lower time bound; the later one wins."""
    if lookback_start is None:
        return since
    return lookback_start if since is None or since < lookback_start else since
