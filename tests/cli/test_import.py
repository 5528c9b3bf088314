"""``iocfeed import``: every format, bad lines reported with numbers, idempotent reruns."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import Result

from iocfeed.store.engine import open_engine
from iocfeed.store.schema import indicator_versions
from tests.conftest import SAMPLES

Iocfeed = Callable[..., Result]


def stored(database_url: str) -> dict[str, str]:
    engine = open_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(indicator_versions.c.value, indicator_versions.c.type).where(
                indicator_versions.c.superseded_at.is_(None)
            )
        )
        found: dict[str, str] = dict(rows.all())  # type: ignore[arg-type]
    engine.dispose()
    return found


def version_count(database_url: str) -> int:
    engine = open_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(indicator_versions)).scalar()
    engine.dispose()
    return int(count or 0)


JSONL = "\n".join(
    [
        '{"type": "domain", "value": "evil[.]example", "confidence": "high", "tags": ["Emotet"],'
        ' "techniques": ["T1071.001"], "description": "C2", "source": "honeypot", "tlp": "amber",'
        ' "first_seen": "2026-05-01T00:00:00Z", "last_seen": "2026-05-02T00:00:00Z",'
        ' "valid_until": "2099-08-01T00:00:00Z"}',
        '{"type": "sha256", "value": "' + "a" * 63 + '"}',
        "not json at all",
        '{"value": "hxxp://bad[.]example/x.php"}',
        "",
        '{"type": "ipv4", "value": "198.51.100.300"}',
        '{"value": "CVE-2021-44228"}',
    ]
)


def test_jsonl_import_stores_good_lines_and_reports_bad_ones(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "feed.jsonl"
    source.write_text(JSONL)
    errors = tmp_path / "errors.jsonl"
    result = iocfeed("import", str(source), "--errors", str(errors))
    assert result.exit_code == 0, result.output
    assert stored(database_url) == {
        "evil.example": "domain",
        "http://bad.example/x.php": "url",
        "CVE-2021-44228": "cve",
    }
    report = [orjson.loads(line) for line in errors.read_text().splitlines()]
    assert [(r["line"], r["file"]) for r in report] == [
        (2, str(source)),
        (3, str(source)),
        (6, str(source)),
    ]
    assert "sha256 must be 64 hex characters, got 63" in report[0]["reason"]
    assert "not valid JSON" in report[1]["reason"]
    assert "198.51.100.300" in report[2]["reason"]
    assert "line 2:" in result.output
    assert "3" in result.output  # added count in the summary table


def test_same_import_twice_changes_nothing(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "feed.jsonl"
    source.write_text(JSONL)
    iocfeed("import", str(source))
    before = version_count(database_url)
    second = iocfeed("import", str(source))
    assert second.exit_code == 0
    assert version_count(database_url) == before
    assert "unchanged" in second.output


def test_csv_with_defaults_from_options(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "feed.csv"
    source.write_text(
        "IOC,Type,Tags\n"
        "198.51.100.7,ipv4,c2;emotet\n"
        "hxxps://login[.]example/reset,,phishing\n"
        ",domain,\n"
    )
    result = iocfeed(
        "import", str(source), "--tag", "campaign-x", "--source", "partner", "--confidence", "low"
    )
    assert result.exit_code == 0, result.output
    assert stored(database_url) == {
        "198.51.100.7": "ipv4",
        "https://login.example/reset": "url",
    }
    assert "line 4:" in result.output


def test_defanged_text_report(iocfeed: Iocfeed, database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    source.write_text(
        "The actor used nododru[.]example and 203.0.113[.]5 for C2.\n"
        "Dropper hash: " + "b" * 64 + "\n"
        "No indicators on this line.\n"
    )
    assert iocfeed("import", str(source)).exit_code == 0
    assert stored(database_url) == {
        "nododru.example": "domain",
        "203.0.113.5": "ipv4",
        "b" * 64: "sha256",
    }


def test_stdin_with_explicit_format(iocfeed: Iocfeed, database_url: str) -> None:
    result = iocfeed("import", "-", "--format", "text", input="evil[.]example\n")
    assert result.exit_code == 0, result.output
    assert stored(database_url) == {"evil.example": "domain"}


@pytest.mark.parametrize(
    ("sample", "expected_min"),
    [
        ("unit42/2024-03-14-AsyncRAT-and-XWorm.json", 28),
        ("unit42/GandCrab.json", 64),
        ("unit42/2024-10-17-cybersquatting-domains-from-new-TLDs.json", 39),
        ("eset/gamaredon.adoc", 700),
    ],
)
def test_real_published_samples_import(
    iocfeed: Iocfeed, database_url: str, sample: str, expected_min: int
) -> None:
    result = iocfeed("import", str(SAMPLES / sample))
    assert result.exit_code == 0, result.output
    assert len(stored(database_url)) >= expected_min


def test_bad_option_values_are_clear_errors(iocfeed: Iocfeed, tmp_path: Path) -> None:
    source = tmp_path / "feed.txt"
    source.write_text("evil[.]example\n")
    result = iocfeed("import", str(source), "--confidence", "sure")
    assert result.exit_code == 2
    assert "confidence" in result.output.lower()
    missing = iocfeed("import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert "cannot open" in missing.output


def _sorted_keys_bundle(count: int) -> bytes:
    """A STIX bundle as ``json.dumps(sort_keys=True)`` writes it: ``"type"`` comes last."""
    indicators = [
        {
            "created": "2026-01-01T00:00:00.000Z",
            "id": f"indicator--{uuid.UUID(int=number, version=4)}",
            "modified": "2026-01-01T00:00:00.000Z",
            "pattern": f"[domain-name:value = 'host{number}.evil.example']",
            "pattern_type": "stix",
            "spec_version": "2.1",
            "type": "indicator",
            "valid_from": "2026-01-01T00:00:00Z",
        }
        for number in range(count)
    ]
    bundle = {"id": f"bundle--{uuid.UUID(int=0, version=4)}", "objects": indicators}
    return orjson.dumps({**bundle, "type": "bundle"}, option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize("name", ["bundle.json", "bundle.stix", "bundle"])
def test_a_large_bundle_with_sorted_keys_imports_as_stix(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path, name: str
) -> None:
    source = tmp_path / name
    source.write_bytes(_sorted_keys_bundle(300))
    assert source.read_bytes().index(b'"type":"bundle"') > 64 * 1024  # beyond any sniffing
    result = iocfeed("import", str(source))
    assert result.exit_code == 0, result.output
    assert len(stored(database_url)) == 300


def test_a_file_rejected_whole_exits_1_with_the_reason_on_stderr(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "good.txt"
    good.write_text("evil[.]example\n")
    result = iocfeed("import", str(SAMPLES / "unit42" / "dearjoohn_iocs.csv"), str(good))
    assert result.exit_code == 1
    assert "dearjoohn_iocs.csv: rejected whole at line 1" in " ".join(result.stderr.split())
    assert set(stored(database_url)) == {"evil.example"}  # the other file is still imported
    as_text = iocfeed("import", "--format", "text", str(SAMPLES / "unit42/dearjoohn_iocs.csv"))
    assert as_text.exit_code == 0, as_text.output


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("broken.json", '[{"value": "a.example"},', 1),  # not JSON: rejected whole
        ("all-bad.csv", "value\nnot an ioc\n999.1.1.1\n", 1),  # nothing storable
        ("some-bad.csv", "value\nnot an ioc\n198.51.100.7\n", 0),  # bad lines reported
        ("empty.csv", "value\n", 0),  # nothing to import is not a failure
        ("prose.txt", "Nothing to see here.\n", 0),
    ],
)
def test_exit_codes(iocfeed: Iocfeed, tmp_path: Path, name: str, content: str, code: int) -> None:
    source = tmp_path / name
    source.write_text(content)
    result = iocfeed("import", str(source))
    assert result.exit_code == code, result.output
    assert ("error:" in result.stderr) == bool(code)


def test_the_apt33_families_and_ignored_columns_reach_the_user(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path
) -> None:
    result = iocfeed("import", str(SAMPLES / "unit42" / "APT33.csv"))
    assert result.exit_code == 0, result.output
    assert len(stored(database_url)) == 93
    assert "ignored" not in result.stdout
    engine = open_engine(database_url)
    with engine.connect() as connection:
        description = connection.execute(
            select(indicator_versions.c.description).where(
                indicator_versions.c.value == "fb21f3cea1aa051ba2a45e75d46b98b8",
                indicator_versions.c.superseded_at.is_(None),
            )
        ).scalar_one()
    engine.dispose()
    assert description == "DROPSHOT"
    source = tmp_path / "extra.csv"
    source.write_text("value,malware,Author,Created\na.example,Emotet,x,y\nb.example,,x,y\n")
    report = iocfeed("import", str(source))
    assert report.stdout.count("columns ignored (no field for them): 'Author', 'Created'") == 1


DEPTHS = (254, 255, 300, 1000, 1024, 1025)


def test_deeply_nested_lines_are_reported_and_the_good_ones_stored(
    iocfeed: Iocfeed, database_url: str, tmp_path: Path
) -> None:
    lines = ['{"type": "domain", "value": "first.example"}']
    for depth in DEPTHS:
        lines.append("[" * depth + "]" * depth)
        lines.append('{"value": "x.example", "description": ' + "[" * depth + "]" * depth + "}")
    lines.append('{"type": "domain", "value": "last.example"}')
    source = tmp_path / "deep.jsonl"
    source.write_text("\n".join(lines) + "\n")
    errors = tmp_path / "errors.jsonl"
    result = iocfeed("import", str(source), "--errors", str(errors))
    assert result.exit_code == 0, result.output
    assert stored(database_url) == {"first.example": "domain", "last.example": "domain"}
    report = {r["line"]: r["reason"] for r in map(orjson.loads, errors.read_text().splitlines())}
    assert sorted(report) == list(range(2, 2 + 2 * len(DEPTHS)))
    # Line 2 is an array 254 deep: it can be echoed, so it is rejected for what it is.
    assert report[2] == "expected a JSON object, got an array"
    for line in range(3, 11):
        assert report[line] == "nested more than 254 levels deep", (line, report[line])
    # orjson reads at most 1024 levels: deeper lines are not JSON it can read.
    for line in (11, 12, 13):
        assert "not valid JSON: depth limit exceeded" in report[line]
