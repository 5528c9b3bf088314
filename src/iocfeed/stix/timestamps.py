"""STIX 2.1 timestamps: UTC, millisecond precision, ``Z`` suffix (STIX 2.1 §3.2)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

MILLISECOND = timedelta(milliseconds=1)


def to_milliseconds(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to whole milliseconds."""
    moment = _utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@functools.lru_cache(maxsize=4096)
def stix_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ``; sub-millisecond digits are dropped, not rounded.

    Cached: an indicator's created, modified and first_seen are often the same instant,
    and formatting costs more than a cache hit.
    """
    moment = _utc(moment)
    # printf-style formatting of the fields costs about half of ``isoformat`` and slicing.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:
        return moment
    if moment.utcoffset() is None:
        raise ValueError(f"STIX timestamps need an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)
