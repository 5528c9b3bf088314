"""The TAXII 2.1 ``timestamp`` type (§2): microsecond UTC output, any RFC 3339 precision input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from iocfeed.errors import InvalidQuery

# RFC 3339 §5.6 ``date-time``; the fraction may have any number of digits.
_RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)

EXAMPLE = "2024-01-31T12:00:00.000000Z"
"""A well-formed TAXII timestamp, quoted in error messages."""


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` as a TAXII 2.1 timestamp: ``YYYY-MM-DDTHH:MM:SS.ssssssZ`` (§2).

    TAXII (unlike STIX) requires microsecond precision, so a ``date_added`` that a client
    echoes back in ``added_after`` names exactly one instant and a strict comparison never
    serves that object again.
    """
    if moment.tzinfo is None:
        raise ValueError("TAXII timestamps need an aware datetime")
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def parse_timestamp(raw: str, *, parameter: str) -> datetime:
    """Read an RFC 3339 timestamp from a query parameter as an aware UTC datetime.

    TAXII 2.1 §2 asks clients for ``Z`` and microseconds; any RFC 3339 precision and a
    numeric offset are accepted too. Digits past the microsecond are truncated. Anything
    else raises :class:`InvalidQuery` naming ``parameter``.
    """
    match = _RFC3339.fullmatch(raw)
    if match is None:
        raise InvalidQuery(
            f"{parameter} must be an RFC 3339 timestamp such as {EXAMPLE}, got {_quote(raw)}"
            + (" (a '+' in a URL must be sent as %2B)" if " " in raw else ""),
            parameter=parameter,
        )
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    try:
        moment = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=UTC,
        )
        offset = match["offset"]
        if offset not in ("Z", "z"):
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            moment -= sign * timedelta(hours=hours, minutes=minutes)
    except (ValueError, OverflowError) as exc:
        raise InvalidQuery(
            f"{parameter} is not a real UTC instant: {_quote(raw)}", parameter=parameter
        ) from exc
    return moment


def _quote(raw: str, limit: int = 64) -> str:
    """Echo client input in an error message, bounded and unambiguous."""
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")
