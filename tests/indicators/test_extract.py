"""Free-text extraction: prose, table rows and a real vendor report."""

from __future__ import annotations

from collections import Counter

import pytest

from iocfeed.indicators.extract import MAX_EXPANSIONS, LineContext, extract, extract_iocs
from iocfeed.indicators.model import IocType
from tests.conftest import SAMPLES

ESET_REPORT = SAMPLES / "eset" / "gamaredon.adoc"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "|`+N/A+` |`+nododru[.]ru+` |N/A |2023-12-20",
            [(IocType.DOMAIN, "nododru.ru")],
        ),
        (
            "|`+5.252.178[.]140+` |`+N/A+` |MivoCloud SRL |2023-08-16",
            [(IocType.IPV4, "5.252.178.140")],
        ),
        (
            "|`+DF1C0A70E7A02B839AB3AAC3FC410E61EEFB58EB+` |VBS/Pterodo.AEV |PteroX - downloader.",
            [(IocType.SHA1, "df1c0a70e7a02b839ab3aac3fc410e61eefb58eb")],
        ),
        (
            "| Spearphishing Attachment | T1566.001 | Phishing (T1566) via hxxps://evil[.]com/a.doc",
            [
                (IocType.MITRE_ATTACK, "T1566.001"),
                (IocType.MITRE_ATTACK, "T1566"),
                (IocType.URL, "https://evil.com/a.doc"),
            ],
        ),
        (
            "C2 evil [.] com (also seen as evil[.]com), then 1.2.3[.]4 and bob[at]evil[.]ru.",
            [
                (IocType.DOMAIN, "evil.com"),
                (IocType.IPV4, "1.2.3.4"),
                (IocType.EMAIL, "bob@evil.ru"),
            ],
        ),
        (
            "Exploits CVE-2021-44228; see https://example.org/wiki/Foo_(bar).",
            [(IocType.CVE, "CVE-2021-44228"), (IocType.URL, "https://example.org/wiki/Foo_(bar)")],
        ),
        (
            "Dropped e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 to %TEMP%.",
            [
                (
                    IocType.SHA256,
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                )
            ],
        ),
        (
            "Beacons to [2001:db8::1] and fe80::1.",
            [(IocType.IPV6, "2001:db8::1"), (IocType.IPV6, "fe80::1")],
        ),
        (
            "Payloads at cdn.evil.zip and evil[.]mov",
            [(IocType.DOMAIN, "cdn.evil.zip"), (IocType.DOMAIN, "evil.mov")],
        ),
        (
            "Visit Google.com or EVIL.COM today.",
            [(IocType.DOMAIN, "google.com"), (IocType.DOMAIN, "evil.com")],
        ),
        ("Gate at evil[.]com/gate.php?id=1", [(IocType.URL, "http://evil.com/gate.php?id=1")]),
    ],
)
def test_lines(line: str, expected: list[tuple[IocType, str]]) -> None:
    assert extract_iocs(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Version 1.2.3 of the tool, build 10.0.19041.1.",
        "It opens document.docx, runs script.ps1 and writes invoice.pdf and archive.tar.gz.",
        "See setup.py, README.md and the .zip file.",
        "The end.Next sentence. E.g. this, i.e. that, U.S. and Inc. and etc.",
        "Calls System.IO.File and WScript.Shell; detected as Win32/Pterodo.CEZ.",
        "Detected as PowerShell/Pterodo.FR and DOC/TrojanDownloader.Pterodo.A",
        "std::string a::b 10:30:00 ::",
        "In 2023-12-20 (2022/2023) at 14:00 the value was 5.5 and 3.14159.",
        "We met (at) noon.",
        "hxxp is a word; the dot com era.",
        "T9999 is not a technique, and neither is TA0001.",
        "",
    ],
)
def test_no_false_positives(line: str) -> None:
    assert extract_iocs(line) == []


@pytest.mark.parametrize(
    ("line", "expected", "set_aside"),
    [
        (  # a command line: its arguments are files and registry paths
            r"C:\Windows\system32\reg.exe save HKLM\SAM sam.save",
            [],
            [(IocType.DOMAIN, "sam.save")],
        ),
        (
            "- `cmd.exe /c copy payload.cr evil[.]cr` then http://198.51.100.7/x.cr",
            [(IocType.DOMAIN, "evil.cr"), (IocType.URL, "http://198.51.100.7/x.cr")],
            [(IocType.DOMAIN, "payload.cr")],
        ),
        (  # the same names in prose are domains
            "The host sam.save served payload.cr",
            [(IocType.DOMAIN, "sam.save"), (IocType.DOMAIN, "payload.cr")],
            [],
        ),
        (
            "The whitepaper is available on our blog at https://vendor.example/paper.pdf.",
            [],
            [(IocType.URL, "https://vendor.example/paper.pdf")],
        ),
        (
            "Source: https://vendor.example/report and C2 hxxps://evil[.]example/gate",
            [(IocType.URL, "https://evil.example/gate")],
            [(IocType.URL, "https://vendor.example/report")],
        ),
        (  # no publication is named: a place the payload is available at is an indicator
            "The payload is available at http://198.51.100.7/p.exe for now.",
            [(IocType.URL, "http://198.51.100.7/p.exe")],
            [],
        ),
        (  # a URL before the cue is not pointed to by it
            "https://evil.example/a.php is described in our report at length",
            [(IocType.URL, "https://evil.example/a.php")],
            [],
        ),
        (
            r"- `\http://18.219.25.133/br/mp1a{1,sq,sl,ss}.aj5`",
            [
                (IocType.URL, "http://18.219.25.133/br/mp1a1.aj5"),
                (IocType.URL, "http://18.219.25.133/br/mp1asq.aj5"),
                (IocType.URL, "http://18.219.25.133/br/mp1asl.aj5"),
                (IocType.URL, "http://18.219.25.133/br/mp1ass.aj5"),
            ],
            [],
        ),
        (r"C:\Users\Public\{winx86,libeay32,ssleay32}.dll", [], []),
        ('{"value":"evil.example","type":"domain"}', [(IocType.DOMAIN, "evil.example")], []),
    ],
)
def test_context_within_a_line(
    line: str, expected: list[tuple[IocType, str]], set_aside: list[tuple[IocType, str]]
) -> None:
    extraction = extract(line)
    assert extraction.found == expected
    assert extraction.set_aside == set_aside
    assert extraction.refused == []


def test_context_from_the_lines_before() -> None:
    row = "|`6999730D0715606D14ACD19329AF0685B8AD0299` | `et2z7q0FREZ.cr` | evil.cr |"
    in_table = extract(row, LineContext(file_name_cells=frozenset({2})))
    assert in_table.found == [
        (IocType.SHA1, "6999730d0715606d14acd19329af0685b8ad0299"),
        (IocType.DOMAIN, "evil.cr"),
    ]
    assert in_table.set_aside == [(IocType.DOMAIN, "et2z7q0frez.cr")]
    assert extract("stulswa1.cr", LineContext(file_names=True)).found == []
    assert extract("https://vendor.example/x", LineContext(references=True)).found == []
    defanged = extract("hxxps://evil[.]example/x", LineContext(references=True))
    assert defanged.found == [(IocType.URL, "https://evil.example/x")]


def test_brace_templates_beyond_the_bound_are_refused_whole() -> None:
    template = "http://198.51.100.7/{a,b,c,d}{1,2,3}{x,y,z}.bin"
    extraction = extract(f"GET {template} twice")
    assert extraction.found == []
    assert extraction.refused == [
        (template, f"a template for more than {MAX_EXPANSIONS} values: list them one by one")
    ]


def test_each_indicator_once_in_order_of_appearance() -> None:
    line = "evil.com 1.2.3.4 EVIL.com evil[.]com 1.2.3[.]4 other.org evil.com"
    assert extract_iocs(line) == [
        (IocType.DOMAIN, "evil.com"),
        (IocType.IPV4, "1.2.3.4"),
        (IocType.DOMAIN, "other.org"),
    ]


@pytest.fixture(scope="module")
def eset_iocs() -> list[tuple[IocType, str]]:
    found: list[tuple[IocType, str]] = []
    for line in ESET_REPORT.read_text("utf-8").splitlines():
        found.extend(extract_iocs(line))
    return found


def test_eset_report_defanged_network_indicators(eset_iocs: list[tuple[IocType, str]]) -> None:
    found = set(eset_iocs)
    for domain in (
        "nododru.ru",
        "amasiyagi.ru",
        "t.me",
        "telegra.ph",
        "www.toorisugita.ru",
        "filetransfer.io",
        "login.kifales.ru",
        "absorbeni.ru",
    ):
        assert (IocType.DOMAIN, domain) in found
    for address in (
        "5.252.178.140",
        "194.180.191.30",
        "141.98.233.17",
        "159.203.14.8",
        "91.200.148.232",
    ):
        assert (IocType.IPV4, address) in found


def test_eset_report_plain_domains_and_hashes(eset_iocs: list[tuple[IocType, str]]) -> None:
    found = set(eset_iocs)
    for domain in (
        "abdurs.space",
        "actor-tv.ddns.net",
        "federeal.3utilities.com",
        "httpsnc.hopto.org",
        "saijar.gotdns.ch",
        "wostrigo.website",
    ):
        assert (IocType.DOMAIN, domain) in found
    for sha1 in (
        "df1c0a70e7a02b839ab3aac3fc410e61eefb58eb",
        "f2d8f72f8faa81af02d31c5a93dfea71e33de0d9",
        "6f75f2490186225c922fe605953038bdeb537fee",
        "5fc1b6a55a9f5a52422872a8e34a284cdbdd0526",
    ):
        assert (IocType.SHA1, sha1) in found


def test_eset_report_counts_and_no_junk(eset_iocs: list[tuple[IocType, str]]) -> None:
    values = {value for _, value in eset_iocs}
    counts = Counter(ioc_type for ioc_type, _ in set(eset_iocs))
    assert counts == {
        IocType.DOMAIN: 676,
        IocType.SHA1: 73,
        IocType.IPV4: 28,
    }
    # The three article links the prose points to ("available here https://…") are
    # where the report is published, not indicators.
    assert not any("welivesecurity.com" in value or "esetstatic" in value for value in values)
    # Detection names, hosting providers, dates and section titles are not indicators.
    for junk in ("pterodo.cez", "pterodo.fr", "pterodo.ga", "ltd", "2023-12-20", "n/a"):
        assert junk not in values
    assert not any(value.endswith((".a", ".pdf", ".")) for value in values if "://" not in value)
