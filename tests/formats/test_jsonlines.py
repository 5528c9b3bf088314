"""JSON Lines import: one object per line, bad lines rejected by number, read lazily."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.formats.jsonlines import read_jsonl
from iocfeed.indicators.model import RawIndicator, Rejected

TEXT = st.characters(blacklist_categories=("Cs",))  # JSON text cannot hold lone surrogates
TAG_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters=",;|")


def test_fields_are_passed_on_as_text(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"type": "sha256", "value": "AB12", "confidence": 85, "tags": ["emotet", " loader "],'
        ' "techniques": "T1105, T1059.001", "description": "dropper", "source": "sandbox",'
        ' "tlp": "green", "first_seen": "2025-01-01T00:00:00Z", "last_seen": null,'
        ' "valid_until": "2026-01-01", "revoked": true, "x_extra": 1}\n',
        encoding="utf-8",
    )
    with path.open(encoding="utf-8") as stream:
        (record,) = read_jsonl(stream)
    assert record == RawIndicator(
        line=1,
        value="AB12",
        type="sha256",
        confidence="85",
        tags=("emotet", "loader"),
        techniques=("T1105", "T1059.001"),
        description="dropper",
        source="sandbox",
        tlp="green",
        first_seen="2025-01-01T00:00:00Z",
        valid_until="2026-01-01",
        revoked=True,
    )


def test_bad_lines_are_rejected_with_their_line_number() -> None:
    text = "\n".join(
        [
            '{"value": "a.example"}',  # 1
            "",  # 2: blank, skipped
            '{"value": "b.example",',  # 3: broken JSON
            '["c.example"]',  # 4: not an object
            '{"type": "domain"}',  # 5: no value
            '{"value": "  "}',  # 6: blank value
            '{"value": 17}',  # 7: a number is passed on as text
            '{"value": "d.example", "tags": 3}',  # 8: tags of the wrong kind
            '{"value": "e.example", "revoked": "perhaps"}',  # 9
            '{"value": {"nested": 1}}',  # 10
            '   {"value": "f.example"}   ',  # 11
        ]
    )
    records = list(read_jsonl(io.StringIO(text)))
    summary = [
        (record.line, record.reason if isinstance(record, Rejected) else record.value)
        for record in records
    ]
    assert summary == [
        (1, "a.example"),
        (3, "not valid JSON: unexpected end of data at column 23"),
        (4, "expected a JSON object, got an array"),
        (5, "missing value"),
        (6, "missing value"),
        (7, "17"),
        (8, "tags must be a list of strings or a comma-separated string"),
        (9, "revoked must be true or false, got 'perhaps'"),
        (10, "value must be a string, got an object"),
        (11, "f.example"),
    ]
    broken = records[1]
    assert isinstance(broken, Rejected)
    assert broken.text == '{"value": "b.example",'


@given(
    st.text(TEXT, min_size=1).filter(str.strip),
    st.lists(st.text(TAG_TEXT, min_size=1).filter(str.strip)),
    st.one_of(st.integers(0, 100), st.sampled_from(["high", "medium", "low"])),
)
def test_any_object_written_as_json_is_read_back(
    value: str, tags: list[str], confidence: int | str
) -> None:
    line = orjson.dumps({"value": value, "tags": tags, "confidence": confidence}).decode()
    (record,) = read_jsonl([line])
    assert record == RawIndicator(
        line=1,
        value=value.strip(),
        tags=tuple(tag.strip() for tag in tags),
        confidence=str(confidence),
    )
