"""Converting between indicator values and table rows (times as epoch microseconds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from iocfeed.indicators.model import TLP_BY_CONFIDENCE, Confidence, Indicator, IocType, Tlp
from iocfeed.lifecycle.warninglists import TAG_PREFIX

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH = EPOCH
# A version carrying a tag with this prefix is stored ``flagged`` (a flag list's tag).
FLAG_TAG_PREFIX = '"' + TAG_PREFIX


def to_us(moment: datetime) -> int:
    """Aware datetime → integer microseconds since the epoch, exactly."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def from_us(micros: int) -> datetime:
    """Integer microseconds since the epoch → aware UTC datetime, exactly.

    A value outside what ``datetime`` can hold (a row written before input was range
    checked) reads as the earliest or latest representable time rather than failing.
    """
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return _EARLIEST if micros < 0 else _LATEST


# Enum member → stored text, and the rank of each effective TLP: plain dict look-ups are
# several times cheaper than ``.value`` and ``effective_tlp.rank`` on the write hot path.
_TEXT: dict[object, str] = {
    member: member.value for enum in (IocType, Confidence, Tlp) for member in enum
}
_TLP_RANK = {tlp: tlp.rank for tlp in Tlp}
_RANK_BY_CONFIDENCE = {confidence: tlp.rank for confidence, tlp in TLP_BY_CONFIDENCE.items()}
_NO_TECHNIQUES = orjson.dumps(()).decode()


def indicator_to_row(indicator: Indicator) -> dict[str, Any]:
    """The column values of one version (without ``seq`` and ``superseded_at``)."""
    tlp = indicator.tlp
    valid_until = indicator.valid_until
    # A new version is its indicator's current one, so its access rank is its own TLP rank.
    rank = _TLP_RANK[tlp] if tlp is not None else _RANK_BY_CONFIDENCE[indicator.confidence]
    tags = orjson.dumps(indicator.tags).decode()
    return {
        "stix_id": indicator.stix_id,
        "type": _TEXT[indicator.type],
        "value": indicator.value,
        "confidence": _TEXT[indicator.confidence],
        "tags": tags,
        "flagged": FLAG_TAG_PREFIX in tags,
        "techniques": (
            orjson.dumps(indicator.techniques).decode() if indicator.techniques else _NO_TECHNIQUES
        ),
        "description": indicator.description,
        "source": indicator.source,
        "tlp": _TEXT[tlp] if tlp is not None else None,
        "tlp_rank": rank,
        "access_rank": rank,
        "submitted": False,
        "first_seen": to_us(indicator.first_seen),
        "last_seen": to_us(indicator.last_seen),
        "valid_until": to_us(valid_until) if valid_until else None,
        "revoked": indicator.revoked,
        "created": to_us(indicator.created),
        "modified": to_us(indicator.modified),
        "date_added": to_us(indicator.date_added),
        "score": indicator.score,
        "penalty": indicator.penalty,
        "decay_until": to_us(indicator.decay_until) if indicator.decay_until is not None else None,
        "decay_next": to_us(indicator.decay_next) if indicator.decay_next is not None else None,
    }


_TYPES = {member.value: member for member in IocType}
_CONFIDENCES = {member.value: member for member in Confidence}
_TLPS = {member.value: member for member in Tlp}


def row_to_indicator(row: Sequence[Any]) -> Indicator:
    """One ``indicator_versions`` row (``schema.DECODED_COLUMNS``, in order) → its version."""
    # Unpacking by position is the read hot path's cheapest access to a row.
    (
        seq,
        stix_id,
        ioc_type,
        value,
        confidence,
        tags,
        techniques,
        description,
        source,
        tlp,
        _tlp_rank,
        first_seen,
        last_seen,
        valid_until,
        revoked,
        created,
        modified,
        date_added,
        _superseded_at,
        _access_rank,
        _submitted,
        _flagged,
        score,
        penalty,
        decay_until,
        decay_next,
    ) = row
    return Indicator(
        stix_id=stix_id,
        type=_TYPES[ioc_type],
        value=value,
        confidence=_CONFIDENCES[confidence],
        tags=tuple(orjson.loads(tags)),
        techniques=tuple(orjson.loads(techniques)) if techniques != "[]" else (),
        description=description,
        source=source,
        tlp=_TLPS[tlp] if tlp is not None else None,
        first_seen=_EPOCH + timedelta(microseconds=first_seen),
        last_seen=_EPOCH + timedelta(microseconds=last_seen),
        valid_until=_EPOCH + timedelta(microseconds=valid_until) if valid_until else None,
        revoked=bool(revoked),
        created=_EPOCH + timedelta(microseconds=created),
        modified=_EPOCH + timedelta(microseconds=modified),
        date_added=_EPOCH + timedelta(microseconds=date_added),
        seq=seq,
        score=score,
        penalty=penalty or 0,
        decay_until=(
            _EPOCH + timedelta(microseconds=decay_until) if decay_until is not None else None
        ),
        decay_next=_EPOCH + timedelta(microseconds=decay_next) if decay_next is not None else None,
    )
