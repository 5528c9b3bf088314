"""Text rules every reader shares: field names, list cells, true/false flags, byte order marks."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from itertools import islice

import orjson

from iocfeed.errors import InvalidIndicator

# The RawIndicator fields an import file may carry, in the order a CSV header usually has them.
FIELDS: tuple[str, ...] = (
    "value",
    "type",
    "confidence",
    "tags",
    "techniques",
    "description",
    "source",
    "tlp",
    "first_seen",
    "last_seen",
    "valid_until",
    "revoked",
)

# Other names producers give the same columns (after lower-casing, spaces and hyphens → "_").
ALIASES: dict[str, str] = {
    "ioc": "value",
    "indicator": "value",
    "observable": "value",
    "ioc_type": "type",
    "indicator_type": "type",
    "tag": "tags",
    "labels": "tags",
    "technique": "techniques",
    "attack_techniques": "techniques",
    "expires": "valid_until",
    "expiry": "valid_until",
}

# Columns that say what an indicator belongs to (a malware family, a kind of threat). There
# is no field for them, so each non-empty cell becomes a tag, prefixed with what it names:
# ``malware,DROPSHOT`` → tag ``malware:dropshot``, ``threat_type,botnet_cc`` → ``threat:botnet_cc``.
TAG_COLUMNS: dict[str, str] = {
    "malware": "malware",
    "malware_family": "malware",
    "malware_name": "malware",
    "malware_printable": "malware",
    "family": "malware",
    "threat": "threat",
    "threat_type": "threat",
    "threat_name": "threat",
}

# Columns that title an indicator (STIX and MISP call it ``name`` or ``comment``): its
# description when the file has no description column of its own, as the STIX reader does.
TITLE_COLUMNS: frozenset[str] = frozenset({"name", "title", "comment"})

# Spellings of the revoked flag; anything else is an error rather than a guess.
FLAGS: dict[str, bool] = {
    "": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}

_LIST_SEPARATORS = re.compile(r"[;|,]")
_SEPARATOR_RUN = re.compile(r"[\s-]+")
_BOM = "\ufeff"


# Key names repeat on every line of a file: remember them (bounded, keys are few).
@functools.lru_cache(maxsize=1024)
def field_name(header: str) -> str | None:
    """``"First Seen"`` → ``"first_seen"``, ``"IOC"`` → ``"value"``; unknown names → ``None``."""
    name = column_key(header)
    name = ALIASES.get(name, name)
    return name if name in FIELDS else None


def column_key(header: str) -> str:
    """``"Malware Family"`` → ``"malware_family"``: a header as the tables above spell it."""
    return _SEPARATOR_RUN.sub("_", header.strip().lower())


def split_list(text: str) -> tuple[str, ...]:
    """``"emotet; loader|c2"`` → ``("emotet", "loader", "c2")``: any of ``; | ,`` separates."""
    return tuple(item for part in _LIST_SEPARATORS.split(text) if (item := part.strip()))


def parse_flag(text: str) -> bool:
    """The revoked flag as text (``true``/``false``/``1``/``0``/``yes``/``no``, blank = false)."""
    try:
        return FLAGS[text.strip().lower()]
    except KeyError:
        raise InvalidIndicator(f"revoked must be true or false, got {text.strip()!r}") from None


def without_bom(lines: Iterable[str]) -> Iterator[str]:
    """The lines, with a UTF-8 byte order mark (as Excel writes) dropped from the first."""
    iterator = iter(lines)
    for first in iterator:
        yield first.removeprefix(_BOM)
        break
    yield from iterator


def whole_text(source: Iterable[str]) -> str:
    """All of a stream (read at once) or of an iterable of lines, for formats parsed whole."""
    read = getattr(source, "read", None)
    text: str = read() if callable(read) else "".join(source)
    return text.removeprefix(_BOM)


# orjson reads JSON nested up to 1024 levels but writes at most 254: a parsed item deeper
# than that cannot be echoed as JSON, so readers reject it as too deeply nested.
MAX_NESTING = 254
TOO_DEEP = f"nested more than {MAX_NESTING} levels deep"


def json_excerpt(item: object) -> tuple[str, bool]:
    """The start of ``item`` as JSON for a report, and whether it was nested too deeply.

    An item too deep to write out is echoed with its inner levels cut to ``…``.
    """
    try:
        return excerpt(orjson.dumps(item, default=str).decode()), False
    except orjson.JSONEncodeError as exc:
        if "Recursion" not in str(exc):
            return excerpt(repr(_clipped(item, 8))), False
        return excerpt(orjson.dumps(_clipped(item, 8), default=str).decode()), True


def _clipped(item: object, depth: int) -> object:
    """``item`` with arrays and objects below ``depth`` levels (and past 20 entries) cut."""
    if isinstance(item, dict):
        if depth == 0:
            return "…"
        return {str(k): _clipped(v, depth - 1) for k, v in islice(item.items(), 20)}
    if isinstance(item, list):
        if depth == 0:
            return "…"
        return [_clipped(v, depth - 1) for v in islice(item, 20)]
    return item


def excerpt(text: str, limit: int = 200) -> str:
    """The start of a bad line, short enough for an import report."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
