"""The one entry point: each format reaches its reader."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from iocfeed.formats.detect import Format
from iocfeed.formats.reader import READERS, read_records
from iocfeed.indicators.model import RawIndicator

DOCUMENTS: dict[Format, str] = {
    Format.CSV: "value,type\nevil.example,domain\n",
    Format.JSON: '[{"value": "evil.example", "type": "domain"}]',
    Format.JSONL: '{"value": "evil.example", "type": "domain"}\n',
    Format.STIX: '{"type": "bundle", "objects": [{"type": "indicator", '
    '"pattern": "[domain-name:value = \'evil.example\']", "valid_from": "2026-01-01T00:00:00Z"}]}',
    Format.TEXT: "The loader called evil[.]example home.\n",
}


def test_every_format_has_a_reader() -> None:
    assert set(READERS) == set(Format)


@pytest.mark.parametrize("fmt", list(Format))
def test_each_format_is_read_by_its_reader(fmt: Format) -> None:
    records = list(read_records(io.StringIO(DOCUMENTS[fmt]), fmt))
    assert [(r.type, r.value) for r in records if isinstance(r, RawIndicator)] == [
        ("domain", "evil.example")
    ]


def test_the_wrong_format_gives_rejections_not_exceptions() -> None:
    (record,) = read_records(io.StringIO(DOCUMENTS[Format.CSV]), Format.JSON)
    assert not isinstance(record, RawIndicator)


LAZY_INPUTS = {
    Format.CSV: (
        "value,type\n",
        "host{n}.example,domain\n",
        RawIndicator(2, "host0.example", "domain"),
    ),
    Format.JSONL: ("", '{{"value": "host{n}.example"}}\n', RawIndicator(1, "host0.example")),
    Format.TEXT: (
        "",
        "beacon to host{n}[.]example seen\n",
        RawIndicator(1, "host0.example", "domain"),
    ),
}


@pytest.mark.parametrize("fmt", sorted(LAZY_INPUTS))
def test_line_formats_read_as_records_are_asked_for(fmt: Format) -> None:
    """A million-line file imports in bounded memory: readers never run ahead."""
    header, template, first = LAZY_INPUTS[fmt]
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        if header:
            yield header
        for n in range(200_000):
            consumed += 1
            yield template.format(n=n)

    records = READERS[fmt](lines())
    assert next(records) == first
    assert consumed < 10
