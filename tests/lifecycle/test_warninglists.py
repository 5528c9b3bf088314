"""Matching values against the real MISP warninglists shipped in ``pymispwarninglists``."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from iocfeed.indicators.model import IocType
from iocfeed.lifecycle.misp_warninglists import misp_catalogue, misp_entries
from iocfeed.lifecycle.warninglist_defaults import (
    BUILTIN_OPERATOR_LISTS,
    DEFAULT_POLICIES,
    default_policy,
)
from iocfeed.lifecycle.warninglists import (
    Entries,
    Matcher,
    Origin,
    Policy,
    WarningList,
    _url_host,
    classify_entry,
    entries_from,
    network_span,
)

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def default_lists(*extra: WarningList) -> list[WarningList]:
    """The lists as a fresh store has them: MISP defaults plus the built-in operator lists."""
    lists = [
        WarningList(name, default_policy(name), Origin.MISP, entries=misp_entries(name))
        for name in misp_catalogue()
        if default_policy(name) is not Policy.OFF
    ]
    return [*lists, *BUILTIN_OPERATOR_LISTS, *extra]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(default_lists())


@pytest.mark.parametrize(
    ("ioc_type", "value", "blocked_by"),
    [
        (IocType.IPV4, "8.8.8.8", "public-dns-v4"),
        (IocType.IPV4, "1.1.1.1", "public-dns-v4"),
        (IocType.IPV6, "2001:4860:4860::8888", "public-dns-v6"),
        (IocType.IPV4, "10.1.2.3", "rfc1918"),
        (IocType.IPV4, "10.0.0.0/8", "rfc1918"),
        (IocType.IPV6, "fe80::1", "ipv6-linklocal"),
        (IocType.DOMAIN, "dns.google", "public-dns-hostname"),
        (IocType.DOMAIN, "a.b.dns.google", "public-dns-hostname"),  # under a listed domain
        (IocType.MD5, EMPTY_MD5, "empty-hashes"),
        (IocType.SHA1, EMPTY_SHA1, "empty-hashes"),
        (IocType.SHA256, EMPTY_SHA256, "empty-hashes"),
        (IocType.URL, "http://8.8.8.8/dns-query", "public-dns-v4"),  # by its host
        (IocType.DOMAIN, "com", "second-level-tlds"),
    ],
)
def test_blocked_by_default(
    matcher: Matcher, ioc_type: IocType, value: str, blocked_by: str
) -> None:
    assert matcher.check(ioc_type, value).blocked_by == blocked_by


@pytest.mark.parametrize(
    ("ioc_type", "value", "flagged_by"),
    [
        (IocType.DOMAIN, "google.com", "google"),
        (IocType.DOMAIN, "google.com", "tranco10k"),
        (IocType.DOMAIN, "login.wikipedia.org", "tranco10k"),  # under a listed domain
        (IocType.IPV4, "13.32.0.1", "amazon-aws"),
    ],
)
def test_flagged_by_default(
    matcher: Matcher, ioc_type: IocType, value: str, flagged_by: str
) -> None:
    verdict = matcher.check(ioc_type, value)
    assert verdict.blocked_by is None
    assert flagged_by in verdict.flagged_by


@pytest.mark.parametrize(
    ("inside", "next_one", "name"),
    [
        ("10.255.255.255", "11.0.0.0", "rfc1918"),
        ("10.0.0.0", "9.255.255.255", "rfc1918"),
        ("172.31.255.255", "172.32.0.0", "rfc1918"),
        ("fe80::1", "fec0::1", "ipv6-linklocal"),
    ],
)
def test_a_cidr_list_matches_inside_and_not_next_door(
    matcher: Matcher, inside: str, next_one: str, name: str
) -> None:
    ioc_type = IocType.IPV6 if ":" in inside else IocType.IPV4
    assert name in matcher.check(ioc_type, inside).matched
    assert name not in matcher.check(ioc_type, next_one).matched


def test_urls_match_block_and_allow_lists_by_host_but_not_flag_lists(matcher: Matcher) -> None:
    assert matcher.check(IocType.URL, "http://10.1.2.3/admin").blocked_by == "rfc1918"
    assert matcher.check(IocType.URL, "http://192.0.2.7/x").allowed_by == ("documentation",)
    for url in ("https://www.google.com/search?q=x", "http://13.32.0.1/payload.bin"):
        assert not matcher.check(IocType.URL, url).matched, url


def test_unlisted_values_match_nothing(matcher: Matcher) -> None:
    for ioc_type, value in [
        (IocType.IPV4, "11.0.0.1"),
        (IocType.DOMAIN, "evil-payload-host.xyz"),
        (IocType.SHA256, "1" * 64),
        (IocType.URL, "http://evil-payload-host.xyz/a.exe"),
    ]:
        assert not matcher.check(ioc_type, value).matched, value


def test_documentation_ranges_are_allowed_back(matcher: Matcher) -> None:
    verdict = matcher.check(IocType.IPV4, "192.0.2.1")
    assert "rfc5735" in verdict.matched
    assert verdict.allowed_by == ("documentation",)
    assert verdict.blocked_by is None


def test_an_operator_allow_list_overrides_a_default_block() -> None:
    mine = WarningList(
        "our-resolvers", Policy.ALLOW, Origin.OPERATOR, entries=entries_from(["8.8.8.8"])
    )
    verdict = Matcher(default_lists(mine)).check(IocType.IPV4, "8.8.8.8")
    assert verdict.blocked_by is None
    assert verdict.allowed_by == ("our-resolvers",)
    assert verdict.matched == ("public-dns-v4", "our-resolvers")


def test_an_operator_block_list_of_cidrs_domains_and_values() -> None:
    mine = WarningList(
        "ours",
        Policy.BLOCK,
        Origin.OPERATOR,
        entries=entries_from(["203.0.113.0/25", "*.corp.example", "ABCDEF" * 5 + "AB", "x@y.z"]),
    )
    matcher = Matcher([mine])
    assert matcher.check(IocType.IPV4, "203.0.113.127").blocked_by == "ours"
    assert matcher.check(IocType.IPV4, "203.0.113.128").blocked_by is None
    assert matcher.check(IocType.DOMAIN, "vpn.corp.example").blocked_by == "ours"
    assert matcher.check(IocType.DOMAIN, "corp.example").blocked_by == "ours"
    assert matcher.check(IocType.DOMAIN, "notcorp.example").blocked_by is None
    assert matcher.check(IocType.MD5, "abcdef" * 5 + "ab").blocked_by == "ours"
    assert matcher.check(IocType.EMAIL, "x@y.z").blocked_by == "ours"


def test_off_lists_are_not_matched() -> None:
    off = WarningList("gone", Policy.OFF, Origin.OPERATOR, entries=entries_from(["1.2.3.4"]))
    assert not Matcher([off]).check(IocType.IPV4, "1.2.3.4").matched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.0/8", ("network", "10.0.0.0/8")),
        ("10.1.2.3/8", ("network", "10.0.0.0/8")),
        ("2001:DB8::/32", ("network", "2001:db8::/32")),
        ("198.51.100.7", ("network", "198.51.100.7/32")),
        (".Example.COM.", ("domain", "example.com")),
        ("*.bücher.example", ("domain", "xn--bcher-kva.example")),
        ("example", ("domain", "example")),
        ("D41D8CD98F00B204E9800998ECF8427E", ("value", EMPTY_MD5)),
        ("http://evil.example/a", ("value", "http://evil.example/a")),
        ("  ", None),
    ],
)
def test_classify_entry(text: str, expected: tuple[str, str] | None) -> None:
    assert classify_entry(text) == expected


def test_network_span() -> None:
    assert network_span("10.0.0.0/8") == (4, 0x0A000000, 0x0AFFFFFF)
    assert network_span("10.1.2.3") == (4, 0x0A010203, 0x0A010203)
    assert network_span("::/0") == (6, 0, 2**128 - 1)
    for bad in ("10.0.0.0/33", "8789", "10.0.0.0/x", "not an address"):
        with pytest.raises(ValueError, match=r"."):
            network_span(bad)


def test_every_default_names_a_shipped_list() -> None:
    catalogue = misp_catalogue()
    assert set(DEFAULT_POLICIES) <= set(catalogue)
    assert catalogue["public-dns-v4"].size > 10_000
    assert catalogue["tranco"].size == 1_000_000  # counted without reading a million names


def test_entries_count() -> None:
    assert len(Entries(frozenset({"a"}), frozenset({"b.c"}), ("1.2.3.4",))) == 3


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://10.1.2.3/admin", "10.1.2.3"),
        ("https://user:pw@evil.example:8443/a?b#c", "evil.example"),
        ("http://[2001:db8::1]:8080/x", "2001:db8::1"),
        ("http://evil.example?x=/y", "evil.example"),
        ("file://101.99.94.234@8789/DavWWWRoot/file.bat", "8789"),
        ("http://evil.example", "evil.example"),
    ],
)
def test_url_host(url: str, host: str) -> None:
    assert _url_host(url) == host == (urlsplit(url).hostname or "")
