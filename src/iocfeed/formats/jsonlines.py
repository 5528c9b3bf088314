"""JSON Lines import: one indicator object per line, read line by line.

Blank lines are skipped; a line that is not JSON, not an object or has no ``value`` is a
``Rejected`` with its 1-based physical line number. Field rules: ``iocfeed.formats.jsonrecord``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from iocfeed.formats.fields import excerpt, without_bom
from iocfeed.formats.jsonrecord import record_from_json
from iocfeed.indicators.model import RawIndicator, Rejected


def read_jsonl(lines: Iterable[str], first_line: int = 1) -> Iterator[RawIndicator | Rejected]:
    """Each non-blank line of a JSON Lines file as a raw indicator, or why it is not one.

    ``first_line`` > 1 reads a later part of a file: numbering starts there, and only a
    file's first line can carry a byte order mark.
    """
    source = without_bom(lines) if first_line == 1 else lines
    for line, text in enumerate(source, start=first_line):
        content = text.strip()
        if not content:
            continue
        try:
            item = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            yield Rejected(line, f"not valid JSON: {exc.msg} at column {exc.colno}", excerpt(text))
            continue
        yield record_from_json(line, item)
