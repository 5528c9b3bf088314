"""Parameter rules shared by every read surface (REST search, STIX export, the CLI).

Each rule is said once: what a ``type`` list, a time bound or a ``limit`` may be, and the
:class:`~iocfeed.errors.InvalidQuery` / :class:`~iocfeed.errors.LimitExceeded` that names the
parameter when it cannot be used. TAXII's own filters live in ``iocfeed.taxii.query``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from iocfeed.errors import InvalidIndicator, InvalidQuery, LimitExceeded
from iocfeed.indicators.fields import parse_timestamp
from iocfeed.indicators.model import IocType

TYPE_NAMES = ", ".join(kind.value for kind in IocType)


def split_values(values: str | Sequence[str] | None) -> list[str]:
    """A repeatable parameter whose values may also be comma separated, blanks dropped."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_types(values: str | Sequence[str] | None) -> frozenset[IocType]:
    """``type``: IOC type names, repeated or comma separated; none means every type."""
    chosen: set[IocType] = set()
    for name in split_values(values):
        try:
            chosen.add(IocType(name.lower()))
        except ValueError:
            raise InvalidQuery(
                f"type must be one of {TYPE_NAMES}, got {name[:64]!r}", parameter="type"
            ) from None
    return frozenset(chosen)


def parse_time(raw: str | datetime | None, parameter: str) -> datetime | None:
    """An ISO 8601 date or timestamp (UTC when it has no offset); ``None`` when absent."""
    if isinstance(raw, datetime):
        if raw.utcoffset() is None:
            raise InvalidQuery(f"{parameter} must carry a time zone", parameter=parameter)
        return raw
    if raw is None:
        return None
    if not raw.strip():
        raise InvalidQuery(
            f"{parameter} is empty: give a date or time, or leave the parameter out",
            parameter=parameter,
        )
    try:
        return parse_timestamp(raw)
    except InvalidIndicator as error:
        raise InvalidQuery(f"{parameter}: {error.message}", parameter=parameter) from None
    except OverflowError:
        raise InvalidQuery(
            f"{parameter} is out of range: {raw[:64]!r}", parameter=parameter
        ) from None


def parse_limit(raw: int | str | None, *, default: int, maximum: int) -> int:
    """``limit``: 1 to ``maximum``; above the cap is LimitExceeded naming it (SPEC §2)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return min(default, maximum)
    try:
        limit = int(raw.strip()) if isinstance(raw, str) else raw
    except ValueError:
        raise InvalidQuery(
            f"limit must be an integer from 1 to {maximum}, got {str(raw)[:64]!r}",
            parameter="limit",
        ) from None
    if limit > maximum:
        raise LimitExceeded(f"limit must be at most {maximum}, got {limit}", parameter="limit")
    if limit < 1:
        raise InvalidQuery(f"limit must be between 1 and {maximum}, got {limit}", parameter="limit")
    return limit
