"""CSV import: header matching, row rules, physical line numbers and streaming."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from iocfeed.formats.delimited import read_csv
from iocfeed.indicators.model import Notice, RawIndicator, Rejected
from tests.conftest import SAMPLES


def read(text: str) -> list[RawIndicator | Rejected | Notice]:
    return list(read_csv(io.StringIO(text)))


def test_every_column_is_carried_as_the_sources_text() -> None:
    text = (
        "Value,Type,Confidence,Tags,Techniques,Description,Source,TLP,First Seen,last-seen,"
        "valid_until,revoked,ignored\n"
        'evil.example,domain,high,"emotet; c2|loader",T1071.001,C2 host,osint,amber,'
        "2025-01-01,2025-02-01,2026-01-01,false,x\n"
    )
    assert read(text) == [
        Notice(1, "columns ignored (no field for them): 'ignored'"),
        RawIndicator(
            line=2,
            value="evil.example",
            type="domain",
            confidence="high",
            tags=("emotet", "c2", "loader"),
            techniques=("T1071.001",),
            description="C2 host",
            source="osint",
            tlp="amber",
            first_seen="2025-01-01",
            last_seen="2025-02-01",
            valid_until="2026-01-01",
        ),
    ]


def test_ioc_indicator_and_observable_name_the_value_column() -> None:
    for name in ("IOC", "indicator", "Observable"):
        (record,) = read(f'{name},tags\n198.51.100.7,"a,b"\n')
        assert record == RawIndicator(line=2, value="198.51.100.7", tags=("a", "b"))


def test_blank_cells_are_none_and_revoked_spellings_are_read() -> None:
    records = read("value,type,revoked\na.example,,1\nb.example, ,TRUE\nc.example,domain,0\n")
    assert [(r.value, r.type, r.revoked) for r in records if isinstance(r, RawIndicator)] == [
        ("a.example", None, True),
        ("b.example", None, True),
        ("c.example", "domain", False),
    ]


def test_a_header_without_a_value_column_is_one_rejection_and_nothing_else() -> None:
    (rejected,) = read("type,tags\ndomain,x\nipv4,y\n")
    assert isinstance(rejected, Rejected)
    assert rejected.whole_file
    assert (rejected.line, rejected.text) == (1, "type,tags")
    assert rejected.reason.startswith(
        "the header has no value, ioc, indicator or observable column, so no row was read"
    )


def test_the_real_dearjoohn_csv_has_no_value_column_and_is_rejected_whole() -> None:
    with (SAMPLES / "unit42" / "dearjoohn_iocs.csv").open(encoding="utf-8") as stream:
        (rejected,) = read_csv(stream)
    assert isinstance(rejected, Rejected)
    assert rejected.whole_file
    assert "import it as text" in rejected.reason


def test_family_and_threat_columns_become_tags_and_a_name_the_description() -> None:
    records = read(
        "Indicator,Malware Family,threat_type,Name,Author,Comment\n"
        "evil.example,Emotet,botnet_cc,Epoch 4 C2,someone,seen twice\n"
        "good.example,,,,,\n"
    )
    assert records == [
        Notice(1, "columns ignored (no field for them): 'Author', 'Comment'"),
        RawIndicator(
            line=2,
            value="evil.example",
            tags=("malware:Emotet", "threat:botnet_cc"),
            description="Epoch 4 C2",
        ),
        RawIndicator(line=3, value="good.example"),
    ]


def test_a_name_column_is_ignored_when_there_is_a_description_column() -> None:
    (notice, record) = read("value,description,name\na.example,C2,Emotet\n")
    assert notice == Notice(1, "columns ignored (no field for them): 'name'")
    assert record == RawIndicator(line=2, value="a.example", description="C2")


def test_the_real_apt33_csv_keeps_its_malware_family_names() -> None:
    with (SAMPLES / "unit42" / "APT33.csv").open(encoding="utf-8") as stream:
        records = list(read_csv(stream))
    assert not any(isinstance(record, Notice) for record in records)  # every column is read
    raw = {r.value: r for r in records if isinstance(r, RawIndicator)}
    assert raw["fb21f3cea1aa051ba2a45e75d46b98b8"].description == "DROPSHOT"
    assert raw["0ccc9ec82f1d44c243329014b82d3125"].description == "DROPSHOT (drops SHAPESHIFT)"
    assert raw["boeing.servehttp[.]com"].description is None
    families = {r.description for r in raw.values() if r.description}
    assert {"NANOCORE", "NETWIRE", "SHAPESHIFT", "TURNEDUP"} <= families


def test_bad_rows_are_rejected_with_their_physical_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(
        "# exported by a test\n"  # 1: comment before the header
        "tags,type,value\n"  # 2
        "\n"  # 3: blank
        'x,domain,"multi\n'  # 4: a quoted value over two lines
        'line.example"\n'  # 5
        "y,domain\n"  # 6: the row stops before the value column
        "z,domain,\n"  # 7: empty value
        "w,domain,ok.example,extra\n"  # 8: extra cells are ignored
        "v,ipv4,198.51.100.1\n",  # 9
        encoding="utf-8",
    )
    with path.open(encoding="utf-8", newline="") as stream:
        records = list(read_csv(stream))
    assert [(record.line, type(record).__name__) for record in records] == [
        (4, "RawIndicator"),
        (6, "Rejected"),
        (7, "Rejected"),
        (8, "RawIndicator"),
        (9, "RawIndicator"),
    ]
    short, empty = records[1], records[2]
    assert isinstance(short, Rejected)
    assert short.reason == "the row has 2 cells and no value in column 3"
    assert short.text == "y,domain"
    assert isinstance(empty, Rejected)
    assert empty.reason == "the value cell is empty"


def test_a_bad_revoked_flag_rejects_the_row() -> None:
    (record,) = read("value,revoked\na.example,maybe\n")
    assert record == Rejected(2, "revoked must be true or false, got 'maybe'", "a.example,maybe")


def test_an_excel_byte_order_mark_does_not_hide_the_header() -> None:
    (record,) = read("\ufeffvalue\na.example\n")
    assert record == RawIndicator(line=2, value="a.example")


@given(
    st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs", "Cc", "Zs")), min_size=1, max_size=30
        ).filter(lambda value: value.strip() and not value.lstrip().startswith("#")),
        min_size=1,
        max_size=20,
    )
)
def test_any_value_written_by_csv_is_read_back(values: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["value"])
    writer.writerows([value] for value in values)
    buffer.seek(0)
    records = list(read_csv(buffer))
    assert [record.value for record in records if isinstance(record, RawIndicator)] == [
        value.strip() for value in values
    ]


def test_a_stream_is_read_row_by_row() -> None:
    rows = "".join(f"198.18.{n // 256}.{n % 256},ipv4\n" for n in range(200_000))
    stream = io.StringIO("value,type\n" + rows)
    records = read_csv(stream)
    assert next(records) == RawIndicator(line=2, value="198.18.0.0", type="ipv4")
    assert stream.tell() < 100
