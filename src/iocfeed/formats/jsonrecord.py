"""One JSON indicator object → a raw indicator: the field rules JSON Lines and JSON arrays share.

Field names are those of ``RawIndicator`` (``value``, ``type``, ``confidence``, ``tags``,
``techniques``, ``description``, ``source``, ``tlp``, ``first_seen``, ``last_seen``,
``valid_until``, ``revoked``), matched as CSV headers are (``ioc`` = ``value``). ``tags`` and
``techniques`` may be a list or a comma-separated string; numbers are passed on as text
(``"confidence": 85`` → ``"85"``); ``revoked`` may be a boolean or true/false text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iocfeed.errors import InvalidIndicator
from iocfeed.formats.fields import TOO_DEEP, field_name, json_excerpt, parse_flag, split_list
from iocfeed.indicators.model import RawIndicator, Rejected

# JSON value kinds, named as a person reading the report would call them.
_KINDS: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}

_TEXT_FIELDS = (
    "type",
    "confidence",
    "description",
    "source",
    "tlp",
    "first_seen",
    "last_seen",
    "valid_until",
)


def json_kind(item: object) -> str:
    """``[1]`` → ``"an array"``: what a JSON value is, for a rejection reason."""
    return _KINDS.get(type(item), type(item).__name__)


def record_from_json(line: int, item: object) -> RawIndicator | Rejected:
    """The raw indicator a parsed JSON object states, or why it is not one."""
    if not isinstance(item, dict):
        return _rejected(line, f"expected a JSON object, got {json_kind(item)}", item)
    fields: dict[str, Any] = {}
    for key, field in item.items():
        name = field_name(str(key))
        if name is not None:
            fields.setdefault(name, field)
    try:
        return _record(line, fields)
    except InvalidIndicator as exc:
        return _rejected(line, exc.message, item)


def _record(line: int, fields: Mapping[str, Any]) -> RawIndicator:
    value = _text(fields, "value")
    if value is None:
        raise InvalidIndicator("missing value")
    text = {name: _text(fields, name) for name in _TEXT_FIELDS}
    return RawIndicator(
        line=line,
        value=value,
        tags=_list(fields, "tags"),
        techniques=_list(fields, "techniques"),
        revoked=_flag(fields.get("revoked")),
        **text,
    )


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    field = fields.get(name)
    if field is None:
        return None
    if isinstance(field, str):
        return field.strip() or None
    if isinstance(field, int | float) and not isinstance(field, bool):
        return str(field)
    raise InvalidIndicator(f"{name} must be a string, got {json_kind(field)}")


def _list(fields: Mapping[str, Any], name: str) -> tuple[str, ...]:
    field = fields.get(name)
    if field is None:
        return ()
    if isinstance(field, str):
        return split_list(field)
    if isinstance(field, list) and all(isinstance(entry, str) for entry in field):
        return tuple(stripped for entry in field if (stripped := entry.strip()))
    raise InvalidIndicator(f"{name} must be a list of strings or a comma-separated string")


def _flag(field: object) -> bool:
    if field is None:
        return False
    if isinstance(field, bool):
        return field
    if isinstance(field, str):
        return parse_flag(field)
    if isinstance(field, int) and field in (0, 1):
        return bool(field)
    raise InvalidIndicator(f"revoked must be true or false, got {json_kind(field)}")


def _rejected(line: int, reason: str, item: object) -> Rejected:
    """Why ``item`` is rejected, with its start echoed (too deep to echo says so instead)."""
    text, too_deep = json_excerpt(item)
    return Rejected(line, TOO_DEEP if too_deep else reason, text)
