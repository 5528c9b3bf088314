"""Free-text import: ESET's Gamaredon report, failed-IOC lines, streaming."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from iocfeed.formats.text import attempted_ioc, read_text
from iocfeed.indicators.model import RawIndicator, Rejected
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def gamaredon() -> list[RawIndicator | Rejected]:
    with (SAMPLES / "eset" / "gamaredon.adoc").open(encoding="utf-8") as stream:
        return list(read_text(stream))


def test_the_gamaredon_report_gives_its_hashes_addresses_and_domains(
    gamaredon: list[RawIndicator | Rejected],
) -> None:
    raw = [record for record in gamaredon if isinstance(record, RawIndicator)]
    assert len(raw) == len(gamaredon)  # nothing in it looks like a failed IOC
    counts = Counter(record.type for record in raw)
    # 65 + 8 SHA-1s in two tables, 28 addresses and 28 domains in the network table,
    # 648 domains in the list; the report's three links to ESET's own write-ups are
    # references ("available on WeLiveSecurity at https://…"), not indicators.
    assert counts == {"sha1": 73, "ipv4": 28, "domain": 676}
    found = {(record.line, record.type, record.value) for record in raw}
    assert (30, "sha1", "df1c0a70e7a02b839ab3aac3fc410e61eefb58eb") in found
    assert (102, "domain", "nododru.ru") in found  # defanged as nododru[.]ru
    assert (103, "ipv4", "5.252.178.140") in found  # defanged as 5.252.178[.]140
    assert (134, "domain", "login.kifales.ru") in found
    assert (169, "sha1", "6f75f2490186225c922fe605953038bdeb537fee") in found
    assert (831, "domain", "zingiber.space") in found


def test_detection_names_and_markup_are_not_read_as_indicators(
    gamaredon: list[RawIndicator | Rejected],
) -> None:
    lines = {record.line for record in gamaredon}
    assert not lines & set(range(1, 19))  # title, attributes, the detection-name list


def test_lines_that_look_like_failed_iocs_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "iocs.md"
    path.write_text(
        "# Campaign notes\n"  # 1: heading, skipped
        "- evil[.]example\n"  # 2: found
        "- 999.1.1.1\n"  # 3: an impossible address
        "`d41d8cd98f00b204e9800998ecf8427`\n"  # 4: an MD5 one digit short
        "The loader is setup.py, nothing else.\n"  # 5: prose, skipped
        "setup.py\n"  # 6: a file name, skipped
        "hxxp://[bad\n"  # 7: defanged, unreadable
        "C2 at 198.51.100.7 and 198.51.100.8\n",  # 8: two finds on one line
        encoding="utf-8",
    )
    with path.open(encoding="utf-8") as stream:
        records = list(read_text(stream))
    assert records == [
        RawIndicator(line=2, value="evil.example", type="domain"),
        Rejected(3, "could not recognise '999.1.1.1' as an indicator", "- 999.1.1.1"),
        Rejected(
            4,
            "could not recognise 'd41d8cd98f00b204e9800998ecf8427' as an indicator",
            "`d41d8cd98f00b204e9800998ecf8427`",
        ),
        Rejected(7, "could not recognise 'hxxp://[bad' as an indicator", "hxxp://[bad"),
        RawIndicator(line=8, value="198.51.100.7", type="ipv4"),
        RawIndicator(line=8, value="198.51.100.8", type="ipv4"),
    ]


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("999.1.1.1", "999.1.1.1"),
        ("  * `+abcdef0123456789abcd+`  ", "abcdef0123456789abcd"),
        ("| evil[.]", "evil[.]"),
        ("1. a@b[.]c", "a@b[.]c"),
        ("2001:db8::1::2", "2001:db8::1::2"),
        ("ftp://[bad", "ftp://[bad"),
        ("Win32/Pterodo", None),
        ("- DOC/TrojanDownloader.Pterodo", None),
        ("Pterodo.FR", None),
        ("invoice.pdf", None),
        ("2.0", None),
        ("12:30:45", None),
        (":toc:", None),
        ('[options="header"]', None),
        ("|===", None),
        ("```", None),
        ("two words.example here", None),
        ("", None),
    ],
)
def test_what_counts_as_an_attempted_ioc(line: str, token: str | None) -> None:
    assert attempted_ioc(line) == token


def test_a_stream_is_read_line_by_line() -> None:
    stream = io.StringIO("".join(f"198.18.{n // 256}.{n % 256}\n" for n in range(200_000)))
    records = read_text(stream)
    assert next(records) == RawIndicator(line=1, value="198.18.0.0", type="ipv4")
    assert stream.tell() < 100


# What a careful reader publishes from each public report (type → count), after brace
# templates are expanded; and values of an indicator's shape that are not indicators.
REPORTS: dict[str, tuple[dict[str, int], set[str]]] = {
    "unit42/2020-07-27-TA551-IOCs-for-IcedID.txt": (
        {"sha256": 16, "domain": 7, "ipv4": 7},
        {"tdny1.cab", "drop.tmp"},
    ),
    "unit42/Darkside_IOCs.txt": (
        {"sha256": 62, "domain": 4, "url": 1},
        {"sam.save", "typed_history.zip", "appdata.zip", "processexplorer.zip"},
    ),
    "eset/mispadu.adoc": (
        {"sha1": 15, "url": 15},  # 3 coupon URLs and 3 server templates of 4 each
        {
            "http://18.219.25.133/br/mp1a{1",
            "https://www.welivesecurity.com/2019/11/19/mispadu-advertisement-discounted-unhappy-meal/",
        },
    ),
    "eset/agrius.adoc": (
        {"sha1": 7},
        {
            "secretsdump.py",
            "https://www.welivesecurity.com/2022/12/07/fantasy-new-agrius-wiper-supply-chain-attack/",
        },
    ),
    "eset/moustachedbouncer.adoc": (
        {"sha1": 29, "ipv4": 10, "domain": 6, "email": 4, "cve": 1},
        {
            "et2z7q0frez.cr",
            "stulswa1.cr",
            "https://www.welivesecurity.com/en/eset-research/"
            "moustachedbouncer-espionage-against-foreign-diplomats-in-belarus/",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_public_reports_give_what_a_careful_reader_finds(name: str) -> None:
    expected, not_indicators = REPORTS[name]
    with (SAMPLES / name).open(encoding="utf-8") as stream:
        records = list(read_text(stream))
    raw = [record for record in records if isinstance(record, RawIndicator)]
    assert raw == [record for record in records if not isinstance(record, Rejected)]
    assert not [record for record in records if isinstance(record, Rejected)]
    assert Counter(record.type for record in raw) == expected
    values = {record.value.lower() for record in raw}
    assert not values & {value.lower() for value in not_indicators}


def test_brace_templates_expand_into_every_alternative() -> None:
    with (SAMPLES / "eset" / "mispadu.adoc").open(encoding="utf-8") as stream:
        urls = [r.value for r in read_text(stream) if isinstance(r, RawIndicator) and r.line == 58]
    assert urls == [
        "http://18.219.25.133/br/mp1a1.aj5",
        "http://18.219.25.133/br/mp1asq.aj5",
        "http://18.219.25.133/br/mp1asl.aj5",
        "http://18.219.25.133/br/mp1ass.aj5",
    ]


def test_a_template_with_too_many_alternatives_is_rejected_not_cut() -> None:
    line = "- `hxxp://198.51.100.7/{a,b,c,d}{1,2,3}{x,y,z}.bin`\n"
    (rejected,) = read_text([line])
    assert isinstance(rejected, Rejected)
    assert rejected.line == 1
    assert "a template for more than 32 values" in rejected.reason


def test_context_from_earlier_lines() -> None:
    lines = [
        "The report on this campaign, with its\n",  # 1: a sentence over two lines
        "timeline, is published on our blog at\n",  # 2: introduces the link below
        "https://vendor.example/blog/report/\n",  # 3: a reference
        "Payload: https://cdn.evil.example/a.exe\n",  # 4: an indicator
        "|===\n",  # 5
        "| SHA-1 | File name | C2\n",  # 6: the header names a file-name column
        "| `" + "a" * 40 + "` | `loader.cr` | evil.cr\n",  # 7: loader.cr is a file
        "|===\n",  # 8: the table ends
        "loader.cr and sam.save\n",  # 9: outside the table, prose names count
        "== File names\n",  # 10
        "dropper.cr\n",  # 11: a section of file names
        "== References\n",  # 12
        "* https://other.example/analysis\n",  # 13: a reference
        "* hxxps://defanged.example/x\n",  # 14: defanged: always an indicator
        "== Network\n",  # 15
        "* https://c2.example/gate\n",  # 16
    ]
    found = [(r.line, r.value) for r in read_text(lines) if isinstance(r, RawIndicator)]
    assert found == [
        (4, "https://cdn.evil.example/a.exe"),
        (7, "a" * 40),
        (7, "evil.cr"),
        (9, "loader.cr"),
        (9, "sam.save"),
        (14, "https://defanged.example/x"),
        (16, "https://c2.example/gate"),
    ]
