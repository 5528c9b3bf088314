"""CSV import: a header naming the columns, then one indicator per row, read row by row.

The header is the first row that is neither blank nor a ``#`` comment. Column names are
matched case-insensitively (``First Seen`` = ``first_seen``; ``ioc``, ``indicator`` and
``observable`` mean ``value``); unknown columns are ignored. A header without a value column
is one ``Rejected`` and the end of the file. Line numbers are the 1-based physical line on
which a row starts (a quoted cell may span several lines).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from iocfeed.errors import InvalidIndicator
from iocfeed.formats.fields import excerpt, field_name, parse_flag, split_list, without_bom
from iocfeed.indicators.model import RawIndicator, Rejected

_VALUE_NAMES = "value, ioc, indicator or observable"


CsvRow = tuple[int, list[str], dict[str, int]]
"""One data row: the line it starts on, its cells, and the header's field → column index."""


def read_csv(lines: Iterable[str]) -> Iterator[RawIndicator | Rejected]:
    """Each data row of a CSV file as a raw indicator, or the reason it cannot be read."""
    return csv_records(csv_rows(lines))


def csv_rows(lines: Iterable[str]) -> Iterator[CsvRow | Rejected]:
    """The data rows of a CSV file, or why a row (or the header) cannot be read.

    This is the part of reading that must see the file in order: the header comes first
    and a quoted cell may span lines. ``csv_records`` then takes the rows one at a time.
    """
    reader = csv.reader(without_bom(lines))
    columns: dict[str, int] | None = None
    consumed = 0
    while True:
        line = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Rejected(line, f"unreadable CSV: {exc}")
            if reader.line_num == consumed:  # the reader cannot move on: give up on the file
                return
            consumed = reader.line_num
            continue
        consumed = reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns = _columns(row)
            if "value" not in columns:
                yield Rejected(
                    line, f"the header has no {_VALUE_NAMES} column", excerpt(",".join(row))
                )
                return
            continue
        yield line, row, columns


def csv_records(rows: Iterable[CsvRow | Rejected]) -> Iterator[RawIndicator | Rejected]:
    """Each data row as a raw indicator (rejections passed on as they come)."""
    for item in rows:
        yield item if isinstance(item, Rejected) else _record(*item)


def _columns(header: Sequence[str]) -> dict[str, int]:
    """Field name → column index; the first of two columns with the same meaning wins."""
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = field_name(title)
        if name is not None:
            columns.setdefault(name, index)
    return columns


def _record(line: int, row: Sequence[str], columns: dict[str, int]) -> RawIndicator | Rejected:
    def cell(name: str) -> str | None:
        index = columns.get(name)
        if index is None or index >= len(row):
            return None
        return row[index].strip() or None

    value = cell("value")
    if value is None:
        if columns["value"] >= len(row):
            reason = f"the row has {len(row)} cells and no value in column {columns['value'] + 1}"
        else:
            reason = "the value cell is empty"
        return Rejected(line, reason, excerpt(",".join(row)))
    try:
        revoked = parse_flag(cell("revoked") or "")
    except InvalidIndicator as exc:
        return Rejected(line, exc.message, excerpt(",".join(row)))
    return RawIndicator(
        line=line,
        value=value,
        type=cell("type"),
        confidence=cell("confidence"),
        tags=split_list(cell("tags") or ""),
        techniques=split_list(cell("techniques") or ""),
        description=cell("description"),
        source=cell("source"),
        tlp=cell("tlp"),
        first_seen=cell("first_seen"),
        last_seen=cell("last_seen"),
        valid_until=cell("valid_until"),
        revoked=revoked,
    )
