"""CSV: Splunk ES local threat-intelligence lookups with their documented headers
(table-driven), and a generic CSV that ``iocfeed import`` reads back."""

from __future__ import annotations

import csv
import io

import pytest

from iocfeed.errors import InvalidQuery
from iocfeed.formats.delimited import read_csv
from iocfeed.indicators.model import Confidence, IocType, RawIndicator
from iocfeed.outputs.csvfile import Lookup, check_types, render
from tests.outputs.conftest import listing
from tests.stix.factories import SAMPLE_VALUES, make_indicator

# Splunk ES "Supported threat intelligence types" (ES 5.x to 8.0): lookup → exact header,
# the type it holds and the column its value goes in.
SPLUNK = [
    (Lookup.IP, "description,ip,weight", IocType.IPV4, "ip"),
    (Lookup.IP, "description,ip,weight", IocType.IPV6, "ip"),
    (Lookup.DOMAIN, "description,domain,weight", IocType.DOMAIN, "domain"),
    (Lookup.FILE, "description,file_hash,file_name,weight", IocType.SHA256, "file_hash"),
    (Lookup.FILE, "description,file_hash,file_name,weight", IocType.MD5, "file_hash"),
    (Lookup.HTTP, "description,http_referrer,http_user_agent,url,weight", IocType.URL, "url"),
    (Lookup.EMAIL, "description,src_user,subject,weight", IocType.EMAIL, "src_user"),
]


@pytest.mark.parametrize(("lookup", "header", "kind", "column"), SPLUNK)
def test_splunk_lookups_have_their_documented_header(
    lookup: Lookup, header: str, kind: IocType, column: str
) -> None:
    row = make_indicator(
        kind,
        SAMPLE_VALUES[kind],
        description="C2\nserver, seen twice",
        confidence=Confidence.MEDIUM,
    )
    text = b"".join(render([row], listing(1), lookup)).decode()
    first, *_ = text.split("\r\n")
    assert first == header  # no spaces after commas, no quoting
    (record,) = list(csv.DictReader(io.StringIO(text)))
    assert record[column] == row.value
    assert record["description"] == "C2 server, seen twice"  # one line per row
    assert 1 <= int(record["weight"]) <= 100
    assert record["weight"] == "50"


@pytest.mark.parametrize(
    ("lookup", "types", "held"),
    [
        (Lookup.IP, set(), {IocType.IPV4, IocType.IPV6}),
        (Lookup.FILE, {IocType.MD5}, {IocType.MD5}),
        (Lookup.IP, {IocType.DOMAIN}, None),  # domains have a lookup of their own
        (Lookup.EMAIL, {IocType.URL}, None),
    ],
)
def test_each_lookup_holds_its_collection_only(
    lookup: Lookup, types: set[IocType], held: set[IocType] | None
) -> None:
    if held is None:
        with pytest.raises(InvalidQuery):
            check_types(frozenset(types), lookup)
    else:
        assert check_types(frozenset(types), lookup) == held


def test_generic_csv_reads_back_through_the_importer() -> None:
    rows = [
        make_indicator(kind, SAMPLE_VALUES[kind], description='said "hi", twice')
        for kind in IocType
    ]
    text = b"".join(render(rows, listing(len(rows)), Lookup.GENERIC)).decode()
    records = [r for r in read_csv(text.splitlines()) if isinstance(r, RawIndicator)]
    assert [(r.type, r.value) for r in records] == [(row.type.value, row.value) for row in rows]
    assert all(r.description == 'said "hi", twice' for r in records)
    assert records[0].tags == rows[0].tags
