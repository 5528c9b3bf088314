"""CSV import: a header naming the columns, then one indicator per row, read row by row.

The header is the first row that is neither blank nor a ``#`` comment. Column names are
matched case-insensitively (``First Seen`` = ``first_seen``; ``ioc``, ``indicator`` and
``observable`` mean ``value``). Columns that name a malware family or a threat (``malware``,
``family``, ``threat_type``, …) become tags such as ``malware:dropshot``; a ``name``,
``title`` or ``comment`` column is the description when there is no description column
(``iocfeed.formats.fields``). Any other column is ignored, and said so once, in a
``Notice`` after the header. A header without a value column is one ``Rejected`` for the
whole file. Line numbers are the 1-based physical line on which a row starts (a quoted
cell may span several lines).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from iocfeed.errors import InvalidIndicator
from iocfeed.formats.fields import (
    TAG_COLUMNS,
    TITLE_COLUMNS,
    column_key,
    excerpt,
    field_name,
    parse_flag,
    split_list,
    without_bom,
)
from iocfeed.indicators.model import Notice, RawIndicator, Rejected

_VALUE_NAMES = "value, ioc, indicator or observable"


@dataclass(frozen=True, slots=True)
class Header:
    """What the header says: field → column index, and the columns kept as tags."""

    columns: dict[str, int]
    tag_columns: tuple[tuple[int, str], ...] = ()
    """(column index, tag prefix) for each column that names a malware family or threat."""
    ignored: tuple[str, ...] = ()
    """The titles of the columns nothing is read from."""


CsvRow = tuple[int, list[str], Header]
"""One data row: the line it starts on, its cells, and the file's header."""


def read_csv(lines: Iterable[str]) -> Iterator[RawIndicator | Rejected | Notice]:
    """Each data row of a CSV file as a raw indicator, or the reason it cannot be read."""
    return csv_records(csv_rows(lines))


def csv_rows(lines: Iterable[str]) -> Iterator[CsvRow | Rejected | Notice]:
    """The data rows of a CSV file, or why a row (or the header) cannot be read.

    This is the part of reading that must see the file in order: the header comes first
    and a quoted cell may span lines. ``csv_records`` then takes the rows one at a time.
    """
    reader = csv.reader(without_bom(lines))
    header: Header | None = None
    consumed = 0
    while True:
        line = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            stuck = reader.line_num == consumed  # the reader cannot move on: give up on the file
            yield Rejected(line, f"unreadable CSV: {exc}", whole_file=stuck)
            if stuck:
                return
            consumed = reader.line_num
            continue
        consumed = reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = read_header(row)
            if "value" not in header.columns:
                yield Rejected(
                    line,
                    f"the header has no {_VALUE_NAMES} column, so no row was read "
                    "(import it as text to find the indicators anywhere in its cells)",
                    excerpt(",".join(row)),
                    whole_file=True,
                )
                return
            if header.ignored:
                titles = ", ".join(repr(title) for title in header.ignored)
                yield Notice(line, f"columns ignored (no field for them): {titles}")
            continue
        yield line, row, header


def csv_records(
    rows: Iterable[CsvRow | Rejected | Notice],
) -> Iterator[RawIndicator | Rejected | Notice]:
    """Each data row as a raw indicator (rejections and notices passed on as they come)."""
    for item in rows:
        yield item if isinstance(item, Rejected | Notice) else _record(*item)


def read_header(titles: Sequence[str]) -> Header:
    """What each column is for; the first of two columns with the same meaning wins."""
    columns: dict[str, int] = {}
    tag_columns: list[tuple[int, str]] = []
    unread: list[tuple[int, str]] = []
    for index, title in enumerate(titles):
        name = field_name(title)
        prefix = TAG_COLUMNS.get(column_key(title))
        if name is not None and name not in columns:
            columns[name] = index
        elif prefix is not None:
            tag_columns.append((index, prefix))
        else:
            unread.append((index, title))
    ignored: list[str] = []
    for index, title in unread:
        if column_key(title) in TITLE_COLUMNS and "description" not in columns:
            columns["description"] = index
        elif title.strip():
            ignored.append(title.strip())
    return Header(columns, tuple(tag_columns), tuple(ignored))


def _record(line: int, row: Sequence[str], header: Header) -> RawIndicator | Rejected:
    columns = header.columns

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
        tags=(*split_list(cell("tags") or ""), *_tags(row, header)),
        techniques=split_list(cell("techniques") or ""),
        description=cell("description"),
        source=cell("source"),
        tlp=cell("tlp"),
        first_seen=cell("first_seen"),
        last_seen=cell("last_seen"),
        valid_until=cell("valid_until"),
        revoked=revoked,
    )


def _tags(row: Sequence[str], header: Header) -> Iterator[str]:
    """``malware:dropshot`` for a ``malware`` cell saying DROPSHOT (case is normalised later)."""
    for index, prefix in header.tag_columns:
        if index < len(row) and (text := row[index].strip()):
            yield f"{prefix}:{text}"
