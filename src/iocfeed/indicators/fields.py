"""Parsing an indicator's other fields: tags, confidence, TLP and timestamps."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.model import Confidence, Tlp
from iocfeed.indicators.reasons import shown


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Stripped, lower-cased, without empties or repeats, in first-seen order."""
    # A dict keeps insertion order, so it de-duplicates without reordering.
    return tuple(dict.fromkeys(tag for tag in (raw.strip().lower() for raw in tags) if tag))


_CONFIDENCE_WORDS: dict[str, Confidence] = {
    "high": Confidence.HIGH,
    "medium": Confidence.MEDIUM,
    "med": Confidence.MEDIUM,
    "low": Confidence.LOW,
}

# STIX 2.1 Appendix A, "None / Low / Med / High" scale: the lowest integer of each band.
# 0 ("None") has no band of its own here and counts as low.
_CONFIDENCE_BANDS: tuple[tuple[int, Confidence], ...] = (
    (70, Confidence.HIGH),
    (30, Confidence.MEDIUM),
    (0, Confidence.LOW),
)
_CONFIDENCE_NUMBER = re.compile(r"[0-9]{1,3}")
_MAX_CONFIDENCE = 100


def parse_confidence(raw: str) -> Confidence:
    """``high``/``medium``/``med``/``low`` in any case, or a STIX integer 0 to 100."""
    text = raw.strip().lower()
    word = _CONFIDENCE_WORDS.get(text)
    if word is not None:
        return word
    if _CONFIDENCE_NUMBER.fullmatch(text) and int(text) <= _MAX_CONFIDENCE:
        number = int(text)
        return next(level for floor, level in _CONFIDENCE_BANDS if number >= floor)
    raise InvalidIndicator(
        f"confidence must be high, medium, low or an integer 0 to 100, got {shown(raw)}"
    )


_TLP_WORDS: dict[str, Tlp] = {
    "clear": Tlp.CLEAR,
    "white": Tlp.CLEAR,  # TLP 1.0's name for TLP:CLEAR
    "green": Tlp.GREEN,
    "amber": Tlp.AMBER,
    "amber+strict": Tlp.AMBER_STRICT,
    "red": Tlp.RED,
}
_TLP_PREFIX = re.compile(r"tlp\s*:?\s*")


def parse_tlp(raw: str) -> Tlp:
    """``clear``, ``white`` (TLP 1.0, read as clear), ``green``, ``amber``, ``amber+strict``
    or ``red``, with or without a ``TLP:`` prefix, in any case."""
    text = raw.strip().lower()
    prefix = _TLP_PREFIX.match(text)
    if prefix is not None:
        text = text[prefix.end() :]
    level = _TLP_WORDS.get(text)
    if level is None:
        raise InvalidIndicator(
            f"TLP must be one of {', '.join(_TLP_WORDS)} (optionally prefixed 'TLP:'), "
            f"got {shown(raw)}"
        )
    return level


# A date first: fromisoformat alone would also accept bare times and other forms that no
# feed means as a timestamp.
_TIMESTAMP_SHAPE = re.compile(r"[0-9]{4}-?[0-9]{2}-?[0-9]{2}(?:[T ][0-9:.,]+(?:Z|[+-][0-9:]+)?)?")


def parse_timestamp(raw: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp or date as an aware UTC datetime.

    ``Z`` or an offset is honoured; a time without one is taken as UTC; a date alone
    (``2024-03-14``) is midnight UTC.
    """
    text = raw.strip().upper()
    try:
        if not _TIMESTAMP_SHAPE.fullmatch(text):
            raise ValueError("not an ISO 8601 date or timestamp")
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidIndicator(
            f"cannot read {shown(raw)} as an ISO 8601 timestamp "
            f"(e.g. 2024-03-14T09:30:00Z): {error}"
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:30:00-01:00 is past the last datetime
        raise InvalidIndicator(f"{shown(raw)} is out of the supported range of dates") from None
