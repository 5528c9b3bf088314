"""The single-comparison STIX pattern reader, judged against stix2-patterns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from iocfeed.formats.stixpattern import parse_pattern
from iocfeed.indicators.model import IocType

SHA256 = "3cb36ce8561f55afe94f6d715ce84bf29e88e80e09390a2879d0183bee852a50"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv4-addr:value = '198.51.100.7']", (IocType.IPV4, "198.51.100.7")),
        ("[ipv4-addr:value = '198.51.100.0/24']", (IocType.IPV4, "198.51.100.0/24")),
        ("[ipv6-addr:value = '2001:db8::7']", (IocType.IPV6, "2001:db8::7")),
        ("[domain-name:value = 'evil.example']", (IocType.DOMAIN, "evil.example")),
        ("[url:value = 'http://evil.example/x?a=1']", (IocType.URL, "http://evil.example/x?a=1")),
        ("[email-addr:value = 'a@evil.example']", (IocType.EMAIL, "a@evil.example")),
        (
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            (IocType.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
        ),
        (
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
            (IocType.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ),
        (f"[file:hashes.'SHA-256' = '{SHA256}']", (IocType.SHA256, SHA256)),
        (f"[file:hashes.SHA256 = '{SHA256}']", (IocType.SHA256, SHA256)),
        (f"[file:hashes.'sha256' = '{SHA256}']", (IocType.SHA256, SHA256)),
        ("[file:hashes.'SHA-512' = 'ab']", (IocType.SHA512, "ab")),
        ("  [ domain-name:value='tight.example' ]  ", (IocType.DOMAIN, "tight.example")),
        (r"[url:value = 'http://x.example/it\'s']", (IocType.URL, "http://x.example/it's")),
        (r"[url:value = 'http://x.example/a\\b']", (IocType.URL, "http://x.example/a\\b")),
    ],
)
def test_single_comparisons_are_read(pattern: str, expected: tuple[IocType, str]) -> None:
    assert parse_pattern(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '198.51.100.8']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e'] AND [file:name = 'a.exe']",
        "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Run']",
        "[process:name = 'evil.exe']",
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_port = 443]",
        "[domain-name:value LIKE '%.evil.example']",
        "[domain-name:value != 'good.example']",
        "[url:value = 'http://x.example/'] WITHIN 300 SECONDS",
        "[file:hashes.'SHA-384' = 'ab']",
        "[file:name = 'invoice.pdf.exe']",
        "[mac-addr:value = 'de:ad:be:ef:00:01']",
        "[url:value = h'68747470']",
    ],
)
def test_everything_else_is_refused(pattern: str) -> None:
    assert parse_pattern(pattern) is None


def test_refused_patterns_are_real_stix_so_refusal_is_about_support_not_syntax() -> None:
    # Guards the test above: each refusal there (bar the two malformed ones) is valid STIX.
    for pattern in (
        "[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '198.51.100.8']",
        "[process:name = 'evil.exe']",
        "[domain-name:value LIKE '%.evil.example']",
        "[url:value = 'http://x.example/'] WITHIN 300 SECONDS",
    ):
        assert run_validator(pattern) == []


def test_backslashes_other_than_the_two_escapes_are_refused() -> None:
    assert parse_pattern(r"[url:value = 'http://x.example/\n']") is None


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_literal_round_trips_through_stix_escaping(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    pattern = f"[url:value = '{escaped}']"
    assert parse_pattern(pattern) == (IocType.URL, value)


@given(st.text("ab'\\ ./:", min_size=1, max_size=20))
def test_patterns_that_stix2_patterns_accepts_are_read_back_exactly(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    pattern = f"[domain-name:value = '{escaped}']"
    assert run_validator(pattern) == []
    assert parse_pattern(pattern) == (IocType.DOMAIN, value)
