"""How rejection reasons quote a bad value, and the check for characters no IOC contains."""

from __future__ import annotations

import re

from iocfeed.errors import InvalidIndicator

# Long enough to recognise the value in an import report, short enough to keep the
# reason on one line when a whole paragraph lands in a value field.
_SHOWN_MAX = 80

# Whitespace (any Unicode space), C0/C1 control characters and the invisible format
# characters that survive copy and paste from web pages and chat (zero-width space,
# joiners, word joiner, byte-order mark).
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2060\ufeff]")


def shown(raw: str) -> str:
    """``raw`` quoted for a reason, cut short when it is long."""
    if len(raw) > _SHOWN_MAX:
        return repr(raw[:_SHOWN_MAX] + "…")
    return repr(raw)


def reject_unprintable(kind: str, value: str) -> None:
    """Raise when ``value`` holds whitespace or a control character (``kind`` names the type)."""
    found = _UNPRINTABLE.search(value)
    if found is not None:
        what = "whitespace" if found.group().isspace() else "a control character"
        raise InvalidIndicator(
            f"{shown(value)} is not a valid {kind}: it contains {what} "
            f"({found.group()!r} at position {found.start()})"
        )


def reject_empty(kind: str, value: str) -> None:
    """Raise when ``value`` is empty (after stripping)."""
    if not value:
        raise InvalidIndicator(f"empty {kind} value")


def is_printable(value: str) -> bool:
    """Whether ``value`` is free of whitespace and control characters."""
    return _UNPRINTABLE.search(value) is None
