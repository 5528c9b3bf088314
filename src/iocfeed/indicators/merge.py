"""Merge and versioning: what loading an indicator does to the one already stored (SPEC §1).

Theory of operation
-------------------
``(type, value)`` is unique. Loading a value that is not stored yet creates it with a fresh
STIX id. Loading a known value merges: tags and techniques are unioned, ``first_seen`` is the
earliest and ``last_seen`` the latest seen, and confidence, description, TLP and
``valid_until`` are taken from the newer source when it states them.

Only a change that is visible in STIX (pattern inputs, labels, confidence, kill chain, TLP,
``valid_from``, ``valid_until``, revocation, description) makes a new *version*: the same
STIX id with a later ``modified``. Everything else (``last_seen``, ``source``) is updated in
place and the load counts as unchanged, so running the same import twice changes nothing.

STIX objects cannot be un-revoked (STIX 2.1 §3.6). A revoked indicator that is loaded again
as live therefore starts over as a new object with a new id; the revoked one stays revoked.

Writes above the writer's TLP ceiling
-------------------------------------
A writer's *ceiling* is the highest TLP its key may receive (SPEC §4). A load never changes,
revokes or reveals an indicator whose current TLP is above the ceiling of the key that sent
it: ``merge`` returns ``WITHHELD`` and the stored indicator as it is, so nothing is written
(no version, no ``last_seen``, no tags). This holds for revoked indicators too. Within its
ceiling a writer may lower or raise an indicator's TLP, above the ceiling too. Operators
(ceiling RED) are never withheld from.

The writer is answered exactly as if the value had been new to it. The store keeps, per
writer, a private *shadow* of each withheld value: the indicator as that writer's withheld
loads alone would have made it. A withheld load merges into the writer's shadow by the
ordinary rules, as if the shadow were the stored version, so the first load of a hidden
value answers ``ADDED`` and a repeat, in the same request or a later one, ``UNCHANGED`` or
``UPDATED`` exactly as for a value that was new and stored; a TAXII status names the shadow's
id, the same on every repeat. The answer depends only on what that writer sent, never on the
real indicator. A shadow is never served to anybody and never changes the real indicator.
It is consulted only while the real indicator is above the writer's ceiling: a load that
finds the indicator within the ceiling merges into the real one as any load does, and the
shadow stays dormant (dropping it there would cost every ordinary write a look at the
shadows). Should the indicator go above the ceiling again, the writer is answered from its
shadow once more, that is from its own earlier withheld loads. The writer cannot read a
withheld value back, since it is above its ceiling.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from iocfeed.indicators.model import Indicator, IndicatorInput, Tlp

_ONE_MS = timedelta(milliseconds=1)


class Outcome(enum.StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    WITHHELD = "withheld"
    """Not stored: the indicator is above the writer's TLP ceiling (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Writer:
    """Who loads, as far as merging cares: whose shadows answer withheld loads, and the
    highest TLP it may receive."""

    id: str
    """The API key id (the account, once keys belong to accounts)."""
    ceiling: Tlp


@dataclass(frozen=True, slots=True)
class Merge:
    """The result of loading one input: the outcome and the state to store."""

    outcome: Outcome
    indicator: Indicator
    """A new version (added/updated) or the current one with in-place fields (unchanged)."""


def millisecond_precision(moment: datetime) -> datetime:
    """``moment`` truncated to the millisecond precision that STIX timestamps carry."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def next_modified(previous: datetime, now: datetime) -> datetime:
    """A ``modified`` strictly later than ``previous`` at STIX precision, normally ``now``."""
    candidate = millisecond_precision(now)
    return candidate if candidate > previous else millisecond_precision(previous) + _ONE_MS


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return first + tuple(item for item in second if item not in first)


def _visible(indicator: Indicator) -> tuple[object, ...]:
    return (
        indicator.confidence,
        indicator.tags,
        indicator.techniques,
        indicator.description,
        indicator.tlp,
        indicator.first_seen,
        indicator.valid_until,
        indicator.revoked,
    )


def new_indicator(incoming: IndicatorInput, stix_id: str, now: datetime) -> Indicator:
    """The first version of an indicator never stored before."""
    created = millisecond_precision(now)
    first_seen = incoming.first_seen or incoming.last_seen or created
    last_seen = max(incoming.last_seen or first_seen, first_seen)
    return Indicator(
        stix_id=stix_id,
        type=incoming.type,
        value=incoming.value,
        confidence=incoming.confidence,
        tags=incoming.tags,
        techniques=incoming.techniques,
        description=incoming.description,
        source=incoming.source,
        tlp=incoming.tlp,
        first_seen=first_seen,
        last_seen=last_seen,
        valid_until=incoming.valid_until,
        revoked=incoming.revoked,
        created=created,
        modified=created,
        date_added=now,
    )


def merge(
    current: Indicator | None,
    incoming: IndicatorInput,
    now: datetime,
    new_stix_id: Callable[[IndicatorInput], str],
    *,
    ceiling: Tlp = Tlp.RED,
) -> Merge:
    """Load ``incoming`` over ``current`` (the stored latest version, if any), for a writer
    whose key may receive TLPs up to ``ceiling``."""
    if current is not None and current.effective_tlp > ceiling:
        return Merge(Outcome.WITHHELD, current)
    if current is None or (current.revoked and not incoming.revoked):
        return Merge(Outcome.ADDED, new_indicator(incoming, new_stix_id(incoming), now))
    if current.revoked:
        return Merge(Outcome.UNCHANGED, current)
    first_seen = min(current.first_seen, incoming.first_seen or current.first_seen)
    merged = replace(
        current,
        confidence=incoming.confidence,
        tags=_union(current.tags, incoming.tags),
        techniques=_union(current.techniques, incoming.techniques),
        description=incoming.description or current.description,
        source=incoming.source or current.source,
        tlp=incoming.tlp if incoming.tlp is not None else current.tlp,
        first_seen=first_seen,
        last_seen=max(current.last_seen, incoming.last_seen or incoming.first_seen or first_seen),
        valid_until=incoming.valid_until or current.valid_until,
        revoked=incoming.revoked,
    )
    if _visible(merged) == _visible(current):
        return Merge(Outcome.UNCHANGED, merged)
    return Merge(
        Outcome.UPDATED,
        replace(merged, modified=next_modified(current.modified, now), date_added=now),
    )


def revoke(current: Indicator, now: datetime) -> Indicator:
    """The version that withdraws ``current`` (SPEC §1: removal publishes ``revoked: true``)."""
    return replace(
        current,
        revoked=True,
        modified=next_modified(current.modified, now),
        date_added=now,
        decay_next=None,
    )
