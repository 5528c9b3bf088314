"""Which import format a file is in, from its name and its first few kilobytes."""

from __future__ import annotations

import csv
import enum
import re
from pathlib import PurePath

import orjson

from iocfeed.formats.fields import field_name


class Format(enum.StrEnum):
    """The import formats of SPEC §5 (CLI ``import``)."""

    CSV = "csv"
    JSON = "json"
    JSONL = "jsonl"
    STIX = "stix"
    TEXT = "text"


# File name suffix → format. ``.json`` is looked at further: a STIX bundle is often saved so.
SUFFIXES: dict[str, Format] = {
    ".csv": Format.CSV,
    ".json": Format.JSON,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".stix": Format.STIX,
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
    ".adoc": Format.TEXT,
    ".asciidoc": Format.TEXT,
    ".md": Format.TEXT,
    ".markdown": Format.TEXT,
    ".rst": Format.TEXT,
    ".log": Format.TEXT,
    ".ioc": Format.TEXT,
}

# How much of the head the content checks look at.
SNIFF_CHARS = 8192

# What gives a STIX bundle away in its head: its type, or its id (keys written in sorted
# order put ``"id"`` first and ``"type"`` after the objects, possibly megabytes later).
_BUNDLE = re.compile(r'"type"\s*:\s*"bundle"|"id"\s*:\s*"bundle--')


def detect_format(filename: str | None, head: str) -> Format:
    """The format of a file named ``filename`` (if known) that starts with ``head``.

    A JSON object with ``"type": "bundle"`` or a ``bundle--`` id is STIX whatever its name
    (and the JSON reader reads a bundle it is handed as STIX); otherwise a known
    suffix decides; otherwise the content: ``[`` → JSON, one object per line → JSON Lines,
    another ``{`` → JSON (an object with ``indicators``), a comma-separated header with a
    value column → CSV, anything else → text.
    """
    text = head[:SNIFF_CHARS].lstrip("\ufeff \t\r\n")
    if text.startswith("{") and _BUNDLE.search(text):
        return Format.STIX
    if filename is not None:
        suffix = SUFFIXES.get(PurePath(filename).suffix.lower())
        if suffix is not None:
            return suffix
    if text.startswith("["):
        return Format.JSON
    first_line = text.split("\n", 1)[0].strip()
    if text.startswith("{"):
        return Format.JSONL if _is_indicator_object(first_line) else Format.JSON
    if "," in first_line and _names_value_column(first_line):
        return Format.CSV
    return Format.TEXT


def _is_indicator_object(line: str) -> bool:
    """Whether the line is a whole JSON object of its own, as in JSON Lines."""
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(item, dict) and "indicators" not in item


def _names_value_column(line: str) -> bool:
    header = next(csv.reader([line]), [])
    return any(field_name(title) == "value" for title in header)
