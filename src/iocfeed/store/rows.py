"""Converting between indicator values and table rows (times as epoch microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Row

from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Aware datetime → integer microseconds since the epoch, exactly."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(micros: int) -> datetime:
    """Integer microseconds since the epoch → aware UTC datetime, exactly."""
    seconds, micro = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)


def indicator_to_row(indicator: Indicator) -> dict[str, Any]:
    """The column values of one version (without ``seq`` and ``superseded_at``)."""
    return {
        "stix_id": indicator.stix_id,
        "type": indicator.type.value,
        "value": indicator.value,
        "confidence": indicator.confidence.value,
        "tags": orjson.dumps(indicator.tags).decode(),
        "techniques": orjson.dumps(indicator.techniques).decode(),
        "description": indicator.description,
        "source": indicator.source,
        "tlp": indicator.tlp.value if indicator.tlp is not None else None,
        "tlp_rank": indicator.effective_tlp.rank,
        "first_seen": to_us(indicator.first_seen),
        "last_seen": to_us(indicator.last_seen),
        "valid_until": to_us(indicator.valid_until) if indicator.valid_until else None,
        "revoked": indicator.revoked,
        "created": to_us(indicator.created),
        "modified": to_us(indicator.modified),
        "date_added": to_us(indicator.date_added),
    }


_TYPES = {member.value: member for member in IocType}
_CONFIDENCES = {member.value: member for member in Confidence}
_TLPS = {member.value: member for member in Tlp}


def row_to_indicator(row: Row[Any]) -> Indicator:
    """One ``indicator_versions`` row → the version it stores."""
    valid_until = row.valid_until
    return Indicator(
        stix_id=row.stix_id,
        type=_TYPES[row.type],
        value=row.value,
        confidence=_CONFIDENCES[row.confidence],
        tags=tuple(orjson.loads(row.tags)),
        techniques=tuple(orjson.loads(row.techniques)),
        description=row.description,
        source=row.source,
        tlp=_TLPS[row.tlp] if row.tlp is not None else None,
        first_seen=from_us(row.first_seen),
        last_seen=from_us(row.last_seen),
        valid_until=from_us(valid_until) if valid_until is not None else None,
        revoked=bool(row.revoked),
        created=from_us(row.created),
        modified=from_us(row.modified),
        date_added=from_us(row.date_added),
        seq=row.seq,
    )
