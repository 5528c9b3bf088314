"""Format detection from a file name and the first kilobytes of its content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.formats.detect import SNIFF_CHARS, Format, detect_format
from tests.conftest import SAMPLES


@pytest.mark.parametrize(
    ("filename", "head", "expected"),
    [
        ("feed.csv", "anything", Format.CSV),
        ("FEED.CSV", "", Format.CSV),
        ("feed.jsonl", '{"value": "a"}', Format.JSONL),
        ("feed.ndjson", "", Format.JSONL),
        ("feed.json", '[{"value": "a"}]', Format.JSON),
        ("feed.json", '{"type": "bundle", "id": "bundle--1", "objects": []}', Format.STIX),
        ("bundle.txt", '\ufeff  {\n  "objects": [],\n  "type" : "bundle"\n}', Format.STIX),
        ("feed.json", '{\n  "id": "bundle--1",\n  "objects": [' + " " * SNIFF_CHARS, Format.STIX),
        (None, '{"id": "bundle--1", "objects": [' + " " * SNIFF_CHARS, Format.STIX),
        ("report.adoc", "= Report\n", Format.TEXT),
        ("report.md", "value,type\n", Format.TEXT),
        ("notes.txt", "[options]", Format.TEXT),
        (None, '[{"value": "a"}]', Format.JSON),
        (None, '{"value": "a"}\n{"value": "b"}\n', Format.JSONL),
        (None, '{"indicators": [{"value": "a"}]}', Format.JSON),
        (None, '{\n  "indicators": []\n}', Format.JSON),
        (None, "Value,Type,Tags\na.example,domain,x\n", Format.CSV),
        (None, '"ioc","first seen"\n', Format.CSV),
        (None, "type,tags\ndomain,x\n", Format.TEXT),
        (None, "evil[.]example, seen twice\n", Format.TEXT),
        ("upload.bin", "198.51.100.7\n", Format.TEXT),
        ("upload", "", Format.TEXT),
    ],
)
def test_detection(filename: str | None, head: str, expected: Format) -> None:
    assert detect_format(filename, head) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unit42/GandCrab.json", Format.STIX),
        ("unit42/2024-03-14-AsyncRAT-and-XWorm.json", Format.STIX),
        ("eset/gamaredon.adoc", Format.TEXT),
    ],
)
def test_the_real_samples_are_recognised_by_name_and_by_content(
    name: str, expected: Format
) -> None:
    head = (SAMPLES / name).read_text(encoding="utf-8")[:SNIFF_CHARS]
    assert detect_format(name, head) is expected
    assert detect_format(None, head) is expected


@given(st.text(st.characters(blacklist_characters="{[,"), max_size=200))
def test_text_without_json_or_commas_is_text_whatever_its_name(head: str) -> None:
    assert detect_format(None, head) is Format.TEXT
    assert detect_format("upload.dat", head) is Format.TEXT
