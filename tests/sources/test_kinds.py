"""Each kind's reader on real (or documented-layout) feed files, through import's validation."""

from __future__ import annotations

from pathlib import Path

from iocfeed.indicators.model import IndicatorInput, IocType, RawIndicator, Rejected
from iocfeed.indicators.normalize import RecordDefaults
from iocfeed.ingest import validate
from iocfeed.sources.kinds import READERS
from iocfeed.sources.model import SourceKind, SourceSettings
from tests.sources.conftest import FEEDS


def read(kind: SourceKind, path: Path, settings: SourceSettings | None = None) -> list[object]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(READERS[kind](stream, settings or SourceSettings()))


def valid(records: list[object]) -> list[IndicatorInput]:
    return [
        item
        for item in validate(
            [r for r in records if isinstance(r, RawIndicator | Rejected)], RecordDefaults()
        )
        if isinstance(item, IndicatorInput)
    ]


def test_urlhaus_csv_dump_maps_columns_from_the_commented_header() -> None:
    records = read(SourceKind.URLHAUS, FEEDS / "urlhaus" / "csv_recent.sample.csv")
    inputs = valid(records)
    assert len(records) == len(inputs) == 40
    first = inputs[0]
    assert (first.type, first.value) == (IocType.URL, "http://27.215.214.134:60116/i")
    assert first.tags == ("32-bit", "elf", "mips", "mozi")
    assert first.first_seen is not None
    assert first.first_seen.isoformat() == "2026-03-09T11:10:16+00:00"
    # An empty last_online and a literal None for tags are absent, not values.
    offline = next(i for i in inputs if i.value == "http://27.215.214.134:60116/bin.sh")
    assert offline.last_seen is None


def test_urlhaus_text_dump_is_one_url_per_line() -> None:
    lines = [
        "# URLhaus text dump\r\n",
        "http://a.example.org/x.sh\r\n",
        "\r\n",
        "http://b.example.org/y\r\n",
    ]
    records = list(READERS[SourceKind.URLHAUS](lines, SourceSettings()))
    assert [r.value for r in records if isinstance(r, RawIndicator)] == [
        "http://a.example.org/x.sh",
        "http://b.example.org/y",
    ]
    assert [r.line for r in records if isinstance(r, RawIndicator)] == [2, 4]


def test_threatfox_2024_dump_without_header_line_reads_by_its_known_layout() -> None:
    (record,) = read(SourceKind.THREATFOX, FEEDS / "threatfox" / "full-2024.excerpt.csv")
    assert isinstance(record, RawIndicator)
    (indicator,) = valid([record])
    assert (indicator.type, indicator.value) == (IocType.IPV4, "8.223.20.63")
    assert indicator.confidence.value == "high"
    assert "malware:win.cobalt_strike" in indicator.tags


def test_threatfox_csv_with_commented_header_types_and_rejections() -> None:
    records = read(SourceKind.THREATFOX, FEEDS / "written" / "threatfox-recent.csv")
    inputs = valid(records)
    assert [(i.type, i.value) for i in inputs] == [
        (IocType.IPV4, "8.223.20.63"),
        (IocType.IPV6, "2a01:4f8:c17:1::7"),
        (IocType.DOMAIN, "update-check.example-malware.top"),
        (IocType.URL, "http://update-check.example-malware.top/gate.php"),
        (IocType.MD5, "44d88612fea8a8f36de82e1278abb02f"),
    ]
    (rejected,) = [r for r in records if isinstance(r, Rejected)]
    assert "sha3_384_hash" in rejected.reason


def test_threatfox_json_export() -> None:
    records = read(SourceKind.THREATFOX, FEEDS / "written" / "threatfox-recent.json")
    assert [(i.type, i.value) for i in valid(records)] == [
        (IocType.IPV4, "8.223.20.63"),
        (IocType.DOMAIN, "update-check.example-malware.top"),
    ]


def test_feodo_csv_blocklist() -> None:
    inputs = valid(read(SourceKind.FEODO, FEEDS / "written" / "feodo-ipblocklist.csv"))
    assert [i.value for i in inputs] == ["51.178.161.32", "45.147.228.49", "193.56.146.214"]
    assert inputs[0].tags == ("malware:dridex",)
    assert all(i.type is IocType.IPV4 for i in inputs)


def test_feodo_text_blocklist() -> None:
    lines = ["# Feodo Tracker\n", "51.178.161.32\n", "45.147.228.49\n"]
    inputs = valid(list(READERS[SourceKind.FEODO](lines, SourceSettings())))
    assert [i.value for i in inputs] == ["51.178.161.32", "45.147.228.49"]


def test_text_list_skips_comments_and_refangs() -> None:
    records = read(SourceKind.TEXT, FEEDS / "blocklists" / "urlhaus-filter-domains-online.head.txt")
    inputs = valid(records)
    # The banner's "Source: https://urlhaus.abuse.ch/api/" is a comment, not an indicator.
    assert all("abuse.ch" not in i.value for i in inputs)
    assert len(inputs) == 30
    defanged = valid(list(READERS[SourceKind.TEXT](["evil[.]example[.]com\n"], SourceSettings())))
    assert [i.value for i in defanged] == ["evil.example.com"]


def test_csv_with_a_mapping_by_title() -> None:
    settings = SourceSettings(
        columns={"value": "indicator", "type": "kind", "first_seen": "when", "description": "note"}
    )
    inputs = valid(read(SourceKind.CSV, FEEDS / "written" / "partner.csv", settings))
    assert [(i.type, i.value) for i in inputs] == [
        (IocType.DOMAIN, "evil-partner.example.net"),
        (IocType.IPV4, "198.51.100.77"),
        (IocType.URL, "http://evil-partner.example.net/login"),
    ]
    assert inputs[0].description == "phishing kit host"


def test_csv_with_a_mapping_by_number_skips_comment_rows() -> None:
    lines = ["# comment\n", "1,bad.example.org,x\n", "#2,skipped.example.org,y\n", "3,,z\n"]
    records = list(READERS[SourceKind.CSV](lines, SourceSettings(columns={"value": 2})))
    assert [r.value for r in records if isinstance(r, RawIndicator)] == ["bad.example.org"]
    (missing,) = [r for r in records if isinstance(r, Rejected)]
    assert (missing.line, missing.reason) == (4, "no value in the value column")


def test_csv_mapping_naming_a_missing_column_rejects_the_file() -> None:
    records = list(
        READERS[SourceKind.CSV](["a,b\n", "1,2\n"], SourceSettings(columns={"value": "ioc"}))
    )
    assert len(records) == 1
    assert isinstance(records[0], Rejected)
    assert records[0].whole_file
