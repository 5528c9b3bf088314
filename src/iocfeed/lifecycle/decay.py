"""Decay: how an indicator's score falls with the time since it was last seen (pure).

Theory of operation
-------------------
Each IOC type has a model (``DecayModel``): a lifetime τ, a speed δ and a revocation
threshold. The score follows MISP's polynomial decay (also OpenCTI's shape)::

    score(t) = B · (1 - (t / τ) ** (1 / δ))      for 0 ≤ t ≤ τ, 0 after

where ``t`` is the time since ``last_seen`` and ``B`` the base score: the STIX integer of the
confidence the indicator was created or last reported with (85 / 50 / 15), less the
false-positive penalty (``lifecycle.sightings``). δ = 1 falls linearly; δ > 1 falls fast
then slowly; δ < 1 slowly then fast. A type without a model (CVEs, ATT&CK techniques) keeps
its base score for ever.

The curve has a closed-form inverse, ``t(s) = τ · (1 - s / B) ** δ``, which gives

* the *revocation time*: ``last_seen + t(threshold)``; from then on the score is below the
  threshold and the indicator is revoked. It is exported as STIX ``valid_until``, so a SIEM
  expires the indicator when iocfeed revokes it;
* the *next due time*: ``last_seen + t(exported - step)``, when the exported confidence will
  have fallen by ``step`` (or the revocation time, whichever is first). The store keeps it
  per current version, so the sweep finds due indicators through an index instead of
  scoring every row on every tick.

A new STIX version is published only when the exported confidence would move by ``step``
points or more, when the predicted revocation moves by ``slack`` or more (a re-sighting
pushes it later), or at revocation: not on every tick. Re-sightings and new reports move
``last_seen``, which restarts the curve from the base score.

Decay never changes an indicator's TLP: the default TLP (SPEC §2) comes from the
``confidence`` level the indicator was created or last reported with, not from its score.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from iocfeed.indicators.merge import Merge, Outcome, next_modified
from iocfeed.indicators.model import Indicator, IocType
from iocfeed.stix.objects import confidence_score

_MINIMUM_WAIT = 1.0  # seconds
_ROUNDING = 1e-9


_FIELDS = tuple(f.name for f in fields(Indicator) if f.init)
_field_values = operator.attrgetter(*_FIELDS)
_POSITION = {name: index for index, name in enumerate(_FIELDS)}


def _changed(indicator: Indicator, **changes: object) -> Indicator:
    """``dataclasses.replace`` for the write path: a third of its cost on one version."""
    values = list(_field_values(indicator))
    for name, value in changes.items():
        values[_POSITION[name]] = value
    return Indicator(*values)


def exported_score(indicator: Indicator) -> int:
    """The STIX ``confidence`` a version exports: its decayed score, else the fixed integer."""
    score = indicator.score
    return score if score is not None else confidence_score[indicator.confidence]


@dataclass(frozen=True, slots=True)
class DecayModel:
    """One IOC type's decay: the score reaches 0 after ``lifetime``; below ``threshold``
    the indicator is revoked; ``speed`` is MISP's δ (1 = linear)."""

    lifetime: timedelta
    speed: float = 1.0
    threshold: int = 10

    def __post_init__(self) -> None:
        if self.lifetime <= timedelta(0) or self.speed <= 0:
            raise ValueError("a decay model needs a positive lifetime and speed")

    def score(self, base: float, elapsed: timedelta) -> float:
        """The score ``elapsed`` after ``last_seen``, from ``base``."""
        return self.score_after(base, elapsed.total_seconds())

    def time_to(self, base: float, score: float) -> timedelta:
        """How long after ``last_seen`` the score has fallen to ``score`` (the inverse)."""
        return timedelta(seconds=self.seconds_to(base, score))

    # Seconds as floats on the write path: timedelta arithmetic costs several times more.

    def score_after(self, base: float, seconds: float) -> float:
        lifetime = self.lifetime.total_seconds()
        if base <= 0 or seconds >= lifetime:
            return 0.0
        if seconds <= 0:
            return float(base)
        fraction: float = (seconds / lifetime) ** (1.0 / self.speed)
        return base * (1.0 - fraction)

    def seconds_to(self, base: float, score: float) -> float:
        if base <= 0 or score >= base:
            return 0.0
        lifetime = self.lifetime.total_seconds()
        if score <= 0:
            return lifetime
        fraction: float = (1.0 - score / base) ** self.speed
        return lifetime * fraction


@dataclass(frozen=True, slots=True)
class Assessment:
    """An indicator's decay at one moment."""

    score: int
    """The STIX ``confidence`` to export now."""
    revoke_at: datetime | None
    """When the model revokes it (exported as ``valid_until``); ``None``: never."""
    next_due: datetime | None
    """When the exported score will have moved by ``step``, or ``revoke_at``."""

    def revoked_at(self, now: datetime) -> bool:
        return self.revoke_at is not None and self.revoke_at <= now


@dataclass(frozen=True, slots=True)
class DecayPolicy:
    """The decay models by IOC type (types without one do not decay) and when to publish."""

    models: Mapping[IocType, DecayModel] = field(default_factory=dict)
    step: int = 10
    """Publish a new version when the exported confidence moves by this many points."""
    slack: timedelta = timedelta(days=1)
    """... or when the predicted revocation moves by this much."""

    def base(self, indicator: Indicator) -> int:
        """The score the curve starts from: the confidence's integer less the penalty."""
        return max(0, confidence_score[indicator.confidence] - indicator.penalty)

    def assess(
        self, indicator: Indicator, now: datetime, exported: int | None = None
    ) -> Assessment:
        """The score at ``now``; ``exported`` (default: that score) sets the next due time."""
        base = self.base(indicator)
        model = self.models.get(indicator.type)
        if model is None:
            return Assessment(base, None, None)
        last_seen = indicator.last_seen
        elapsed = (now - last_seen).total_seconds()
        # Rounded up, so the exported integer reaches ``target`` exactly at ``time_to(target)``.
        score = math.ceil(model.score_after(base, elapsed) - _ROUNDING)
        to_revocation = model.seconds_to(base, model.threshold)
        shown = score if exported is None else exported
        target = shown - self.step
        to_due = (
            to_revocation
            if target <= model.threshold
            else min(to_revocation, model.seconds_to(base, target))
        )
        due = max(to_due, elapsed + _MINIMUM_WAIT)
        return Assessment(
            score, last_seen + timedelta(seconds=to_revocation), last_seen + timedelta(seconds=due)
        )

    def stamp(self, indicator: Indicator, now: datetime, *, revoke: bool = False) -> Indicator:
        """``indicator`` (a new version) with its decay fields as of ``now``."""
        if indicator.revoked:
            return _changed(indicator, decay_next=None)
        found = self.assess(indicator, now)
        if found.revoked_at(now):
            if revoke:
                return _changed(
                    indicator,
                    score=found.score,
                    decay_until=found.revoke_at,
                    decay_next=None,
                    revoked=True,
                )
            # A load never revokes on its own: the decay sweep does, at its next pass.
            return _changed(
                indicator, score=found.score, decay_until=found.revoke_at, decay_next=now
            )
        return _changed(
            indicator, score=found.score, decay_until=found.revoke_at, decay_next=found.next_due
        )

    def moved(self, current: Indicator, now: datetime) -> Indicator | None:
        """The new version decay publishes for ``current`` at ``now``, or ``None``.

        ``None`` means the exported confidence and ``valid_until`` are still close enough;
        ``retimed`` then gives the new next due time.
        """
        if current.revoked:
            return None
        found = self.assess(current, now)
        exported = current.score if current.score is not None else self.base(current)
        if (
            found.revoked_at(now)
            or abs(found.score - exported) >= self.step
            or _apart(found.revoke_at, current.decay_until, self.slack)
        ):
            stamped = self.stamp(current, now, revoke=True)
            return _changed(stamped, modified=next_modified(current.modified, now), date_added=now)
        return None

    def retimed(self, current: Indicator, now: datetime) -> datetime | None:
        """When ``current``'s exported score will next need a look, keeping its version."""
        if current.revoked:
            return None
        exported = current.score if current.score is not None else self.base(current)
        return self.assess(current, now, exported).next_due

    def rescore(self, previous: Indicator | None, result: Merge, now: datetime) -> Merge:
        """Apply decay to what a load made of ``previous`` (its stored current version).

        A new version gets the score of its own ``last_seen`` (and is due for the sweep at
        once, which revokes it, when that is already past the model's revocation); an
        unchanged load that moved ``last_seen`` (a re-sighting, a repeated report) becomes a
        new version when the score or the revocation time moved past ``step`` or ``slack``.
        A stale report of a revoked indicator changes nothing, rather than starting it over
        only to revoke it again.
        """
        if result.outcome is Outcome.WITHHELD:
            return result
        if result.outcome is Outcome.UNCHANGED:
            if previous is None or result.indicator.last_seen == previous.last_seen:
                return result
            moved = self.moved(result.indicator, now)
            return result if moved is None else Merge(Outcome.UPDATED, moved)
        stamped = self.stamp(result.indicator, now)
        if (
            result.outcome is Outcome.ADDED
            and previous is not None
            and previous.revoked
            and not result.indicator.revoked
            and stamped.decay_until is not None
            and stamped.decay_until <= now
        ):
            # A report of a revoked indicator that decay would revoke again at once (its
            # last_seen is as old as before) does not start it over as a new object.
            return Merge(Outcome.UNCHANGED, previous)
        return Merge(result.outcome, stamped)


def _apart(first: datetime | None, second: datetime | None, slack: timedelta) -> bool:
    if first is None or second is None:
        return first is not second
    return abs(first - second) >= slack
