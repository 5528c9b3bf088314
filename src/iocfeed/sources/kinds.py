"""Reading a downloaded feed of each kind into raw indicators (pure: lines in, records out).

Every reader yields ``RawIndicator``, ``Rejected`` or ``Notice`` like the import readers of
``iocfeed.formats`` (and reuses them: a text list is read by ``read_text``, a STIX bundle by
``read_stix``, a CSV with a header and no mapping by ``read_csv``), so a source's records
go through the same normalisation and rejection reasons as ``iocfeed import``.

abuse.ch exports are read by their header line, never by position (their columns changed
over the years): URLhaus and ThreatFox put the header in a ``#`` comment, Feodo Tracker in
a plain first row. A ThreatFox CSV without its header line is read with the 14-column (2024)
or 15-column (current) layout, the only two published.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain

import orjson

from iocfeed.errors import InvalidIndicator
from iocfeed.formats.delimited import read_csv
from iocfeed.formats.stixbundle import read_stix
from iocfeed.formats.text import read_text
from iocfeed.indicators.model import IocType, Notice, RawIndicator, Rejected
from iocfeed.indicators.normalize import resolve_type
from iocfeed.sources.model import SourceKind, SourceSettings

Record = RawIndicator | Rejected | Notice
KindReader = Callable[[Iterable[str], SourceSettings], Iterator[Record]]
LineReader = Callable[[Iterable[str], int], Iterator[Record]]
"""Reads any run of a feed's lines, numbered from its second argument (picklable)."""

# Lines that are comments in blocklists: shell/CSV '#', AdBlock '!', zone-file ';'.
_COMMENT_MARKS = ("#", "!", ";", "//")


def _strip(line: str) -> str:
    return line.rstrip("\r\n")


def read_text_list(lines: Iterable[str], _settings: SourceSettings) -> Iterator[Record]:
    """One value per line, defanged or not; comment lines skipped (line numbers kept)."""
    return _text_lines(lines, 1)


def read_stix_bundle(lines: Iterable[str], _settings: SourceSettings) -> Iterator[Record]:
    return read_stix(lines)


def _data_rows(
    lines: Iterable[str], delimiter: str = ",", first_line: int = 1
) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row that is not a ``#`` comment."""
    numbered = (
        (number, line)
        for number, line in enumerate(lines, first_line)
        if line.strip() and not line.lstrip().startswith("#")
    )
    for number, line in numbered:
        for cells in csv.reader([line], delimiter=delimiter, skipinitialspace=True):
            yield number, [cell.strip() for cell in cells]


def read_mapped_csv(lines: Iterable[str], settings: SourceSettings) -> Iterator[Record]:
    """A CSV read with the source's column mapping (numbers, or titles from a header row);
    without a mapping, by its own header like ``iocfeed import``."""
    columns = settings.columns
    if not columns:
        yield from read_csv(lines)
        return
    rows = _data_rows(lines)
    by_name = {k: v for k, v in columns.items() if isinstance(v, str)}
    index: dict[str, int] = {k: v - 1 for k, v in columns.items() if isinstance(v, int)}
    if by_name:
        header = next(rows, None)
        if header is None:
            return
        titles = [cell.lower() for cell in header[1]]
        for field_name, title in by_name.items():
            if title.lower() not in titles:
                yield Rejected(header[0], f"no column titled {title!r} in the header", "", True)
                return
            index[field_name] = titles.index(title.lower())
    for number, cells in rows:
        yield _mapped(number, cells, index)


def _mapped(number: int, cells: list[str], index: dict[str, int]) -> Record:
    def cell(name: str) -> str | None:
        position = index.get(name)
        if position is None or position >= len(cells):
            return None
        return cells[position] or None

    value = cell("value")
    if value is None:
        return Rejected(number, "no value in the value column", ",".join(cells)[:200])
    tags = cell("tags")
    return RawIndicator(
        line=number,
        value=value,
        type=cell("type"),
        confidence=cell("confidence"),
        tags=_split_tags(tags),
        description=cell("description"),
        first_seen=cell("first_seen"),
        last_seen=cell("last_seen"),
    )


def _split_tags(text: str | None) -> tuple[str, ...]:
    if not text or text == "None":
        return ()
    return tuple(tag.strip() for tag in text.split(",") if tag.strip())


def _utc(text: str | None) -> str | None:
    """abuse.ch times (``YYYY-MM-DD HH:MM:SS`` or a bare date, UTC) as ISO 8601."""
    if not text or text == "None":
        return None
    text = text.removesuffix(" UTC").strip()
    return text.replace(" ", "T") + "Z" if " " in text else text + "T00:00:00Z"


def _commented_header(
    lines: Iterable[str], required: str
) -> tuple[dict[str, int] | None, Iterator[str]]:
    """The column titles from the last ``#`` line naming ``required``, and every line."""
    iterator = iter(lines)
    header: dict[str, int] | None = None
    consumed: list[str] = []
    for line in iterator:
        consumed.append(line)
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        if required in stripped:
            body = stripped.lstrip("#").strip()
            cells = next(csv.reader([body], skipinitialspace=True))
            header = {cell.strip().lower(): i for i, cell in enumerate(cells)}
    return header, chain(consumed, iterator)


def read_urlhaus(lines: Iterable[str], settings: SourceSettings) -> Iterator[Record]:
    """URLhaus CSV dumps (commented header ``# id,dateadded,url,…``) or text dumps."""
    read, everything = _urlhaus_reader(lines)
    return read(everything, 1)


def _urlhaus_reader(lines: Iterable[str]) -> tuple[LineReader, Iterator[str]]:
    """The reader of this dump's lines (by its commented header), and every line."""
    header, everything = _commented_header(lines, "dateadded")
    if header is None:  # a text dump: one URL per line
        return _urlhaus_text, everything
    if "url" not in header:
        return _no_url_column, everything
    return partial(_urlhaus_rows, header), everything


def _urlhaus_text(lines: Iterable[str], first_line: int) -> Iterator[Record]:
    for number, line in enumerate(lines, first_line):
        text = line.strip()
        if text and not text.startswith("#"):
            yield RawIndicator(line=number, value=text, type="url")


def _no_url_column(_lines: Iterable[str], first_line: int) -> Iterator[Record]:
    if first_line == 1:
        yield Rejected(1, "the URLhaus header names no url column", "", True)


def _urlhaus_rows(
    header: dict[str, int], lines: Iterable[str], first_line: int
) -> Iterator[Record]:
    for number, cells in _data_rows(lines, first_line=first_line):
        get = _getter(header, cells)
        url = get("url")
        if url is None:
            yield Rejected(number, "no url in the row", ",".join(cells)[:200])
            continue
        yield RawIndicator(
            line=number,
            value=url,
            type="url",
            tags=_split_tags(get("tags")),
            first_seen=_utc(get("dateadded")),
            last_seen=_utc(get("last_online")),
        )


def _getter(header: dict[str, int], cells: list[str]) -> Callable[[str], str | None]:
    def get(name: str) -> str | None:
        position = header.get(name)
        if position is None or position >= len(cells):
            return None
        return cells[position] or None

    return get


def read_feodo(lines: Iterable[str], settings: SourceSettings) -> Iterator[Record]:
    """Feodo Tracker IP blocklist: CSV (plain header row naming ``dst_ip``) or text."""
    rows = _data_rows(lines)
    first = next(rows, None)
    if first is None:
        return
    number, cells = first
    if "dst_ip" not in [cell.lower() for cell in cells]:
        for number, cells in chain([first], rows):
            yield RawIndicator(line=number, value=cells[0] if cells else "", type="ipv4")
        return
    header = {cell.lower(): i for i, cell in enumerate(cells)}
    for number, cells in rows:
        get = _getter(header, cells)
        ip = get("dst_ip")
        if ip is None:
            yield Rejected(number, "no dst_ip in the row", ",".join(cells)[:200])
            continue
        malware = get("malware")
        yield RawIndicator(
            line=number,
            value=ip,
            type="ipv4",
            tags=(f"malware:{malware}",) if malware else (),
            first_seen=_utc(get("first_seen_utc")),
            last_seen=_utc(get("last_online")),
        )


_THREATFOX_2024 = [
    "first_seen_utc",
    "ioc_id",
    "ioc_value",
    "ioc_type",
    "threat_type",
    "fk_malware",
    "malware_alias",
    "malware_printable",
    "last_seen_utc",
    "confidence_level",
    "reference",
    "tags",
    "anonymous",
    "reporter",
]
_THREATFOX_CURRENT = [
    "first_seen_utc",
    "ioc_id",
    "ioc_value",
    "ioc_type",
    "threat_type",
    "fk_malware",
    "malware_alias",
    "malware_printable",
    "last_seen_utc",
    "confidence_level",
    "is_compromised",
    "reference",
    "tags",
    "anonymous",
    "reporter",
]
_THREATFOX_TYPES = {
    "ip:port": None,  # ipv4 or ipv6, from the value
    "domain": "domain",
    "url": "url",
    "md5_hash": "md5",
    "sha1_hash": "sha1",
    "sha256_hash": "sha256",
}


def read_threatfox(lines: Iterable[str], settings: SourceSettings) -> Iterator[Record]:
    """ThreatFox CSV export (commented header, ``", "`` separators) or its JSON export."""
    iterator = iter(lines)
    head = list[str]()
    for line in iterator:
        head.append(line)
        if line.strip():
            break
    if head and head[-1].lstrip().startswith("{"):
        yield from _threatfox_json("".join(chain(head, iterator)))
        return
    header, everything = _commented_header(chain(head, iterator), "ioc_value")
    for number, cells in _data_rows(everything):
        columns = header
        if columns is None:
            layout = {14: _THREATFOX_2024, 15: _THREATFOX_CURRENT}.get(len(cells))
            if layout is None:
                yield Rejected(
                    number, f"a ThreatFox row of {len(cells)} columns, without a header", ""
                )
                continue
            columns = {name: i for i, name in enumerate(layout)}
        get = _getter(columns, cells)
        yield _threatfox_record(number, get)


def _threatfox_record(number: int, get: Callable[[str], str | None]) -> Record:
    value = get("ioc_value") or get("ioc")
    ioc_type = (get("ioc_type") or "").lower()
    if value is None:
        return Rejected(number, "no ioc_value in the row", "")
    if ioc_type not in _THREATFOX_TYPES:
        return Rejected(number, f"ThreatFox type {ioc_type[:32]!r} is not an IOC type here", value)
    if ioc_type == "ip:port":
        value = value.rsplit(":", 1)[0].strip("[]")
    tags = list(_split_tags(get("tags")))
    malware = get("fk_malware") or get("malware")
    if malware and malware != "None":
        tags.append(f"malware:{malware}")
    return RawIndicator(
        line=number,
        value=value,
        type=_THREATFOX_TYPES[ioc_type],
        confidence=get("confidence_level"),
        tags=tuple(tags),
        first_seen=_utc(get("first_seen_utc") or get("first_seen")),
        last_seen=_utc(get("last_seen_utc") or get("last_seen")),
    )


def _threatfox_json(text: str) -> Iterator[Record]:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        yield Rejected(1, f"not JSON: {error}", "", True)
        return
    if not isinstance(document, dict):
        yield Rejected(1, "a ThreatFox JSON export is an object keyed by IOC id", "", True)
        return
    for number, entries in enumerate(document.values(), 1):
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, dict):
                yield Rejected(number, "not a ThreatFox IOC object", "")
                continue

            def get(name: str, entry: dict[str, object] = entry) -> str | None:
                found = entry.get(name)
                if found is None or found == "":
                    return None
                if isinstance(found, list):
                    return ",".join(str(item) for item in found)
                return str(found)

            yield _threatfox_record(number, get)


READERS: dict[SourceKind, KindReader] = {
    SourceKind.TEXT: read_text_list,
    SourceKind.CSV: read_mapped_csv,
    SourceKind.STIX: read_stix_bundle,
    SourceKind.URLHAUS: read_urlhaus,
    SourceKind.FEODO: read_feodo,
    SourceKind.THREATFOX: read_threatfox,
}
"""The kinds read from one downloaded document (MISP and TAXII fetch several)."""


def line_reader(
    kind: SourceKind, lines: Iterable[str], settings: SourceSettings
) -> tuple[LineReader, Iterator[str]] | None:
    """For a feed whose lines can be read in pieces (one record per line once its head is
    known): the reader of any run of its lines, and every line. None for the other kinds.

    Large feeds of these kinds are read and validated by worker processes, like ``iocfeed
    import`` reads large files (``iocfeed.ingest.ingest_lines``)."""
    read: LineReader
    if kind is SourceKind.URLHAUS:
        read, everything = _urlhaus_reader(lines)
    elif kind is SourceKind.TEXT:
        read, everything = _text_lines, iter(lines)
    else:
        return None
    if settings.types:
        read = partial(_typed, read, settings.types)
    return read, everything


def _text_lines(lines: Iterable[str], first_line: int) -> Iterator[Record]:
    return read_text(
        ("\n" if _strip(line).lstrip().startswith(_COMMENT_MARKS) else line for line in lines),
        first_line,
    )


def _typed(
    read: LineReader, wanted: frozenset[IocType], lines: Iterable[str], first_line: int
) -> Iterator[Record]:
    return of_types(read(lines, first_line), wanted)


def of_types(records: Iterable[Record], wanted: frozenset[IocType]) -> Iterator[Record]:
    """Only records of the wanted types (and every rejection, reported as usual)."""
    for record in records:
        if (
            isinstance(record, RawIndicator)
            and (found := _type_of(record)) is not None
            and found not in wanted
        ):
            continue
        yield record


def _type_of(record: RawIndicator) -> IocType | None:
    """The record's type; None for a value validation rejects (with its reason) anyway."""
    try:
        return resolve_type(record.type, record.value)
    except InvalidIndicator:
        return None
