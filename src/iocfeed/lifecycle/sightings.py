"""Sightings reported back by consumers (SPEC §7 ``POST /api/v1/sightings``), pure.

A *hit* says "we saw this indicator in our traffic": it raises ``last_seen``, which restarts
the decay curve (``lifecycle.decay``). A *false positive* says "this fired on something
benign": each distinct account that reports one takes ``penalty`` points off the base
score, and reports from ``revoke_accounts`` distinct accounts revoke the indicator. Counting
accounts, not reports, keeps one noisy consumer from revoking what others rely on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.canonical import canonicalize
from iocfeed.indicators.fields import parse_timestamp
from iocfeed.indicators.merge import next_modified
from iocfeed.indicators.model import Indicator, IocType

MAX_COUNT = 999_999_999  # STIX 2.1 §5.2: a sighting's count
MAX_SOURCE = 200
_KNOWN_FIELDS = frozenset(
    {"value", "type", "stix_id", "kind", "source", "count", "first_seen", "last_seen"}
)


class SightingKind(enum.StrEnum):
    HIT = "hit"
    FALSE_POSITIVE = "false-positive"


@dataclass(frozen=True, slots=True)
class Sighting:
    """One validated item of a sightings request (``line``: its 1-based position)."""

    line: int
    kind: SightingKind
    source: str
    count: int
    first_seen: datetime
    last_seen: datetime
    type: IocType | None = None
    value: str | None = None
    stix_id: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """One stored sighting, as exports show it: a STIX sighting (hit) or opinion."""

    object_id: str
    stix_id: str
    """The indicator it is about."""
    kind: SightingKind
    account_id: int
    account_name: str
    count: int
    first_seen: datetime
    last_seen: datetime
    created: datetime


@dataclass(frozen=True, slots=True)
class SightingPolicy:
    """What false positives do (the ``false_positive_*`` settings)."""

    penalty: int = 25
    revoke_accounts: int = 3

    def after_false_positives(
        self, indicator: Indicator, accounts: int, now: datetime
    ) -> Indicator:
        """``indicator`` once ``accounts`` distinct accounts have reported it a false positive:
        the same object (``modified`` unchanged) when that changes nothing."""
        penalty = min(100, self.penalty * accounts)
        revoked = indicator.revoked or accounts >= self.revoke_accounts
        if (penalty, revoked) == (indicator.penalty, indicator.revoked):
            return indicator
        return replace(
            indicator,
            penalty=penalty,
            revoked=revoked,
            modified=next_modified(indicator.modified, now),
            date_added=now,
        )


def after_hit(indicator: Indicator, sighting: Sighting) -> Indicator:
    """``indicator`` once ``sighting`` (a hit) is known: ``last_seen`` is the later one."""
    if sighting.last_seen <= indicator.last_seen:
        return indicator
    return replace(indicator, last_seen=sighting.last_seen)


def parse_sighting(line: int, item: object, now: datetime) -> Sighting:
    """Validate one request item; InvalidIndicator says what is wrong with it."""
    if not isinstance(item, dict):
        raise InvalidIndicator(f"expected an object, got {type(item).__name__}")
    unknown = sorted(set(item) - _KNOWN_FIELDS)
    if unknown:
        raise InvalidIndicator(f"unknown fields {unknown}; known: {sorted(_KNOWN_FIELDS)}")
    kind_text = str(item.get("kind"))
    try:
        kind = SightingKind(kind_text)
    except ValueError:
        raise InvalidIndicator(
            f"kind: must be 'hit' or 'false-positive', got {kind_text[:50]!r}"
        ) from None
    source = item.get("source", "")
    if not isinstance(source, str) or len(source) > MAX_SOURCE:
        raise InvalidIndicator(f"source: must be a string of at most {MAX_SOURCE} characters")
    count = item.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InvalidIndicator(f"count: must be a whole number from 1 to {MAX_COUNT}")
    # Without times a sighting is of now; with only first_seen it lasted until now.
    last_seen = _time(item, "last_seen", now) or now
    first_seen = _time(item, "first_seen", now) or last_seen
    if last_seen < first_seen:
        raise InvalidIndicator("last_seen: is before first_seen")
    source = source.strip()
    stix_id = item.get("stix_id")
    if stix_id is not None:
        if "value" in item or "type" in item:
            raise InvalidIndicator("give either stix_id or value and type, not both")
        if not isinstance(stix_id, str) or "--" not in stix_id or len(stix_id) > 80:
            raise InvalidIndicator("stix_id: must be a STIX id such as indicator--<uuid>")
        return Sighting(line, kind, source, count, first_seen, last_seen, stix_id=stix_id)
    value, type_name = item.get("value"), item.get("type")
    if not isinstance(value, str) or not value.strip():
        raise InvalidIndicator("value: required (or stix_id), a non-empty string")
    try:
        ioc_type = IocType(str(type_name).strip().lower())
    except ValueError:
        raise InvalidIndicator(
            f"type: must be one of {[t.value for t in IocType]}, got {str(type_name)[:50]!r}"
        ) from None
    try:
        canonical = canonicalize(ioc_type, value)
    except InvalidIndicator as error:
        raise InvalidIndicator(f"value: {error}") from None
    return Sighting(
        line, kind, source, count, first_seen, last_seen, type=ioc_type, value=canonical
    )


def _time(item: dict[str, object], name: str, now: datetime) -> datetime | None:
    raw = item.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidIndicator(f"{name}: must be an ISO 8601 timestamp string")
    try:
        moment = parse_timestamp(raw)
    except InvalidIndicator as error:
        raise InvalidIndicator(f"{name}: {error}") from None
    if moment > now:
        raise InvalidIndicator(f"{name}: is in the future")
    return moment
