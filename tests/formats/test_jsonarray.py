"""JSON array import: item numbers as line numbers, the shapes of document accepted."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.formats.jsonarray import read_json_array
from iocfeed.indicators.model import RawIndicator, Rejected


def read(text: str) -> list[RawIndicator | Rejected]:
    return list(read_json_array(io.StringIO(text)))


def test_items_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(
        '[\n  {"value": "a.example", "type": "domain", "tags": "x,y"},\n'
        '  {"type": "domain"},\n  "b.example",\n  {"value": "c.example", "confidence": 15}\n]\n',
        encoding="utf-8",
    )
    with path.open(encoding="utf-8") as stream:
        records = list(read_json_array(stream))
    assert records == [
        RawIndicator(line=1, value="a.example", type="domain", tags=("x", "y")),
        Rejected(2, "missing value", '{"type":"domain"}'),
        Rejected(3, "expected a JSON object, got a string", '"b.example"'),
        RawIndicator(line=4, value="c.example", confidence="15"),
    ]


def test_an_object_with_an_indicators_array_is_read() -> None:
    records = read('{"source": "partner", "indicators": [{"value": "198.51.100.9"}]}')
    assert records == [RawIndicator(line=1, value="198.51.100.9")]


def test_a_single_indicator_object_is_one_item() -> None:
    assert read('{"value": "2001:db8::1"}') == [RawIndicator(line=1, value="2001:db8::1")]


def test_documents_that_cannot_be_read_are_one_rejection() -> None:
    (broken,) = read('[\n{"value": "a.example"},\n{"value": }\n]')
    assert isinstance(broken, Rejected)
    assert broken.line == 3  # here the physical line of the syntax error
    assert broken.reason.startswith("not valid JSON")
    assert broken.whole_file
    assert read('{"other": 1}') == [
        Rejected(1, "expected an array of indicator objects or an object with indicators, "
                 "got an object", whole_file=True)
    ]  # fmt: skip


def test_a_stix_bundle_handed_to_the_json_reader_is_read_as_stix() -> None:
    indicator = {
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "pattern": "[domain-name:value = 'evil.example']",
        "pattern_type": "stix",
        "spec_version": "2.1",
        "type": "indicator",
    }
    bundle = {"id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [indicator]}
    (record,) = read(orjson.dumps({**bundle, "type": "bundle"}).decode())
    assert isinstance(record, RawIndicator)
    assert (record.value, record.type) == ("evil.example", "domain")


def test_an_empty_array_gives_nothing() -> None:
    assert read("[]") == []


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["value", "tags", "revoked", "type", "x"]), children)
    ),
    max_leaves=10,
)


@given(st.lists(JSON, max_size=6))
def test_any_json_array_gives_records_never_exceptions(items: list[object]) -> None:
    records = read(orjson.dumps(items).decode())
    assert len(records) == len(items)
    assert all(isinstance(record, RawIndicator | Rejected) for record in records)
